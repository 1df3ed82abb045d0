// Package layering holds no code: its test checks loupe's import rules, the
// layering that CONTRIBUTING.md describes, on the source tree itself. A
// package's folder says who may use it:
//
//   - internal/...: any part of loupe; it imports nothing of loupe outside
//     internal/ (the verdict schema, the syscall and executable knowledge,
//     and the infrastructure: atomic writes, limits, progress...).
//   - tracer/...: the commands and pkganalyze/runner only. tracer alone
//     imports golang.org/x/sys/unix, and it imports nothing of loupe but
//     internal/, and not the verdict schema either: it knows processes and
//     syscalls, not Debian or verdicts.
//   - pkganalyze (the method) and pkganalyze/fleet/... are pure: they never
//     reach the tracer, debhelper or the commands, even indirectly;
//     fleet/... never imports the method. pkganalyze/runner is the one
//     bridge from the method to the tracer.
//   - debhelper/...: Debian knowledge; it never reaches tracer/, even
//     indirectly. Package debhelper (dh_loupe's) imports nothing under
//     pkganalyze/; debhelper/rebuild reads verdicts through
//     pkganalyze/fleet/dataset, as loupe db does.
//   - cmd/...: the commands; nothing imports them.
package layering
