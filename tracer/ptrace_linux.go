package tracer

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Thin ptrace wrappers. They use RawSyscall: ptrace requests never block,
// and skipping the scheduler hooks matters on the per-syscall hot path.
//
// Precondition for all of them: called from the tracer's locked OS thread.

func ptrace(req int, pid int, addr, data uintptr) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func ptSeize(pid int, opts int) error { return ptrace(unix.PTRACE_SEIZE, pid, 0, uintptr(opts)) }
func ptCont(pid, sig int) error       { return ptrace(unix.PTRACE_CONT, pid, 0, uintptr(sig)) }
func ptSyscall(pid, sig int) error    { return ptrace(unix.PTRACE_SYSCALL, pid, 0, uintptr(sig)) }
func ptListen(pid int) error          { return ptrace(unix.PTRACE_LISTEN, pid, 0, 0) }
func ptInterrupt(pid int) error       { return ptrace(unix.PTRACE_INTERRUPT, pid, 0, 0) }
func ptDetach(pid, sig int) error     { return ptrace(unix.PTRACE_DETACH, pid, 0, uintptr(sig)) }
func ptSetOptions(pid, opts int) error {
	return ptrace(unix.PTRACE_SETOPTIONS, pid, 0, uintptr(opts))
}

func ptEventMsg(pid int) (uint64, error) {
	var msg uint64
	err := ptrace(unix.PTRACE_GETEVENTMSG, pid, 0, uintptr(unsafe.Pointer(&msg)))
	return msg, err
}

func ptPokeUser(pid int, off uintptr, val uint64) error {
	return ptrace(unix.PTRACE_POKEUSR, pid, off, uintptr(val))
}

func ptGetRegs(pid int, r *unix.PtraceRegs) error {
	return ptrace(unix.PTRACE_GETREGS, pid, 0, uintptr(unsafe.Pointer(r)))
}

func ptSetRegs(pid int, r *unix.PtraceRegs) error {
	return ptrace(unix.PTRACE_SETREGS, pid, 0, uintptr(unsafe.Pointer(r)))
}

// syscallInfo is struct ptrace_syscall_info (linux/ptrace.h); x/sys has no
// wrapper. One PTRACE_GET_SYSCALL_INFO gives the stop kind, arch, number
// and arguments, which is cheaper than GETREGS and needs no entry/exit
// parity bookkeeping.
type syscallInfo struct {
	Op   uint8
	_    [3]uint8
	Arch uint32
	IP   uint64
	SP   uint64
	// Entry and seccomp stops: Nr, Args. Exit stops: Nr holds rval and the
	// low byte of Args[0] is_error.
	Nr      uint64
	Args    [6]uint64
	RetData uint32
	_       uint32
}

func (s *syscallInfo) rval() int64   { return int64(s.Nr) }
func (s *syscallInfo) isError() bool { return s.Args[0]&0xff != 0 }
func ptSyscallInfo(pid int, s *syscallInfo) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(pid),
		unsafe.Sizeof(*s), uintptr(unsafe.Pointer(s)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// readMem reads tracee memory with process_vm_readv, a page at a time so a
// partial read is never mistaken for a full one (see process_vm_readv(2)).
func readMem(pid int, addr uint64, buf []byte) error {
	for len(buf) > 0 {
		chunk := min(len(buf), pageSize-int(addr%uint64(pageSize)))
		local := []unix.Iovec{{Base: &buf[0]}}
		local[0].SetLen(chunk)
		remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: chunk}}
		n, err := unix.ProcessVMReadv(pid, local, remote, 0)
		if err != nil {
			return err
		}
		if n != chunk {
			return unix.EFAULT
		}
		buf, addr = buf[chunk:], addr+uint64(chunk)
	}
	return nil
}

// writeMem writes tracee memory. process_vm_writev honours page
// protections, which is what we want: loupe only writes to the stack.
func writeMem(pid int, addr uint64, data []byte) error {
	for len(data) > 0 {
		chunk := min(len(data), pageSize-int(addr%uint64(pageSize)))
		local := []unix.Iovec{{Base: &data[0]}}
		local[0].SetLen(chunk)
		remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: chunk}}
		n, err := unix.ProcessVMWritev(pid, local, remote, 0)
		if err != nil {
			return err
		}
		if n != chunk {
			return unix.EFAULT
		}
		data, addr = data[chunk:], addr+uint64(chunk)
	}
	return nil
}

// readUint64 reads a 64-bit word of tracee memory. Tracees run the native
// ABI (foreign-ABI calls are never decoded), so the byte order is the
// tracer's own.
func readUint64(pid int, addr uint64) (uint64, error) {
	var b [8]byte
	if err := readMem(pid, addr, b[:]); err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint64(b[:]), nil
}

// writeUint64 writes a 64-bit word of tracee memory.
func writeUint64(pid int, addr, v uint64) error {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], v)
	return writeMem(pid, addr, b[:])
}

// readString reads a NUL-terminated string of at most max bytes.
func readString(pid int, addr uint64, max int) (string, error) {
	var out []byte
	buf := make([]byte, pageSize)
	for len(out) < max {
		chunk := min(pageSize-int(addr%uint64(pageSize)), max-len(out))
		if err := readMem(pid, addr, buf[:chunk]); err != nil {
			return "", err
		}
		for i, c := range buf[:chunk] {
			if c == 0 {
				return string(append(out, buf[:i]...)), nil
			}
		}
		out = append(out, buf[:chunk]...)
		addr += uint64(chunk)
	}
	return string(out), nil
}

var pageSize = unix.Getpagesize()
