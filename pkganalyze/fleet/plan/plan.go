package plan

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

// Objective is the documented objective of Compute.
const Objective = "each step implements the syscalls that unlock the most applications per unit of " +
	"implementation cost (cost 1 per syscall unless --cost says otherwise); stubs and fakes cost nothing but " +
	"are listed; ties go to the cheaper step, then to the step after which the best next step is best " +
	"(one step of look-ahead), then to the step with fewer stub/fake changes, then to the application name"

// Kinds of plan.
const (
	KindLoupe = "loupe" // stub/fake evidence from the analysis
	KindNaive = "naive" // implement everything traced
)

// Options tunes Compute.
type Options struct {
	Costs map[string]float64 // per syscall; default 1
	Naive bool               // the apps were built naive (label only)
}

// Schema is the schema key of a plan written as YAML or JSON
// (doc/plan.md). Readers refuse other values; keys may be added within v1.
const Schema = "loupe/plan/v1"

// Plan is an ordered support plan.
type Plan struct {
	Schema    string   `json:"schema" yaml:"schema"`
	Kind      string   `json:"kind" yaml:"kind"`
	Objective string   `json:"objective" yaml:"objective"`
	OS        string   `json:"os" yaml:"os"`
	Workload  string   `json:"workload" yaml:"workload"`
	OSState   OSCounts `json:"os_state" yaml:"os_state"`
	Apps      int      `json:"apps" yaml:"apps"` // apps with usable data
	Steps     []Step   `json:"steps" yaml:"steps"`
	NoData    []NoData `json:"no_data,omitempty" yaml:"no_data,omitempty"`
	// Work is the total work: the final state minus what the OS had.
	Work     Work     `json:"work" yaml:"work"`
	Warnings []string `json:"warnings,omitempty" yaml:"warnings,omitempty"`
}

// OSCounts summarises the OS file.
type OSCounts struct {
	Implemented int `json:"implemented" yaml:"implemented"`
	Stubbed     int `json:"stubbed" yaml:"stubbed"`
	Faked       int `json:"faked" yaml:"faked"`
}

// Work is a set of changes to the OS.
type Work struct {
	Implement []string `json:"implement" yaml:"implement"`
	Stub      []string `json:"stub" yaml:"stub"`
	Fake      []string `json:"fake" yaml:"fake"`
	Cost      float64  `json:"cost" yaml:"cost"`
}

// Step is one step of a plan. Step 0 needs no implementation.
type Step struct {
	Number    int      `json:"step" yaml:"step"`
	Implement []string `json:"implement" yaml:"implement"`
	// Stub and Fake are the syscalls newly stubbed or faked in this step
	// (including switches between the two, see Notes).
	Stub     []string      `json:"stub" yaml:"stub"`
	Fake     []string      `json:"fake" yaml:"fake"`
	Features *FeatureNeeds `json:"features,omitempty" yaml:"features,omitempty"`
	// PseudoFiles: implement = the OS must provide the file with its
	// content; stub = it may be absent (-ENOENT); fake = an empty file (or
	// directory) is enough.
	PseudoFiles *FeatureNeeds `json:"pseudo_files,omitempty" yaml:"pseudo_files,omitempty"`
	Unlocks     []Unlock      `json:"unlocks" yaml:"unlocks"`
	Notes       []string      `json:"notes,omitempty" yaml:"notes,omitempty"`
	Cost        float64       `json:"cost" yaml:"cost"`
	// Cumulative figures after this step.
	Implemented    int     `json:"implemented_total" yaml:"implemented_total"` // syscalls implemented by the plan so far
	CumulativeCost float64 `json:"cost_total" yaml:"cost_total"`
	Supported      int     `json:"supported_total" yaml:"supported_total"`
}

// FeatureNeeds lists sub-feature (or pseudo-file) decisions.
type FeatureNeeds struct {
	Implement []string `json:"implement,omitempty" yaml:"implement,omitempty"`
	Stub      []string `json:"stub,omitempty" yaml:"stub,omitempty"`
	Fake      []string `json:"fake,omitempty" yaml:"fake,omitempty"`
}

// Unlock is an application supported from this step on, with the stubs and
// fakes it relies on at that point.
type Unlock struct {
	App       string   `json:"app" yaml:"app"`
	Workloads []string `json:"workloads" yaml:"workloads"`
	Stub      []string `json:"stub,omitempty" yaml:"stub,omitempty"`
	Fake      []string `json:"fake,omitempty" yaml:"fake,omitempty"`
}

// bitset over the syscall index of one Compute call.
type bitset []uint64

func newSet(n int) bitset       { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) clear(i int)    { b[i/64] &^= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) clone() bitset  { return append(bitset(nil), b...) }
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

