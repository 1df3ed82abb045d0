package tracer

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Exit ends loupe the way the traced command ended, so that whatever runs
// loupe (make, a shell, dpkg-buildpackage) sees the same status as without
// it: the same exit code, or death by the same signal.
//
// For a signal, loupe re-raises it on itself rather than exiting 128+N: a
// shell prints "Segmentation fault" and make reports the signal only for a
// real death by signal. The Go runtime catches signals such as SIGSEGV and
// would ignore one sent with kill, so the default action is restored with
// a raw rt_sigaction first, the signal is unblocked, and RLIMIT_CORE is set
// to 0 so loupe does not dump a core of its own (the command already did,
// if cores are enabled; WCOREDUMP is the one bit that may differ). If the
// signal does not kill (SIGCHLD, say), Exit falls back to exit(128+N).
func Exit(s ExitStatus) {
	if s.Signal == 0 {
		os.Exit(s.Code)
	}
	sig := s.Signal
	switch sig {
	case syscall.SIGKILL, syscall.SIGSTOP:
	default:
		// struct kernel_sigaction {handler; flags; restorer; mask}: all zero
		// is SIG_DFL.
		var act [4]uint64
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	}
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	var set unix.Sigset_t
	set.Val[(int(sig)-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil)
	unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
	// Signals sent to oneself are delivered before kill returns; still
	// here means the default action does not terminate.
	os.Exit(128 + int(sig))
}
