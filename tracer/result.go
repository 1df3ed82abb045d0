package tracer

// Records and the Result: binRec accumulates what one in-scope
// executable did over all its processes (counts by syscall number, features,
// pseudo-files, rule hits, one Process per image); finish turns the records
// into the Result, sorted.

import (
	"sort"
	"time"
)

// binRec is the record of one in-scope executable, by identity.
type binRec struct {
	b        *Binary
	procs    []*Process // in start order; filled in as images end
	counts   []uint64   // by syscall number
	errs     []uint64
	other    map[string]uint64 // foreign-ABI calls and numbers beyond the table
	features map[string]uint64
	pseudo   map[string]uint64
	hits     map[string]uint64 // rule hits
	seen     *seenSet          // Options.Counts seen (seen.go)
}

// binFor returns the record of an in-scope executable, creating it (and
// computing its identity, through the cache) at its first exec.
func (e *engine) binFor(pid int, id Identity) *binRec {
	key := id.Path + "\x00" + id.Interpreter
	if b := e.bins[key]; b != nil {
		return b
	}
	src := procPath(pid, "exe") // the very inode that runs, even if replaced since
	if id.Interpreter != "" {
		src = id.Path
	}
	if s, err := e.opts.Identities.Sums(src); err == nil {
		id.BuildID, id.SHA256 = s.BuildID, s.SHA256
	}
	b := &binRec{b: &Binary{Identity: id}, counts: make([]uint64, e.table.Max()), other: map[string]uint64{},
		features: map[string]uint64{}, pseudo: map[string]uint64{}, hits: map[string]uint64{}}
	if e.opts.Record&RecordErrors != 0 {
		b.errs = make([]uint64, e.table.Max())
	}
	if e.seenPlan != nil {
		b.seen = newSeenSet(e.table.Max())
	}
	e.bins[key] = b
	e.binOrder = append(e.binOrder, b)
	return b
}

func (b *binRec) newProcess(p Process) *Process {
	rec := &p
	b.procs = append(b.procs, rec)
	return rec
}

// endImage closes the process record of p's current image.
func (e *engine) endImage(p *proc, st ExitStatus, replaced bool) {
	if p.rec == nil || p.bin == nil {
		return
	}
	p.rec.Exit, p.rec.Replaced = st, replaced
	p.rec = nil
}

func (e *engine) onExitEvent(t *task) {
	if rec := t.proc.rec; rec != nil {
		if v := procVmHWM(t.tid, e.statusBuf); v > rec.PeakRSSKB {
			rec.PeakRSSKB = v
		}
		if n := procFDCount(t.tid); n > rec.MaxFDs {
			rec.MaxFDs = n
		}
	}
	e.resume(t, 0)
}

// finish builds the Result from the records.
func (e *engine) finish() {
	e.res.Usage = e.clk.usage(time.Now())
	e.res.LimitExceeded = e.limitHit.Load()
	if e.usedSeccomp && e.usedPtrace {
		e.res.Mechanism = "seccomp+ptrace"
	} else if e.usedSeccomp {
		e.res.Mechanism = "seccomp"
	} else if e.usedPtrace {
		e.res.Mechanism = "ptrace"
	}
	for _, b := range e.binOrder {
		out := b.b
		for nr, c := range b.counts {
			if c == 0 {
				continue
			}
			sc := SyscallCount{Number: nr, Name: e.table.Name(nr), Calls: c}
			if b.errs != nil {
				sc.Errors = b.errs[nr]
			}
			out.Syscalls = append(out.Syscalls, sc)
		}
		keys := make([]string, 0, len(b.other))
		for k := range b.other {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			nr := -1
			if n, ok := e.table.Number(k); ok {
				nr = n
			}
			out.Syscalls = append(out.Syscalls, SyscallCount{Number: nr, Name: k, Calls: b.other[k]})
		}
		sort.SliceStable(out.Syscalls, func(i, j int) bool {
			a, b := out.Syscalls[i], out.Syscalls[j]
			if (a.Number < 0) != (b.Number < 0) {
				return b.Number < 0
			}
			return a.Number < b.Number
		})
		out.Features = sortedCounts(b.features)
		out.PseudoFiles = sortedCounts(b.pseudo)
		if len(b.hits) > 0 {
			out.RuleHits = b.hits
		}
		for _, p := range b.procs {
			out.Processes = append(out.Processes, *p)
		}
		for _, p := range out.Processes {
			out.PeakRSSKB = max(out.PeakRSSKB, p.PeakRSSKB)
			out.MaxFDs = max(out.MaxFDs, p.MaxFDs)
		}
		e.res.Binaries = append(e.res.Binaries, out)
	}
	sort.Slice(e.res.Binaries, func(i, j int) bool {
		a, b := e.res.Binaries[i], e.res.Binaries[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Interpreter < b.Interpreter
	})
}

func sortedCounts(m map[string]uint64) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Key: k, Calls: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