// Compute plans support for apps on os. Apps are taken in name order, which
// with the documented tie-breaks makes the plan deterministic.
func Compute(o *OS, apps []*App, w Workload, opt Options) *Plan {
	apps = append([]*App(nil), apps...)
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	idx := map[string]int{}
	var names []string
	addName := func(n string) {
		if _, ok := idx[n]; !ok {
			idx[n] = len(names)
			names = append(names, n)
		}
	}
	var osNames []string
	for n := range o.State {
		osNames = append(osNames, n)
	}
	sort.Slice(osNames, func(i, j int) bool { return dataset.SyscallLess(osNames[i], osNames[j]) })
	for _, n := range osNames {
		addName(n)
	}
	for _, a := range apps {
		var ks []string
		for k := range a.Syscalls {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(i, j int) bool { return dataset.SyscallLess(ks[i], ks[j]) })
		for _, k := range ks {
			addName(k)
		}
	}
	n := len(names)
	p := &planner{names: names, idx: idx, n: n, cost: make([]float64, n), namesFiles: make([]bool, n)}
	for i, nm := range names {
		if nr, ok := abiSyscalls.Number(nm); ok && abiPseudoFiles.Paths(nr) != nil {
			p.namesFiles[i] = true
		}
		p.cost[i] = 1
		if c, ok := opt.Costs[nm]; ok {
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
	s := &state{impl: newSet(n), stub: newSet(n), fake: newSet(n), allowStub: newSet(n), allowFake: newSet(n), done: make([]bool, len(apps))}
	for i := range s.allowStub {
		s.allowStub[i], s.allowFake[i] = ^uint64(0), ^uint64(0)
	}
	for nm, a := range o.State {
		switch a {
		case Implemented:
			s.impl.set(idx[nm])
		case Stubbed:
			s.stub.set(idx[nm])
		case Faked:
			s.fake.set(idx[nm])
		}
	}
	initial := s.clone()

	kind := KindLoupe
	if opt.Naive {
		kind = KindNaive
	}
	pl := &Plan{Schema: Schema, Kind: kind, Objective: Objective, OS: o.Name, Workload: string(w), Apps: len(apps),
		OSState: OSCounts{o.Count(Implemented), o.Count(Stubbed), o.Count(Faked)}}
	for _, a := range apps {
		if len(a.Ignored) > 0 {
			pl.Warnings = append(pl.Warnings, a.Name+": planned from "+strings.Join(a.Workloads, ", ")+
				" only; not usable: "+strings.Join(a.Ignored, "; "))
		}
	}
	pl.Warnings = append(pl.Warnings, o.Warnings...)
	since := map[int]int{} // syscall -> step it was stubbed/faked
	prevFeat := map[string]string{}
	total, implemented := 0.0, 0
	record := func(num int, impl bitset, cost float64, unlocked []int, ch change) {
		st := Step{Number: num, Cost: cost}
		var implNames []string
		impl.each(func(x int) {
			implNames = append(implNames, names[x])
			implemented++
			if k, ok := since[x]; ok {
				st.Notes = append(st.Notes, names[x]+": stub/fake from step "+itoa(k)+" replaced by the implementation")
				delete(since, x)
			}
		})
		st.Implement = sortSys(implNames)
		for _, x := range dedup(ch.toStub) {
			if s.stub.has(x) {
				st.Stub = append(st.Stub, names[x])
				if _, ok := since[x]; ok {
					st.Notes = append(st.Notes, names[x]+": faked since step "+itoa(since[x])+", now stubbed (every supported app accepts -ENOSYS)")
				}
				since[x] = num
			}
		}
		for _, x := range dedup(ch.toFake) {
			if s.fake.has(x) {
				st.Fake = append(st.Fake, names[x])
				if _, ok := since[x]; ok {
					st.Notes = append(st.Notes, names[x]+": stubbed since step "+itoa(since[x])+", now faked (every supported app accepts success)")
				}
				since[x] = num
			}
		}
		st.Stub, st.Fake = sortSys(st.Stub), sortSys(st.Fake)
		sort.Strings(st.Notes)
		sort.Slice(unlocked, func(i, j int) bool { return apps[unlocked[i]].Name < apps[unlocked[j]].Name })
		for _, a := range unlocked {
			u := Unlock{App: apps[a].Name, Workloads: apps[a].Workloads}
			p.apps[a].used.each(func(x int) {
				switch {
				case s.stub.has(x):
					u.Stub = append(u.Stub, names[x])
				case s.fake.has(x):
					u.Fake = append(u.Fake, names[x])
				}
			})
			u.Stub, u.Fake = sortSys(u.Stub), sortSys(u.Fake)
			if len(u.Stub) == 0 {
				u.Stub = nil
			}
			if len(u.Fake) == 0 {
				u.Fake = nil
			}
			st.Unlocks = append(st.Unlocks, u)
		}
		st.Features, st.PseudoFiles = featureDiff(p, s, apps, prevFeat)
		total += cost
		st.CumulativeCost = total
		st.Implemented = implemented
		st.Supported = len(s.supported)
		pl.Steps = append(pl.Steps, st)
	}

	unlocked, ch := p.closure(s, -1)
	record(0, newSet(n), 0, unlocked, ch)
	for num := 1; ; num++ {
		c := p.choose(s)
		if c == nil {
			break
		}
		cost := p.implement(s, c.impl)
		unlocked, ch := p.closure(s, c.app)
		record(num, c.impl, cost, unlocked, ch)
	}

	for x := 0; x < n; x++ {
		switch {
		case s.impl.has(x) && !initial.impl.has(x):
			pl.Work.Implement = append(pl.Work.Implement, names[x])
			pl.Work.Cost += p.cost[x]
		case s.stub.has(x) && !initial.stub.has(x):
			pl.Work.Stub = append(pl.Work.Stub, names[x])
		case s.fake.has(x) && !initial.fake.has(x):
			pl.Work.Fake = append(pl.Work.Fake, names[x])
		}
	}
	pl.Work.Implement, pl.Work.Stub, pl.Work.Fake = sortSys(pl.Work.Implement), sortSys(pl.Work.Stub), sortSys(pl.Work.Fake)
	return pl
}

// featureDiff returns the sub-feature and pseudo-file decisions that the
// supported apps need and that no earlier step listed. A sub-feature counts
// once its syscall is implemented (a stubbed or faked syscall never runs, so
// its sub-features do not matter). A pseudo-file counts for an app once one
// of the file-naming syscalls it uses (open, openat, stat, ...) is
// implemented. Decisions only move towards "implement": the combined
// evidence of more apps can only accept less.
func featureDiff(p *planner, s *state, apps []*App, prev map[string]string) (feat, pseudo *FeatureNeeds) {
	comb := map[string]dataset.State{}
	add := func(m map[string]dataset.State) {
		for k, st := range m {
			if old, ok := comb[k]; ok {
				st = dataset.Combine(old, st)
			}
			comb[k] = st
		}
	}
	for _, a := range s.supported {
		add(apps[a].Features)
		if len(apps[a].PseudoFiles) > 0 && p.opensFiles(s, a) {
			add(apps[a].PseudoFiles)
		}
	}
	keys := make([]string, 0, len(comb))
	for k := range comb {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var fn, pn FeatureNeeds
	for _, k := range keys {
		out := &pn
		if !strings.HasPrefix(k, "/") {
			out = &fn
			sys, _, _ := strings.Cut(k, ":")
			x, ok := p.idx[sys]
			if !ok || !s.impl.has(x) {
				continue // the whole syscall is stubbed/faked or absent
			}
		}
		var act string
		switch comb[k].Class() {
		case dataset.ClassStub, dataset.ClassBoth:
			act = "stub"
		case dataset.ClassFake:
			act = "fake"
		default:
			act = "implement"
		}
		if prev[k] == act {
			continue
		}
		prev[k] = act
		switch act {
		case "stub":
			out.Stub = append(out.Stub, k)
		case "fake":
			out.Fake = append(out.Fake, k)
		default:
			out.Implement = append(out.Implement, k)
		}
	}
	nilIfEmpty := func(f *FeatureNeeds) *FeatureNeeds {
		if len(f.Implement)+len(f.Stub)+len(f.Fake) == 0 {
			return nil
		}
		return f
	}
	return nilIfEmpty(&fn), nilIfEmpty(&pn)
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

func sortSys(s []string) []string {
	sort.Slice(s, func(i, j int) bool { return dataset.SyscallLess(s[i], s[j]) })
	if s == nil {
		return []string{}
	}
	return s
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

func itoa(i int) string { return strconv.Itoa(i) }

// Auto builds the apps and computes the plan. It is the loupe plan unless
// naive is set or no application has analyze evidence while some have
// trace evidence; then it is the naive plan, with a warning saying why.
func Auto(o *OS, entries []dataset.Entry, w Workload, only []string, costs map[string]float64, naive bool) *Plan {
	apps, nodata := Apps(entries, w, naive, only)
	var warn string
	if !naive && len(apps) == 0 {
		if napps, nnd := Apps(entries, w, true, only); len(napps) > 0 {
			apps, nodata, naive = napps, nnd, true
			warn = "no application has analyze (stub/fake) evidence: this is the naive plan from traced syscalls"
		}
	}
	p := Compute(o, apps, w, Options{Costs: costs, Naive: naive})
	p.NoData = nodata
	if warn != "" {
		p.Warnings = append(p.Warnings, warn)
	}
	return p
}
