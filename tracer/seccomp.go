package tracer

import (
	"encoding/binary"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// seccomp_data offsets (linux/seccomp.h); args[0]'s low word is at 16 on
// little-endian machines.
const (
	seccompDataNr      = 0
	seccompDataArch    = 4
	seccompDataArg0Low = 16
)

func bpfStmt(code uint16, k uint32) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k}
}

func bpfJump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// buildFilter returns the program loupe installs in in-scope processes:
// SECCOMP_RET_TRACE for every syscall (all) or for the listed numbers, for
// anything not native (other ABIs are reported so they are counted and can
// be intervened in), and for the calls that could create a child the
// tracer is not told of: clone with CLONE_UNTRACED, and clone3, whose
// flags are in memory (see clearUntraced). ALLOW otherwise.
//
// The numbers are tested as ranges of consecutive numbers, in ascending
// order, and the first range above the number ends the test. An experiment
// traps a handful of numbers (a few instructions), and a simulation that
// traps everything an OS lacks (hundreds of numbers, but few ranges: the
// gaps are what the OS implements) stays short too, so the syscalls that
// run untouched pay a few comparisons and no stop. Each range is
//
//	jge lo ? next : ALLOW ; jgt hi ? next range : TRACE
//
// with the returns inline, so every jump is 0 or 1 and the program can
// hold any number of ranges below the kernel's 4096-instruction limit.
func buildFilter(all bool, nrs []int, cloneNr, clone3Nr int) []unix.SockFilter {
	const (
		ld   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		jgt  = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
	)
	trace := bpfStmt(ret, unix.SECCOMP_RET_TRACE)
	allow := bpfStmt(ret, unix.SECCOMP_RET_ALLOW)
	if all {
		return []unix.SockFilter{trace}
	}
	prog := []unix.SockFilter{
		bpfStmt(ld, seccompDataArch),
		bpfJump(jeq, nativeAuditArch, 1, 0),
		trace,
		bpfStmt(ld, seccompDataNr),
		bpfJump(jge, x32Bit, 0, 1),
		trace,
	}
	if clone3Nr >= 0 {
		prog = append(prog, bpfJump(jeq, uint32(clone3Nr), 0, 1), trace)
	}
	if cloneNr >= 0 {
		prog = append(prog,
			bpfJump(jeq, uint32(cloneNr), 0, 4),
			bpfStmt(ld, seccompDataArg0Low),
			bpfJump(jset, unix.CLONE_UNTRACED, 0, 1),
			trace,
			bpfStmt(ld, seccompDataNr), // clone may be listed below too
		)
	}
	for _, r := range numberRanges(nrs) {
		prog = append(prog,
			bpfJump(jge, uint32(r[0]), 1, 0), allow,
			bpfJump(jgt, uint32(r[1]), 1, 0), trace)
	}
	return append(prog, allow)
}

// numberRanges turns numbers into sorted, disjoint ranges of consecutive
// numbers [lo, hi].
func numberRanges(nrs []int) [][2]int {
	s := append([]int(nil), nrs...)
	sort.Ints(s)
	var out [][2]int
	for _, n := range s {
		if n < 0 {
			continue
		}
		if k := len(out); k > 0 && n <= out[k-1][1]+1 {
			out[k-1][1] = max(out[k-1][1], n)
			continue
		}
		out = append(out, [2]int{n, n})
	}
	return out
}

// encodeFilter lays out the instructions as the kernel reads them from the
// tracee's memory.
func encodeFilter(prog []unix.SockFilter) []byte {
	b := make([]byte, 0, 8*len(prog))
	for _, f := range prog {
		b = binary.LittleEndian.AppendUint16(b, f.Code)
		b = append(b, f.Jt, f.Jf)
		b = binary.LittleEndian.AppendUint32(b, f.K)
	}
	return b
}

// Injection: making an in-scope process install the filter itself.
//
// At the first syscall-entry stop of the new image the entry registers are
// saved and the syscall is replaced by seccomp(SET_MODE_FILTER, 0, &prog),
// with the program written below the stack's red zone. At its exit stop the
// pc is rewound over the syscall instruction so that, if needed, prctl
// (NO_NEW_PRIVS) and seccomp run again, and finally so that the original
// syscall runs with its original registers. That call then traps through
// the new filter and is recorded like any other.

type injPhase int

const (
	injWaitEntry   injPhase = iota // waiting for a syscall entry to take over
	injRunning                     // an injected syscall is executing
	injWaitReentry                 // registers set up; the next entry is ours
)

type injStep int

const (
	stepSeccomp injStep = iota
	stepNoNewPrivs
)

type injection struct {
	prog    []byte // the filter to install: e.filter, or a seen filter
	phase   injPhase
	saved   unix.PtraceRegs
	cur     injStep
	next    []injStep
	nnpDone bool
}

const redZone = 128

