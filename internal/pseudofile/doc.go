// Package pseudofile knows which system calls name files, and turns the
// paths of pseudo-files (/proc, /sys, /dev) into the stable keys loupe
// records, stubs and fakes: "/proc/self/status", "/proc/[pid]/stat",
// "/dev/pts/[n]".
//
// # Contract
//
//   - Table.Paths says, per syscall number, which arguments are paths, which
//     dirfd each is relative to, when the call acts on the dirfd's file
//     instead (AT_EMPTY_PATH with an empty path, a NULL utimensat path), and
//     what the call does with the file (Op), which decides what a fake does.
//   - Table.Fds says which fd arguments of a call should be followed back to
//     the path they were opened from, so that a read on an fd opened from
//     /proc/self/status counts as a use of that file; and which calls copy
//     (dup) or drop (close) the tracer's fd-to-key mapping.
//   - Normalize turns an absolute path, as the calling thread named it, into
//     a key; IsPseudo says whether a key is a pseudo-file; CheckKey validates
//     a rule's key; Under says whether a path is a key or lies beneath it.
//
// Keys are lexical: Normalize does not resolve symlinks (the tracer may
// resolve a dirfd to its path first). doc/subfeatures.md states every
// normalisation rule and the exact stub and fake semantics, per syscall.
//
// The package is pure: no kernel state, no ptrace. The tables are by
// syscall name, resolved per architecture through internal/sysent; the three
// ABI constants it needs are checked against gcc by the tests.
package pseudofile
