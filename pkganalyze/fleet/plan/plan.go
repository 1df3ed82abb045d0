package plan

import (
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

// Compute plans support for apps on os. Apps are taken in name order, which
// with the documented tie-breaks makes the plan deterministic.
func Compute(o *OS, apps []*App, w Workload, opt Options) *Plan {
	apps = append([]*App(nil), apps...)
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	p := newPlanner(o, apps, opt.Costs)
	s := p.start(o)
	initial := s.clone()
	r := &recorder{p: p, s: s, apps: apps, plan: newPlan(o, apps, w, opt.Naive), since: map[int]int{}, prevFeat: map[string]string{}}
	// Step 0 supports what needs no implementation; then each step
	// implements what the best candidate needs.
	unlocked, ch := p.closure(s, -1)
	r.record(0, newSet(p.n), 0, unlocked, ch)
	for num := 1; ; num++ {
		c := p.choose(s)
		if c == nil {
			break
		}
		cost := p.implement(s, c.impl)
		unlocked, ch := p.closure(s, c.app)
		r.record(num, c.impl, cost, unlocked, ch)
	}
	r.plan.Work = p.work(initial, s)
	return r.plan
}

// newPlan is the plan's header: what is planned for, and the warnings of
// the OS file and of apps planned from part of their workloads.
func newPlan(o *OS, apps []*App, w Workload, naive bool) *Plan {
	kind := KindLoupe
	if naive {
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
	return pl
}

// recorder writes the plan's steps as the planner takes them.
type recorder struct {
	p           *planner
	s           *state
	apps        []*App
	plan        *Plan
	since       map[int]int // syscall -> the step that stubbed or faked it
	prevFeat    map[string]string
	total       float64
	implemented int
}

// record writes step num: what it implements (at cost), stubs and fakes
// (ch), and the apps it unlocks.
func (r *recorder) record(num int, impl bitset, cost float64, unlocked []int, ch change) {
	st := Step{Number: num, Cost: cost}
	r.changes(&st, impl, ch)
	st.Unlocks = r.unlocks(unlocked)
	st.Features, st.PseudoFiles = featureDiff(r.p, r.s, r.apps, r.prevFeat)
	r.total += cost
	st.CumulativeCost = r.total
	st.Implemented = r.implemented
	st.Supported = len(r.s.supported)
	r.plan.Steps = append(r.plan.Steps, st)
}

// changes fills in what step st implements, stubs and fakes, with notes
// on stubs and fakes replaced or switched.
func (r *recorder) changes(st *Step, impl bitset, ch change) {
	names, s, since := r.p.names, r.s, r.since
	var implNames []string
	impl.each(func(x int) {
		implNames = append(implNames, names[x])
		r.implemented++
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
			since[x] = st.Number
		}
	}
	for _, x := range dedup(ch.toFake) {
		if s.fake.has(x) {
			st.Fake = append(st.Fake, names[x])
			if _, ok := since[x]; ok {
				st.Notes = append(st.Notes, names[x]+": stubbed since step "+itoa(since[x])+", now faked (every supported app accepts success)")
			}
			since[x] = st.Number
		}
	}
	st.Stub, st.Fake = sortSys(st.Stub), sortSys(st.Fake)
	sort.Strings(st.Notes)
}

// unlocks says, for each app unlocked, what it runs with stubbed or faked.
func (r *recorder) unlocks(unlocked []int) []Unlock {
	apps, s := r.apps, r.s
	sort.Slice(unlocked, func(i, j int) bool { return apps[unlocked[i]].Name < apps[unlocked[j]].Name })
	var out []Unlock
	for _, a := range unlocked {
		u := Unlock{App: apps[a].Name, Workloads: apps[a].Workloads}
		r.p.apps[a].used.each(func(x int) {
			switch {
			case s.stub.has(x):
				u.Stub = append(u.Stub, r.p.names[x])
			case s.fake.has(x):
				u.Fake = append(u.Fake, r.p.names[x])
			}
		})
		u.Stub, u.Fake = sortSys(u.Stub), sortSys(u.Fake)
		if len(u.Stub) == 0 {
			u.Stub = nil
		}
		if len(u.Fake) == 0 {
			u.Fake = nil
		}
		out = append(out, u)
	}
	return out
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

func sortSys(s []string) []string {
	sort.Slice(s, func(i, j int) bool { return dataset.SyscallLess(s[i], s[j]) })
	if s == nil {
		return []string{}
	}
	return s
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
