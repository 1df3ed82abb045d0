package tracer

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// Everything architecture-specific lives in arch_<GOARCH>.go: the native
// audit arch, the syscall table, register offsets and the syscall ABI.

const (
	nativeAuditArch = unix.AUDIT_ARCH_X86_64
	// syscallInsnLen is the length of the instruction that entered the
	// kernel (syscall, int 0x80 and sysenter are all 2 bytes), used to rewind
	// the pc and re-execute a syscall after injecting others.
	syscallInsnLen = 2
	// x32 syscalls are native numbers with this bit set.
	x32Bit = 0x40000000
)

var nativeTable = sysent.AMD64

var (
	offSyscallNr = unsafe.Offsetof(unix.PtraceRegs{}.Orig_rax)
	offRetval    = unsafe.Offsetof(unix.PtraceRegs{}.Rax)
)

// foreignArchName names a non-native audit arch seen in a native process
// (int 0x80 from a 64-bit program).
func foreignArchName(arch uint32) string {
	switch arch {
	case unix.AUDIT_ARCH_I386:
		return "i386"
	}
	return "arch_" + itoa(int(arch))
}

func regsPC(r *unix.PtraceRegs) uint64       { return r.Rip }
func regsSetPC(r *unix.PtraceRegs, v uint64) { r.Rip = v }
func regsSP(r *unix.PtraceRegs) uint64       { return r.Rsp }
func regsNr(r *unix.PtraceRegs) uint64       { return r.Orig_rax }

// regsSetCall prepares r so that executing the syscall instruction at the
// pc performs syscall nr with args; used at a syscall-exit stop.
func regsSetCall(r *unix.PtraceRegs, nr uint64, args ...uint64) {
	r.Rax = nr
	r.Orig_rax = nr
	dst := []*uint64{&r.Rdi, &r.Rsi, &r.Rdx, &r.R10, &r.R8, &r.R9}
	for i, a := range args {
		*dst[i] = a
	}
}

// regsSetEntry rewrites the syscall about to run at a syscall-entry stop.
func regsSetEntry(r *unix.PtraceRegs, nr uint64, args ...uint64) {
	r.Orig_rax = nr
	dst := []*uint64{&r.Rdi, &r.Rsi, &r.Rdx, &r.R10, &r.R8, &r.R9}
	for i, a := range args {
		*dst[i] = a
	}
}

// regsRestart makes the saved entry registers re-execute their syscall
// when the tracee resumes from an exit stop.
func regsRestart(saved unix.PtraceRegs) unix.PtraceRegs {
	r := saved
	r.Rip -= syscallInsnLen
	r.Rax = saved.Orig_rax
	return r
}

// regsFirstArg returns the first syscall argument (clone flags, clone3 args).
func regsFirstArg(r *unix.PtraceRegs) uint64 { return r.Rdi }

// argRegOffsets are the user-area offsets of the six syscall argument
// registers, for rewriting one argument with a single POKEUSER.
var argRegOffsets = [6]uintptr{
	unsafe.Offsetof(unix.PtraceRegs{}.Rdi), unsafe.Offsetof(unix.PtraceRegs{}.Rsi),
	unsafe.Offsetof(unix.PtraceRegs{}.Rdx), unsafe.Offsetof(unix.PtraceRegs{}.R10),
	unsafe.Offsetof(unix.PtraceRegs{}.R8), unsafe.Offsetof(unix.PtraceRegs{}.R9),
}
