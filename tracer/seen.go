package tracer

// Counts seen (Options.Counts = CountsSeen): what each in-scope executable
// has been seen to use, and the filter that traps only the rest. An
// in-scope image gets, at its first syscall, a filter built from its
// executable's seen set at that moment: syscall numbers not seen yet trap;
// a seen syscall with sub-features (when they are recorded) traps only the
// argument values not seen yet, compared word by word in BPF
// (subfeature.Slot); what rules target and what pseudo-file following needs
// (path and fd syscalls, chdir) always traps. The filter is a decision tree
// over the syscall number, so a syscall that runs untouched pays a few
// comparisons whatever the size of the set.
//
// A process that already carries a filter (inherited from an in-scope
// ancestor, whose set differs) gets this one stacked on it: seccomp runs
// every filter and the strictest action wins, so the process traps what
// either traps, and nothing this executable has not been seen to use
// escapes.

import (
	"slices"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/internal/subfeature"
)

// seenSet is what one in-scope executable has been seen to use.
type seenSet struct {
	nrs    []bool                         // by syscall number
	tuples map[int]map[[2]uint64]struct{} // sub-feature syscalls: masked slot values seen
	gen    int                            // bumped at every addition
	prog   []byte                         // the filter built at generation progAt
	progOK bool
	progAt int
}

func newSeenSet(max int) *seenSet {
	return &seenSet{nrs: make([]bool, max), tuples: map[int]map[[2]uint64]struct{}{}}
}

// addNr marks syscall nr as seen.
func (s *seenSet) addNr(nr int) {
	if nr >= 0 && nr < len(s.nrs) && !s.nrs[nr] {
		s.nrs[nr] = true
		s.gen++
	}
}

// addTuple marks the sub-feature values of a call as seen.
func (s *seenSet) addTuple(nr int, slots []subfeature.Slot, args [6]uint64) {
	if len(slots) == 0 {
		return
	}
	var t [2]uint64
	for i, sl := range slots {
		t[i] = args[sl.Arg] & sl.Mask
	}
	m := s.tuples[nr]
	if m == nil {
		m = map[[2]uint64]struct{}{}
		s.tuples[nr] = m
	}
	if _, ok := m[t]; !ok {
		m[t] = struct{}{}
		s.gen++
	}
}

// seenPlan is what the filters of a run share: the syscalls that always
// trap, and the slots of those whose sub-features are recorded.
type seenPlan struct {
	always []bool              // by number
	slots  [][]subfeature.Slot // by number; nil: compared by number only
}

// planSeen prepares the seen filters of a run (Options.Counts seen).
func (e *engine) planSeen() *seenPlan {
	pl := &seenPlan{always: make([]bool, e.table.Max()), slots: make([][]subfeature.Slot, e.table.Max())}
	mark := func(nr int) {
		if nr >= 0 && nr < len(pl.always) {
			pl.always[nr] = true
		}
	}
	// What an experiment-only filter traps: rules, execve (peak RSS).
	for _, nr := range e.filterNumbers() {
		mark(nr)
	}
	if e.needPaths {
		// Paths and fds are followed call by call: an fd opened unseen would
		// make its later uses unknown, and a chdir unseen would resolve
		// relative paths against a stale directory.
		for _, names := range [][]string{e.pf.PathSyscalls(), e.pf.FdSyscalls()} {
			for _, n := range names {
				if nr, ok := e.table.Number(n); ok {
					mark(nr)
				}
			}
		}
		mark(e.fcntlNr)
		mark(e.chdirNrs[0])
		mark(e.chdirNrs[1])
	}
	if e.sub != nil && e.opts.Record&RecordFeatures != 0 {
		for _, nr := range e.sub.Syscalls() {
			if nr < 0 || nr >= len(pl.slots) {
				continue
			}
			sl := e.sub.Slots(nr)
			if slices.ContainsFunc(sl, func(s subfeature.Slot) bool { return s.InMemory }) {
				mark(nr) // clone3: its value is in memory
				continue
			}
			pl.slots[nr] = sl
		}
	}
	return pl
}

// seenFilter returns the encoded filter for a new image of the executable
// whose seen set is s, building it only when s changed since the last one.
func (e *engine) seenFilter(s *seenSet) []byte {
	if s.progOK && s.progAt == s.gen {
		return s.prog
	}
	s.prog = encodeFilter(buildSeenFilter(e.seenPlan, s, e.cloneNr, e.clone3Nr))
	s.progOK, s.progAt = true, s.gen
	return s.prog
}

// seenFilterBudget bounds a seen filter's length: a filter runs at every
// syscall of its process (a deep tree stays short; comparisons of seen
// sub-feature values are paid by those syscalls only), and stacked filters
// share the kernel's limit of 32768 instructions per path. A sub-feature
// syscall whose values would not fit traps as a whole.
const seenFilterBudget = 2048

// filter actions of the intervals of the number line.
const (
	actAllow = iota
	actTrace
	actBlock // a seen sub-feature syscall: compare its values
)

type interval struct {
	lo  uint32 // the first number; the interval ends where the next begins
	act int
}

