// Package tracer runs a command under ptrace, follows its whole process tree
// and records, for the processes running a whitelisted executable only, the
// system calls they make; it can also stub or fake syscalls in those
// processes. It is the only package of loupe that talks to the kernel's
// tracing interfaces (it alone imports golang.org/x/sys/unix), and it knows
// nothing about Debian or verdicts.
//
// The design doc is in engine.go.
package tracer
