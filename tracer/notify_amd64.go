package tracer

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

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

// wakerELF is the waker as a static ELF executable of 129 bytes: a loop
// of pause(2). It starts in a fraction of the time loupe's own binary
// takes (a Go runtime, its threads, the package inits), which every
// notify run paid once.
func wakerELF() []byte {
	const base, hdr = 0x400000, 64 + 56
	code := []byte{
		0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34 (pause)
		0x0f, 0x05, // syscall
		0xeb, 0xf7, // jmp back to mov
	}
	b := make([]byte, 0, hdr+len(code))
	le := binary.LittleEndian
	b = append(b, 0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LE */, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	b = le.AppendUint16(b, 2)    // ET_EXEC
	b = le.AppendUint16(b, 0x3e) // EM_X86_64
	b = le.AppendUint32(b, 1)
	b = le.AppendUint64(b, base+hdr) // entry
	b = le.AppendUint64(b, 64)       // phoff
	b = le.AppendUint64(b, 0)        // shoff
	b = le.AppendUint32(b, 0)        // flags
	b = le.AppendUint16(b, 64)       // ehsize
	b = le.AppendUint16(b, 56)       // phentsize
	b = le.AppendUint16(b, 1)        // phnum
	b = le.AppendUint16(b, 0)        // shentsize
	b = le.AppendUint16(b, 0)        // shnum
	b = le.AppendUint16(b, 0)        // shstrndx
	b = le.AppendUint32(b, 1)        // PT_LOAD
	b = le.AppendUint32(b, 5)        // PF_R|PF_X
	b = le.AppendUint64(b, 0)        // offset
	b = le.AppendUint64(b, base)     // vaddr
	b = le.AppendUint64(b, base)     // paddr
	b = le.AppendUint64(b, uint64(hdr+len(code)))
	b = le.AppendUint64(b, uint64(hdr+len(code)))
	b = le.AppendUint64(b, 0x1000)
	return append(b, code...)
}
