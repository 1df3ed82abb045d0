// Package loupedb imports the public results database of the upstream Loupe
// prototype (unikraft/loupedb, CC BY 4.0) into loupe's dataset.
//
// Layout: <root>/apps/<app>/<workload>/<run>/data/dyn.csv, where <workload>
// is benchmark-<name>, suite or suite-<name> and <run> an md5 or "imported".
// A dyn.csv has the header "# syscall, used, works faked, works stubbed,
// works both" (missing in envoy's imported run) and one positional row per
// x86_64 syscall number. Two dialects share that header:
//
//   - exclusive (335 rows, 0..334): "works faked" means fake only, "works
//     stubbed" stub only, "works both" both;
//   - inclusive (336 rows, 0..335): "works faked" and "works stubbed" each
//     include "works both".
//
// The column names are the truth: "works faked" is the fake (return 0)
// experiment and "works stubbed" the stub (-ENOSYS) one. Upstream's own
// search and support-plan code swap them; this importer does not.
//
// Each (app, workload) becomes one dataset entry (origin loupedb, workload
// kind benchmark or suite). Several runs of one workload are folded with the
// conservative rule (used if any run used it; an intervention works only if
// it worked in every run that used the syscall), which is deterministic and
// does not depend on file times as upstream's "latest ctime" did. A workload
// in which every used syscall works both stubbed and faked tested nothing
// (upstream ran it without a test script): it is imported with status
// insensitive, so plans report it as "no data" instead of "supported".
package loupedb
