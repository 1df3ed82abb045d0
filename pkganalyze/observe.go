package pkganalyze

import (
	"fmt"
	"sort"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// observation is what the baseline runs saw, merged over replicas.
type observation struct {
	replicas int
	bins     []*binObs // sorted by path
}

type binObs struct {
	path, interpreter, buildID, sha256 string
	processes                          int
	syscalls                           map[string]*useObs
	features                           map[string]*useObs
	pseudo                             map[string]*useObs
	rss                                []uint64 // per baseline replica that ran it
	fds                                []int
}

// useObs is one key's use by one binary over the baseline replicas.
type useObs struct {
	number   int    // syscalls only
	calls    uint64 // the largest count in one replica
	replicas int    // how many replicas used it
}

func observe(outs []Outcome, gran verdict.Granularity) *observation {
	ob := &observation{replicas: len(outs)}
	byPath := map[string]*binObs{}
	add := func(m map[string]*useObs, key string, number int, calls uint64) {
		u := m[key]
		if u == nil {
			u = &useObs{number: number}
			m[key] = u
		}
		u.calls = max(u.calls, calls)
		u.replicas++
	}
	for _, o := range outs {
		for _, b := range o.Binaries {
			bo := byPath[b.Path]
			if bo == nil {
				bo = &binObs{path: b.Path, interpreter: b.Interpreter, buildID: b.BuildID, sha256: b.SHA256,
					syscalls: map[string]*useObs{}, features: map[string]*useObs{}, pseudo: map[string]*useObs{}}
				byPath[b.Path] = bo
				ob.bins = append(ob.bins, bo)
			}
			bo.processes = max(bo.processes, b.Processes)
			bo.rss = append(bo.rss, b.PeakRSSKB)
			bo.fds = append(bo.fds, b.MaxFDs)
			for _, s := range b.Syscalls {
				add(bo.syscalls, s.Name, s.Number, s.Calls)
			}
			if gran == verdict.GranFeatures || gran == verdict.GranPseudoFiles {
				for _, f := range b.Features {
					add(bo.features, f.Key, 0, f.Calls)
				}
			}
			if gran == verdict.GranPseudoFiles {
				for _, f := range b.PseudoFiles {
					add(bo.pseudo, f.Key, 0, f.Calls)
				}
			}
		}
	}
	sort.Slice(ob.bins, func(i, j int) bool { return ob.bins[i].path < ob.bins[j].path })
	return ob
}

// unit is one experiment unit and what the method concluded about it.
type unit struct {
	key      string
	calls    uint64 // largest count in one baseline replica, over binaries
	replicas int    // baseline replicas in which some binary used it
	chains   map[Action]*chain
	stub     actionResult
	fake     actionResult
	// demoted by the confirmation; confFlaky when it failed alone there.
	demoted   bool
	confFlaky bool
	confWith  []string
}

// works is the action the confirmation applies: stub when it holds (it is
// the cheaper thing for an OS to provide), else fake, else "".
func (u *unit) works() Action {
	switch {
	case u.demoted:
		return ""
	case u.stub.ok != nil && *u.stub.ok:
		return Stub
	case u.fake.ok != nil && *u.fake.ok:
		return Fake
	}
	return ""
}

func makeUnits(ob *observation) ([]*unit, map[string]*unit) {
	by := map[string]*unit{}
	perReplica := map[string]int{}
	for _, b := range ob.bins {
		for _, m := range []map[string]*useObs{b.syscalls, b.features, b.pseudo} {
			for k, u := range m {
				x := by[k]
				if x == nil {
					x = &unit{key: k, chains: map[Action]*chain{}}
					by[k] = x
				}
				x.calls = max(x.calls, u.calls)
				perReplica[k] = max(perReplica[k], u.replicas)
			}
		}
	}
	units := make([]*unit, 0, len(by))
	for _, k := range sortedKeys(by) {
		by[k].replicas = perReplica[k]
		units = append(units, by[k])
	}
	return units, by
}

// actionResult is the verdict on one unit under one action.
type actionResult struct {
	ok       *bool // nil: untested (never exercised)
	flaky    bool
	evidence []string
}

// decide turns the replicas of one experiment into a verdict. Only run
// outcomes enter it, in replica order, so it is the same after a resume
// and whatever the number of jobs.
func decide(key string, a Action, c *chain, n int) actionResult {
	var r actionResult
	hit := func(o Outcome) bool { return o.RuleHits[key] > 0 }
	if fa := c.failedAt(); fa >= 0 {
		r.ok = verdict.Bool(false)
		o := c.outs[fa]
		if fa > 0 {
			r.flaky = true
			r.evidence = append(r.evidence, fmt.Sprintf("%s: replica %d of %d %s after %d passed", a, fa+1, n, o.Describe(), fa))
		}
		switch {
		case !hit(o):
			r.flaky = true
			r.evidence = append(r.evidence, fmt.Sprintf("%s: replica %d %s although the rule never fired: the workload failed on its own", a, fa+1, o.Describe()))
		case o.TimedOut:
			r.evidence = append(r.evidence, fmt.Sprintf("%s: replica %d timed out (counted as a failure)", a, fa+1))
		}
		return r
	}
	exercised := 0
	for _, o := range c.outs {
		if hit(o) {
			exercised++
		}
	}
	switch {
	case exercised == 0:
		r.evidence = append(r.evidence, fmt.Sprintf("%s: untested: the rule never fired in %d passing replicas (%s was not used in those runs)", a, len(c.outs), key))
	case exercised < len(c.outs):
		r.ok = verdict.Bool(true)
		r.evidence = append(r.evidence, fmt.Sprintf("%s: exercised in %d of %d passing replicas", a, exercised, len(c.outs)))
	default:
		r.ok = verdict.Bool(true)
	}
	return r
}
