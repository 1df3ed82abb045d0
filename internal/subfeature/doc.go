// Package subfeature decodes the sub-features of vectored and multi-purpose
// system calls: which ioctl request, fcntl command, prctl option, mmap kind,
// futex operation, socket family and type, socket option, rlimit resource,
// signal... a call uses. loupe records them, and stubs or fakes them one by
// one, so that a verdict can say "ioctl:TCGETS can be stubbed" rather than
// "ioctl is required".
//
// # Contract
//
// A sub-feature is named by a key "<syscall>:<value>", the form the verdict
// schema (loupe/verdict/v2, per-binary "features") and tracer.Rule.Feature
// use: "ioctl:TCGETS", "fcntl:F_SETFD", "mmap:anon+private",
// "mprotect:read+write", "futex:FUTEX_WAIT", "clone:thread",
// "socket:AF_INET+SOCK_STREAM", "setsockopt:SOL_SOCKET+SO_REUSEADDR",
// "prlimit64:RLIMIT_NOFILE", "rt_sigaction:SIGINT". Values the headers do not
// name keep a stable numeric form ("ioctl:0x5499", "prctl:77"): nothing is
// ever dropped. doc/subfeatures.md gives the grammar, the table of decoded
// arguments and the naming rules.
//
//   - Decoder.Decode turns a syscall stop (number, six argument registers,
//     and a memory reader for the one syscall whose sub-feature is in
//     memory, clone3) into a key. It is on the tracer's hot path: a slice
//     index for syscalls without sub-features, a map lookup otherwise, and
//     no allocation unless a value has no name.
//   - Decoder.ParseKey validates a rule's key and returns its canonical form.
//     A rule matches a call exactly when Decode returns that form. Flag
//     fields are masked before naming (futex ignores FUTEX_PRIVATE_FLAG and
//     FUTEX_CLOCK_REALTIME, socket ignores SOCK_NONBLOCK and SOCK_CLOEXEC,
//     mmap looks only at MAP_ANONYMOUS, the MAP_TYPE field and the MAP_FIXED
//     bits), so matching never compares whole flag words.
//   - Decoder.Syscalls lists the syscalls that have sub-features (for a
//     seccomp filter); Decoder.Has answers for one number.
//
// Which argument defines each syscall's sub-feature, and how it is decoded,
// is data in one place (table.go). The names are generated from the
// installed kernel (linux-libc-dev) and libc (libc6-dev) headers by
// `go generate` (mkvalues.go, which compiles and runs a C program with gcc)
// into zvalues_<arch>.go, which is committed. The values of an architecture
// are compiled only into binaries for it, so For(runtime.GOARCH) is the
// normal call; amd64 is generated, and arm64 is added by running
// mkvalues.go on arm64 and adding the file.
//
// The package is pure: it reads no kernel state and needs no ptrace.
package subfeature

//go:generate go run mkvalues.go -arch amd64 -out zvalues_amd64.go
