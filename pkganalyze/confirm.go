package pkganalyze

import (
	"context"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// combination is the set of interventions the confirmation applies: every
// unit that holds, with its preferred action. A syscall with a required
// sub-feature is required (propagate), so it is not applied as a whole; its
// sub-features that hold are applied instead. A sub-feature whose syscall is
// itself stubbed or faked is left out: the syscall's rule already covers it.
// Demotions change both, so the set is recomputed every round.
func (e *engine) combination() []Intervention {
	var set []Intervention
	needed := map[string]bool{} // syscalls with a required sub-feature
	for _, u := range e.units {
		if KindOf(u.key) == UnitFeature && u.works() == "" {
			needed[ParentSyscall(u.key)] = true
		}
	}
	whole := map[string]bool{}
	for _, u := range e.units {
		if KindOf(u.key) == UnitSyscall && u.works() != "" && !needed[u.key] {
			whole[u.key] = true
		}
	}
	for _, u := range e.units {
		a := u.works()
		switch {
		case a == "":
			continue
		case KindOf(u.key) == UnitSyscall && needed[u.key]:
			continue
		case KindOf(u.key) == UnitFeature && whole[ParentSyscall(u.key)]:
			continue
		}
		set = append(set, Intervention{u.key, a})
	}
	return sortInterventions(set)
}

// confirm runs the combination N times. When it fails, a culprit search
// (ddmin) finds a 1-minimal failing subset, one of its units is demoted to
// required and recorded as a conflict, and the smaller combination is
// confirmed again. Each round demotes one unit, so this ends.
func (e *engine) confirm(ctx context.Context) error {
	return e.confirmRounds(ctx, e.n, "")
}

// confirmRounds is confirm with the given number of replicas per round
// (the adaptive strategy also runs it over the first replica alone); what
// names the rounds in the log.
func (e *engine) confirmRounds(ctx context.Context, replicas int, what string) error {
	for round := 1; ; round++ {
		set := e.combination()
		if len(set) == 0 {
			return nil
		}
		e.logf("loupe: %sconfirmation round %d: %d rules at once", what, round, len(set))
		c := &chain{spec: RunSpec{Kind: KindConfirmation, Interventions: set, Timeout: e.timeout}, n: replicas, stopOnFail: true}
		if what == "" {
			e.setPhase("confirmation", chainsLeft([]*chain{c}))
		}
		if err := e.runChains(ctx, []*chain{c}); err != nil {
			return err
		}
		if c.passed() {
			if what == "" {
				e.confirmed = c.outs
			}
			return nil
		}
		e.logf("loupe: confirmation failed (%s): searching for the culprits", c.outs[c.failedAt()].Describe())
		culprits, err := e.ddmin(ctx, set)
		if err != nil {
			return err
		}
		d := e.pickDemoted(culprits)
		u := e.byKey[d.Feature]
		u.demoted = true
		conf := conflictOf(culprits, d)
		if len(culprits) == 1 {
			u.confFlaky = true
			conf.Flaky = true
		}
		for _, x := range culprits {
			if x.Feature != d.Feature {
				u.confWith = append(u.confWith, x.Feature)
			}
		}
		e.conflicts = append(e.conflicts, conf)
		e.logf("loupe: conflict among %s: %s demoted to required", interventionsString(culprits), d.Feature)
	}
}

func conflictOf(culprits []Intervention, d Intervention) (c verdict.Conflict) {
	for _, x := range culprits {
		c.Features = append(c.Features, x.Feature)
		c.Interventions = append(c.Interventions, x.String())
	}
	c.Demoted = []string{d.Feature}
	return c
}

// pickDemoted chooses which unit of a failing set becomes required: the one
// the binaries call most in the baseline (an OS gets most from implementing
// it), then the first by key. Any one suffices: the set is 1-minimal.
func (e *engine) pickDemoted(set []Intervention) Intervention {
	best := set[0]
	for _, x := range set[1:] {
		if e.byKey[x.Feature].calls > e.byKey[best.Feature].calls {
			best = x
		}
	}
	return best
}

// ddmin is Zeller's delta debugging minimisation: it returns a subset of set
// that fails when applied alone and passes with any one unit removed (as far
// as single probes can tell). set is known to fail. Each probe is one run
// (kind culprit); the final word stays with the N-replica confirmation that
// follows. The probes of one step are run as a batch so that --jobs can run
// them together; a batch is always run whole, so the runs made do not depend
// on the number of jobs.
func (e *engine) ddmin(ctx context.Context, set []Intervention) ([]Intervention, error) {
	c := set
	n := 2
	for len(c) >= 2 {
		chunks := split(c, n)
		fail, err := e.probe(ctx, chunks)
		if err != nil {
			return nil, err
		}
		if fail >= 0 {
			c, n = chunks[fail], 2
			continue
		}
		if n > 2 {
			comps := make([][]Intervention, len(chunks))
			for i := range chunks {
				comps[i] = complement(c, chunks[i])
			}
			fail, err := e.probe(ctx, comps)
			if err != nil {
				return nil, err
			}
			if fail >= 0 {
				c, n = comps[fail], max(n-1, 2)
				continue
			}
		}
		if n >= len(c) {
			break
		}
		n = min(2*n, len(c))
	}
	return c, nil
}

// probe runs each set once and returns the index of the first that failed,
// or -1.
func (e *engine) probe(ctx context.Context, sets [][]Intervention) (int, error) {
	chains := make([]*chain, len(sets))
	for i, s := range sets {
		chains[i] = &chain{spec: RunSpec{Kind: KindCulprit, Interventions: s, Timeout: e.timeout}, n: 1}
	}
	if err := e.runChains(ctx, chains); err != nil {
		return -1, err
	}
	for i, c := range chains {
		if !c.passed() {
			return i, nil
		}
	}
	return -1, nil
}

// split cuts c into n nearly equal consecutive parts.
func split(c []Intervention, n int) [][]Intervention {
	out := make([][]Intervention, 0, n)
	start := 0
	for i := 0; i < n; i++ {
		end := start + (len(c)-start)/(n-i)
		out = append(out, c[start:end])
		start = end
	}
	return out
}

func complement(c, part []Intervention) []Intervention {
	skip := map[string]bool{}
	for _, x := range part {
		skip[x.Feature] = true
	}
	var out []Intervention
	for _, x := range c {
		if !skip[x.Feature] {
			out = append(out, x)
		}
	}
	return out
}