// stepInjection advances the injection state machine of t.
func (e *engine) stepInjection(t *task, info *syscallInfo) {
	inj := t.inj
	switch inj.phase {
	case injWaitEntry:
		if info.Op != unix.PTRACE_SYSCALL_INFO_ENTRY {
			e.resume(t, 0) // execve's own exit stop
			return
		}
		if e.rules.killAll {
			// Broken at its first syscall: no need for a filter.
			t.inj = nil
			e.onEntry(t, info, false)
			return
		}
		if err := ptGetRegs(t.tid, &inj.saved); err != nil {
			e.abandonInjection(t, false)
			return
		}
		inj.prog = e.filter
		if e.seenPlan != nil && t.proc.bin != nil && t.proc.bin.seen != nil {
			// Built now, from what the executable was seen to use so far.
			inj.prog = e.seenFilter(t.proc.bin.seen)
		}
		inj.next = nil
		e.startStep(t, stepSeccomp, true)
	case injRunning:
		if info.Op != unix.PTRACE_SYSCALL_INFO_EXIT {
			e.abandonInjection(t, true)
			return
		}
		rv := info.rval()
		switch {
		case inj.cur == stepSeccomp && rv == -int64(unix.EACCES) && !inj.nnpDone:
			inj.next = []injStep{stepSeccomp}
			e.startStep(t, stepNoNewPrivs, false)
		case rv < 0 && inj.cur == stepSeccomp && e.seenPlan != nil && len(inj.prog) > len(allFilter):
			// A seen filter the kernel refused (stacked on others, over the
			// instructions allowed on one path): trap everything instead.
			inj.prog = allFilter
			e.startStep(t, stepSeccomp, false)
		case rv < 0:
			e.abandonInjection(t, true)
		case inj.cur == stepNoNewPrivs:
			inj.nnpDone = true
			fallthrough
		default:
			if len(inj.next) > 0 {
				s := inj.next[0]
				inj.next = inj.next[1:]
				e.startStep(t, s, false)
				return
			}
			// Installed: re-run the original syscall through the filter.
			t.proc.filtered = true
			t.inj = nil
			r := regsRestart(inj.saved)
			if ptSetRegs(t.tid, &r) != nil {
				t.proc.filtered = true // the filter is in place either way
			}
			e.resume(t, 0)
		}
	case injWaitReentry:
		if info.Op == unix.PTRACE_SYSCALL_INFO_ENTRY {
			inj.phase = injRunning
		}
		e.resume(t, 0)
	}
}

// startStep makes t execute one injected syscall. atEntry: t is at the
// entry stop of the syscall being replaced; otherwise at an exit stop.
func (e *engine) startStep(t *task, s injStep, atEntry bool) {
	inj := t.inj
	inj.cur = s
	var nr uint64
	var args []uint64
	switch s {
	case stepNoNewPrivs:
		nr, args = unix.SYS_PRCTL, []uint64{unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0}
	case stepSeccomp:
		addr, err := e.writeFilter(t.tid, regsSP(&inj.saved), inj.prog)
		if err != nil {
			e.abandonInjection(t, !atEntry)
			return
		}
		nr, args = unix.SYS_SECCOMP, []uint64{unix.SECCOMP_SET_MODE_FILTER, 0, addr}
	}
	r := inj.saved
	if atEntry {
		regsSetEntry(&r, nr, args...)
		inj.phase = injRunning
	} else {
		regsSetPC(&r, regsPC(&inj.saved)-syscallInsnLen)
		regsSetCall(&r, nr, args...)
		inj.phase = injWaitReentry
	}
	if err := ptSetRegs(t.tid, &r); err != nil {
		e.abandonInjection(t, !atEntry)
		return
	}
	e.resume(t, 0)
}

// writeFilter writes a struct sock_fprog and the program below the red zone
// of the stack at sp, and returns the fprog's address.
func (e *engine) writeFilter(pid int, sp uint64, prog []byte) (uint64, error) {
	progLen := uint64(len(prog))
	base := (sp - redZone - progLen - 16) &^ 15
	buf := make([]byte, 16, 16+progLen)
	binary.LittleEndian.PutUint16(buf[0:], uint16(len(prog)/8))
	binary.LittleEndian.PutUint64(buf[8:], base+16)
	buf = append(buf, prog...)
	if err := writeMem(pid, base, buf); err != nil {
		return 0, err
	}
	return base, nil
}

// abandonInjection gives up on the filter for t's process, which is then
// traced with PTRACE_SYSCALL. afterExit: t is at an exit stop and the
// original syscall must be re-run; otherwise t is at the original entry.
func (e *engine) abandonInjection(t *task, afterExit bool) {
	inj := t.inj
	t.inj = nil
	if t.proc.filtered && e.seenPlan != nil {
		// A stacked seen filter (seen.go) failed: the inherited filter alone
		// decides which syscalls stop, so some may go unrecorded.
		e.res.Warnings = append(e.res.Warnings, fmt.Sprintf(
			"pid %d (%s): could not add the seccomp filter of --counts seen; syscalls its inherited filter lets through are not recorded",
			t.proc.tgid, t.proc.exe))
	}
	if afterExit {
		r := regsRestart(inj.saved)
		ptSetRegs(t.tid, &r)
		// The original syscall's entry stop comes next.
		e.resume(t, 0)
		return
	}
	if inj.saved != (unix.PtraceRegs{}) {
		ptSetRegs(t.tid, &inj.saved)
	}
	var info syscallInfo
	if ptSyscallInfo(t.tid, &info) == nil {
		e.usedPtrace = true
		e.onEntry(t, &info, false)
		return
	}
	e.resume(t, 0)
}
