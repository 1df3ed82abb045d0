// Package debhelper is loupe's Debian knowledge for dh_loupe: it knows
// debhelper's option conventions, which binary packages a build makes, the
// loupe build options and debian/loupe.yaml, which of the executables a test
// suite ran are a package's own, and where verdicts go and how they are
// named. It knows nothing about ptrace (nothing under debhelper/ reaches
// package tracer) nor about the method (it imports nothing of pkganalyze);
// it shares the verdict schema and executable identities with them through
// internal/verdict and internal/exeid. The fleet's Debian knowledge (bulk
// rebuilds with sbuild or debusine, for loupe rebuild) is its subpackage
// rebuild; internal/layering's test checks these rules.
//
// The pieces, in the order dh_loupe uses them:
//
//   - ParseOptions: debhelper's command-line conventions (Dh_Getopt):
//     bundled short options ("-plibfoo1"), "-O" options to use if known and
//     ignore if not, DH_INTERNAL_OPTIONS, DH_OPTIONS, DH_VERBOSE, DH_QUIET,
//     DH_NO_ACT. Package selection itself is left to dh_listpackages
//     (ListPackages), run with the same arguments and environment.
//   - ResolveSettings: loupe's mode from DEB_BUILD_OPTIONS
//     (loupe=off|trace|analyze[,strict][,replicas=N][,jobs=N][,timeout=D]
//     [,granularity=G][,helpers=compact|full]),
//     debian/loupe.yaml (LoadConfig) and DH_EXTRA_ADDONS; nocheck from
//     DEB_BUILD_OPTIONS or DEB_BUILD_PROFILES. Without an explicit request
//     nothing is traced and no artifact is produced.
//   - WriteRun/ReadRuns: the test step recorded in the build target under
//     debian/.debhelper/loupe/ (removed by dh_clean).
//   - IndexPackages/Attribute: after install, executables that ran from the
//     build tree are matched to files in debian/<pkg>/: the stand-ins
//     (test-only variants) and binaries.add of debian/loupe.yaml, then
//     build-id, sha256, libtool's .libs/ program behind its wrapper script,
//     basename; the rest are test helpers (Helpers: path and process count,
//     syscalls only on request). Explain says why a package's verdict is
//     not-exercised, and names helpers that look like test builds of
//     shipped binaries that did not run (Suspects).
//   - ArtifactName/WriteArtifact: one verdict per binary package,
//     <pkg>_<version without epoch>_<all|host arch>.loupe.yaml, written to
//     .. and registered with dpkg-distaddfile.
//
// debian/control, debian/changelog and versions are read with
// pault.ag/go/debian, never by hand.
package debhelper
