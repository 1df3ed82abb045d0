// Package rebuild is the Debian knowledge of fleet rebuilds, for loupe
// rebuild; dh_loupe never uses it. It drives a bulk rebuild of Debian
// source packages with sbuild (unshare mode, on this machine or on a
// debusine server) and dh_loupe enabled on every package without editing
// any: DH_EXTRA_ADDONS=loupe, passed through $build_environment in
// an SBUILD_CONFIG file (sbuild's environment filter drops it otherwise),
// with the dh-loupe .deb injected by --extra-package and --add-depends.
//
// Each package builds in its own directory under Options.Out; sbuild copies
// the files its .changes lists there, verdicts included, so the output
// directory is directly an input of `loupe db`. The verdicts a .changes
// lists are read as loupe db reads them (pkganalyze/fleet/dataset), the
// one package of pkganalyze it imports.
//
// Resumable: a journal (Out/rebuild-journal.jsonl, one JSON object per
// finished package, appended and synced) records each package's outcome.
// A later run skips every package the journal has (or only the successful
// ones with RetryFailed). A package that was building when a run was killed
// has no journal line: its directory is emptied and it is built again.
//
// Statuses, per package (Classify):
//   - loupe-error: a verdict or a dh_loupe summary line says status=error;
//   - tests-failed: the package's tests failed: the build failed in the test
//     step (dh_auto_test error, or dh_loupe reported baseline-failed), or it
//     succeeded but a verdict is baseline-failed (a flaky test suite);
//   - build-failed: no .changes, and nothing says the tests failed;
//   - insensitive: built, no verdict ok and some insensitive;
//   - built: everything else with a .changes.
//
// A failed build has no .changes (sbuild copies nothing out), so the
// per-binary statuses come from dh_loupe's summary lines in the build log:
// "loupe: <pkg> status=<status> mode=<mode> syscalls=<n>".
package rebuild
