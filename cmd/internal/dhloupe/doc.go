// Package dhloupe is the dh_loupe and dh_loupe_verdict commands: it turns
// their debhelper-style command line and environment into calls on
// debhelper (Debian knowledge), tracer (one traced run) and the analysis
// engine, and does nothing else.
//
// dh_loupe runs in the build target, in dh_auto_test's place. Its stages:
//  1. parse the options (debhelper conventions, not urfave/cli);
//  2. resolve the settings (DEB_BUILD_OPTIONS, debian/loupe.yaml,
//     DH_EXTRA_ADDONS, nocheck);
//  3. build the test step: "dh loupe-test ..." re-entering dh with the outer
//     dh's addons (so dh runs the hook and override targets), or the
//     command after "--" for rules files without dh;
//  4. without an explicit request, or with nocheck: exec the step as is;
//  5. otherwise run it under the tracer, record it in
//     debian/.debhelper/loupe/, and exit with the step's own status.
//
// dh_loupe_verdict runs in the binary target, after install:
//  1. parse the options and resolve the settings (nothing to do without an
//     explicit request);
//  2. list the packages (dh_listpackages) and index debian/<pkg>;
//  3. attribute the executables the step ran to the packages;
//  4. analyze mode: run the experiments on the recorded step, with only the
//     package's shipped binaries whitelisted;
//  5. write one verdict per package to .., register it with
//     dpkg-distaddfile, and print "loupe: <pkg> status=... mode=...
//     syscalls=N".
//
// loupe's own failures never change the build's outcome unless loupe=strict:
// they are reported on stderr and in the verdicts (status: error).
package dhloupe
