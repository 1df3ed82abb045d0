package plan

// The greedy planner: the syscalls indexed as bitsets, the OS's state as
// the plan goes, and the choice of each step (the objective and its
// tie-breaks, doc.go). Compute (plan.go) drives it and records the steps.

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sort"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

// bitset over the syscall index of one Compute call.
type bitset []uint64

func newSet(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int) { b[i/64] |= 1 << (i % 64) }

func (b bitset) clear(i int) { b[i/64] &^= 1 << (i % 64) }

func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) clone() bitset { return append(bitset(nil), b...) }

func (b bitset) key() string {
	k := make([]byte, 0, 8*len(b))
	for _, w := range b {
		k = binary.LittleEndian.AppendUint64(k, w)
	}
	return string(k)
}

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

func (b bitset) each(f func(int)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			f(wi*64 + t)
			w &^= 1 << t
		}
	}
}

type appBits struct {
	app                 *App
	used, accStub, accF bitset
}

type state struct {
	impl, stub, fake     bitset
	allowStub, allowFake bitset
	supported            []int // app indices, in unlock order
	done                 []bool
}

func (s *state) clone() *state {
	return &state{s.impl.clone(), s.stub.clone(), s.fake.clone(), s.allowStub.clone(), s.allowFake.clone(),
		append([]int(nil), s.supported...), append([]bool(nil), s.done...)}
}

type planner struct {
	names      []string // index -> syscall
	idx        map[string]int
	namesFiles []bool // index -> the syscall names files (pseudo-files reach the OS through it)
	cost       []float64
	apps       []appBits
	n          int
}

// needImpl is what app a needs implemented in state s.
func (p *planner) needImpl(s *state, a int) bitset {
	ab := &p.apps[a]
	out := newSet(p.n)
	for i := range out {
		w := ab.used[i] &^ s.impl[i] &^ (ab.accStub[i] & s.allowStub[i]) &^ (ab.accF[i] & s.allowFake[i])
		out[i] = w
	}
	return out
}

type change struct{ toStub, toFake []int }

// support marks app a supported (its needImpl must be empty) and returns
// the stub/fake changes it made.
func (p *planner) support(s *state, a int) change {
	ab := &p.apps[a]
	var ch change
	for i := range ab.used {
		rest := ab.used[i] &^ s.impl[i]
		for rest != 0 {
			t := bits.TrailingZeros64(rest)
			rest &^= 1 << t
			x := i*64 + t
			switch {
			case s.stub.has(x) && ab.accStub.has(x), s.fake.has(x) && ab.accF.has(x):
			case ab.accStub.has(x) && s.allowStub.has(x):
				s.stub.set(x)
				s.fake.clear(x)
				ch.toStub = append(ch.toStub, x)
			case ab.accF.has(x) && s.allowFake.has(x):
				s.fake.set(x)
				s.stub.clear(x)
				ch.toFake = append(ch.toFake, x)
			default:
				panic("plan: support of an app that needs implementation")
			}
		}
		s.allowStub[i] &^= ab.used[i] &^ ab.accStub[i]
		s.allowFake[i] &^= ab.used[i] &^ ab.accF[i]
	}
	s.supported = append(s.supported, a)
	s.done[a] = true
	return ch
}

// closure supports first (if >= 0) and then every remaining app that needs
// no implementation, in name order. Supporting an app only shrinks what
// others may use, so one pass finds them all.
func (p *planner) closure(s *state, first int) (unlocked []int, ch change) {
	add := func(a int) {
		c := p.support(s, a)
		ch.toStub = append(ch.toStub, c.toStub...)
		ch.toFake = append(ch.toFake, c.toFake...)
		unlocked = append(unlocked, a)
	}
	if first >= 0 {
		add(first)
	}
	for a := range p.apps {
		if !s.done[a] && p.needImpl(s, a).empty() {
			add(a)
		}
	}
	return
}

func (p *planner) implement(s *state, set bitset) float64 {
	c := 0.0
	set.each(func(x int) {
		if !s.impl.has(x) {
			c += p.cost[x]
		}
		s.impl.set(x)
		s.stub.clear(x)
		s.fake.clear(x)
	})
	return c
}

type candidate struct {
	app      int
	impl     bitset
	cost     float64
	unlocked []int
	ch       change
	after    *state
	look     float64 // best next ratio; computed lazily
}

func (p *planner) candidates(s *state) []*candidate {
	seen := map[string]bool{}
	var out []*candidate
	for a := range p.apps {
		if s.done[a] {
			continue
		}
		need := p.needImpl(s, a)
		k := need.key()
		if seen[k] {
			continue // same step as an earlier (by name) app
		}
		seen[k] = true
		c := &candidate{app: a, impl: need, after: s.clone()}
		c.cost = p.implement(c.after, need)
		c.unlocked, c.ch = p.closure(c.after, a)
		out = append(out, c)
	}
	return out
}