// buildSeenFilter returns the seen filter: the prologue of buildFilter
// (foreign ABIs, x32, clone3, clone with CLONE_UNTRACED trap), then a
// binary decision tree over the syscall number whose leaves allow, trap, or
// compare a seen sub-feature syscall's argument words with the values seen.
// Nothing seen yet: everything traps, the one-instruction filter.
func buildSeenFilter(pl *seenPlan, s *seenSet, cloneNr, clone3Nr int) []unix.SockFilter {
	if s.gen == 0 {
		return buildFilter(true, nil, cloneNr, clone3Nr)
	}
	prog := buildFilter(false, nil, cloneNr, clone3Nr)
	prog = prog[:len(prog)-1] // the final ALLOW: the tree replaces it

	blocks := map[uint32][]unix.SockFilter{}
	budget := seenFilterBudget - len(prog)
	var ivs []interval
	for nr := range s.nrs {
		act := actTrace
		switch {
		case pl.always[nr] || !s.nrs[nr]:
		case pl.slots[nr] != nil:
			if b := valueBlock(pl.slots[nr], s.tuples[nr]); b != nil && len(b) < budget/2 {
				blocks[uint32(nr)] = b
				budget -= len(b)
				act = actBlock
			}
		default:
			act = actAllow
		}
		if k := len(ivs); k == 0 || act == actBlock || ivs[k-1].act != act || ivs[k-1].act == actBlock {
			ivs = append(ivs, interval{lo: uint32(nr), act: act})
		}
	}
	// Numbers beyond the table trap (they are counted by name).
	if k := len(ivs); k == 0 || ivs[k-1].act != actTrace {
		ivs = append(ivs, interval{lo: uint32(len(s.nrs)), act: actTrace})
	}
	return append(prog, decisionTree(ivs, blocks)...)
}

// decisionTree emits a binary search over intervals (sorted by lo, the
// first starting at 0); the accumulator holds the syscall number. Classic
// BPF jumps only forward, by at most 255 with a conditional jump, so a long
// left branch is skipped with an unconditional jump.
func decisionTree(ivs []interval, blocks map[uint32][]unix.SockFilter) []unix.SockFilter {
	const (
		jge = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ja  = unix.BPF_JMP | unix.BPF_JA
		ret = unix.BPF_RET | unix.BPF_K
	)
	if len(ivs) == 1 {
		switch iv := ivs[0]; iv.act {
		case actAllow:
			return []unix.SockFilter{bpfStmt(ret, unix.SECCOMP_RET_ALLOW)}
		case actBlock:
			return blocks[iv.lo]
		}
		return []unix.SockFilter{bpfStmt(ret, unix.SECCOMP_RET_TRACE)}
	}
	mid := len(ivs) / 2
	left := decisionTree(ivs[:mid], blocks)
	right := decisionTree(ivs[mid:], blocks)
	var out []unix.SockFilter
	if len(left) <= 255 {
		out = append(out, bpfJump(jge, ivs[mid].lo, uint8(len(left)), 0))
	} else {
		// n >= lo: fall into the jump over the left branch.
		out = append(out, bpfJump(jge, ivs[mid].lo, 0, 1), bpfStmt(ja, uint32(len(left))))
	}
	out = append(out, left...)
	return append(out, right...)
}

// valueBlock returns the leaf of a seen sub-feature syscall: ALLOW for a
// call whose masked slot words equal those of a tuple seen, TRACE
// otherwise. Tuples are tried in sorted order (the filter is the same for
// the same set). nil when nothing was seen (the syscall then traps).
func valueBlock(slots []subfeature.Slot, seen map[[2]uint64]struct{}) []unix.SockFilter {
	const (
		ld   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		and  = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
		argW = 16 // offset of args[0] in struct seccomp_data
	)
	if len(seen) == 0 {
		return nil
	}
	tuples := make([][2]uint64, 0, len(seen))
	for t := range seen {
		tuples = append(tuples, t)
	}
	slices.SortFunc(tuples, func(a, b [2]uint64) int {
		if c := cmpU64(a[0], b[0]); c != 0 {
			return c
		}
		return cmpU64(a[1], b[1])
	})
	var out []unix.SockFilter
	for _, t := range tuples {
		// The 32-bit words to compare: low then high half of each slot
		// (little-endian seccomp_data), skipping words the mask ignores.
		type cmp struct {
			off, mask, val uint32
		}
		var cmps []cmp
		for i, sl := range slots {
			for half := 0; half < 2; half++ {
				m := uint32(sl.Mask >> (32 * half))
				if m == 0 {
					continue
				}
				cmps = append(cmps, cmp{off: uint32(argW + 8*sl.Arg + 4*half), mask: m, val: uint32(t[i] >> (32 * half))})
			}
		}
		var code []unix.SockFilter
		for _, c := range cmps {
			code = append(code, bpfStmt(ld, c.off))
			if c.mask != ^uint32(0) {
				code = append(code, bpfStmt(and, c.mask))
			}
			code = append(code, bpfJump(jeq, c.val, 0, 0)) // jf patched below
		}
		code = append(code, bpfStmt(ret, unix.SECCOMP_RET_ALLOW))
		// A mismatch skips to the next tuple: past this one's ALLOW.
		for i := range code {
			if code[i].Code == jeq {
				code[i].Jf = uint8(len(code) - 1 - i)
			}
		}
		out = append(out, code...)
	}
	return append(out, bpfStmt(ret, unix.SECCOMP_RET_TRACE))
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// allFilter is the one-instruction filter that traps every syscall: the
// fallback when a seen filter cannot be stacked (the kernel's limit on
// the instructions of one path).
var allFilter = encodeFilter(buildFilter(true, nil, -1, -1))
