package tracer

import "golang.org/x/sys/unix"

// The exec syscalls in each ABI an amd64 process can use
// (arch/x86/entry/syscalls/syscall_64.tbl and syscall_32.tbl), for the
// notify filter (notify.go).
const (
	execveNr         = unix.SYS_EXECVE   // 59
	execveatNr       = unix.SYS_EXECVEAT // 322
	x32ExecveNr      = 520               // with x32Bit
	x32ExecveatNr    = 545
	compatAuditArch  = unix.AUDIT_ARCH_I386
	compatExecveNr   = 11
	compatExecveatNr = 358
)