// cmp orders candidates without look-ahead: higher ratio, lower cost.
func cmpBasic(a, b *candidate) int {
	x, y := float64(len(a.unlocked))*b.cost, float64(len(b.unlocked))*a.cost

	switch {
	case x > y:
		return -1
	case x < y:
		return 1
	case a.cost < b.cost:
		return -1
	case a.cost > b.cost:
		return 1
	}
	return 0
}

func (p *planner) bestRatio(s *state) float64 {
	best := math.Inf(1) // nothing left: as good as it gets
	first := true
	for _, c := range p.candidates(s) {
		r := float64(len(c.unlocked)) / c.cost
		if first || r > best {
			best, first = r, false
		}
	}
	return best
}

func (p *planner) choose(s *state) *candidate {
	cs := p.candidates(s)
	if len(cs) == 0 {
		return nil
	}
	sort.SliceStable(cs, func(i, j int) bool { return cmpBasic(cs[i], cs[j]) < 0 })
	ties := cs[:1]
	for _, c := range cs[1:] {
		if cmpBasic(cs[0], c) != 0 {
			break
		}
		ties = append(ties, c)
	}
	if len(ties) == 1 {
		return ties[0]
	}
	for _, c := range ties {
		c.look = p.bestRatio(c.after)
	}
	sort.SliceStable(ties, func(i, j int) bool {
		a, b := ties[i], ties[j]
		if a.look != b.look {
			return a.look > b.look
		}
		na, nb := len(a.ch.toStub)+len(a.ch.toFake), len(b.ch.toStub)+len(b.ch.toFake)
		if na != nb {
			return na < nb
		}
		return p.apps[a.app].app.Name < p.apps[b.app].app.Name
	})
	return ties[0]
}

// newPlanner indexes the syscalls (the OS's, then the apps', each in
// number order), their costs, and what each app uses and accepts.
func newPlanner(o *OS, apps []*App, costs map[string]float64) *planner {
	idx := map[string]int{}
	var names []string
	addNames := func(ks []string) {
		for _, k := range ks {
			if _, ok := idx[k]; !ok {
				idx[k] = len(names)
				names = append(names, k)
			}
		}
	}
	addNames(sortedNames(o.State))
	for _, a := range apps {
		addNames(sortedNames(a.Syscalls))
	}
	n := len(names)
	p := &planner{names: names, idx: idx, n: n, cost: make([]float64, n), namesFiles: make([]bool, n)}
	for i, nm := range names {
		if nr, ok := abiSyscalls.Number(nm); ok && abiPseudoFiles.Paths(nr) != nil {
			p.namesFiles[i] = true
		}
		p.cost[i] = 1
		if c, ok := costs[nm]; ok {
			p.cost[i] = c
		}
	}
	for _, a := range apps {
		ab := appBits{app: a, used: newSet(n), accStub: newSet(n), accF: newSet(n)}
		for k, st := range a.Syscalls {
			x := idx[k]
			ab.used.set(x)
			if st&dataset.Tested != 0 && st&dataset.StubOK != 0 {
				ab.accStub.set(x)
			}
			if st&dataset.Tested != 0 && st&dataset.FakeOK != 0 {
				ab.accF.set(x)
			}
		}
		p.apps = append(p.apps, ab)
	}
	return p
}

// start is the OS's state before any step: stubs and fakes allowed
// everywhere until a supported app refuses them.
func (p *planner) start(o *OS) *state {
	n := p.n
	s := &state{impl: newSet(n), stub: newSet(n), fake: newSet(n), allowStub: newSet(n), allowFake: newSet(n), done: make([]bool, len(p.apps))}
	for i := range s.allowStub {
		s.allowStub[i], s.allowFake[i] = ^uint64(0), ^uint64(0)
	}
	for nm, a := range o.State {
		switch a {
		case Implemented:
			s.impl.set(p.idx[nm])
		case Stubbed:
			s.stub.set(p.idx[nm])
		case Faked:
			s.fake.set(p.idx[nm])
		}
	}
	return s
}

// work is what the plan adds to the OS, from initial to s.
func (p *planner) work(initial, s *state) Work {
	var wk Work
	for x := 0; x < p.n; x++ {
		switch {
		case s.impl.has(x) && !initial.impl.has(x):
			wk.Implement = append(wk.Implement, p.names[x])
			wk.Cost += p.cost[x]
		case s.stub.has(x) && !initial.stub.has(x):
			wk.Stub = append(wk.Stub, p.names[x])
		case s.fake.has(x) && !initial.fake.has(x):
			wk.Fake = append(wk.Fake, p.names[x])
		}
	}
	wk.Implement, wk.Stub, wk.Fake = sortSys(wk.Implement), sortSys(wk.Stub), sortSys(wk.Fake)
	return wk
}

// opensFiles reports whether app a uses a file-naming syscall that is
// implemented in s.
func (p *planner) opensFiles(s *state, a int) bool {
	found := false
	p.apps[a].used.each(func(x int) {
		if !found && p.namesFiles[x] && s.impl.has(x) {
			found = true
		}
	})
	return found
}

func dedup(xs []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
