package pkganalyze

import (
	"context"
	"fmt"
	"math"
	"sort"
)

// The adaptive strategy (doc.go, "Strategies") decides, for every unit and
// action, exactly what the exhaustive strategy decides from the unit's N
// replicas alone, but reads each replica off the cheapest run that can
// stand for it: at replica r, a passing run that applied the unit (its rule
// fired) together with others stands for the unit's own run at r. Groups
// that fail are split until the units that fail alone are found; those are
// then decided by their own run, as in the exhaustive strategy.

// Tuning of the search. Both only change which runs are made, never a
// verdict (bench/analyze measures them; doc/analyze.md, "Strategies").
const (
	// soloRate: pairs at least this likely to fail are tested alone at
	// replica 0. Splitting a failed group costs about two runs per
	// halving, so above this rate grouping costs more than it saves.
	soloRate = 0.25
	// groupOdds bounds a first-replica group's summed -ln(1-q): a group
	// is expected to pass at least a third of the time (e^-1). Measured on
	// upstream's analyses replayed (TestLoupeDBReplay), the run count is
	// flat between ln 2 and 1.5, and between soloRate 0.2 and 0.4.
	groupOdds = 1.0
	// bothFail: a pair at least this likely to fail is tested in the first
	// stage even when it is not its unit's lead (both actions of a
	// required unit fail: waiting for one to test the other gains nothing).
	bothFail = 0.7
)

// pair is one unit and action of the adaptive search. Its chain (the
// unit's chains[a]) holds, per replica, the outcome of the run that decided
// it at that replica; grouped[r] says whether that run applied other units.
type pair struct {
	u  *unit
	a  Action
	q  float64 // failure rate: the prior, revised as outcomes come in
	q0 float64 // the prior
	c  *chain
	// suspect: it was in a group that failed for no unit's own failure;
	// from then on it is decided alone (runBatch).
	suspect bool
}

func (p *pair) iv() Intervention { return Intervention{p.u.key, p.a} }

func (p *pair) failed() bool { return p.c.failedAt() >= 0 }

// exercised reports whether the pair's rule fired in a run that decided it.
func (p *pair) exercised() bool {
	for _, o := range p.c.outs {
		if o.RuleHits[p.u.key] > 0 {
			return true
		}
	}
	return false
}

// weight is the pair's share of a group's failure odds at replica r: from
// the prior at the first replica; equal for all later (every pending pair
// passed before).
func (p *pair) weight(r int) float64 {
	if r > 0 {
		return 1
	}
	return -math.Log1p(-p.q)
}

// credit records o as the pair's outcome at replica r.
func (p *pair) credit(r int, o Outcome, grouped bool) error {
	if len(p.c.outs) != r {
		return fmt.Errorf("internal error: %s decided twice at replica %d", p.iv(), r+1)
	}
	p.c.outs = append(p.c.outs, o)
	p.c.grouped = append(p.c.grouped, grouped)
	return nil
}

// prior is the failure rate the priors give, kept away from 0 and 1.
func (e *engine) prior(key string, a Action) float64 {
	if e.cfg.Priors == nil {
		return 0.5
	}
	return clampRate(e.cfg.Priors.FailureRate(key, string(a)))
}

// clampRate keeps a rate away from 0 and 1 (weights are -ln(1-q)).
func clampRate(q float64) float64 { return min(max(q, 0.001), 0.999) }

// adaptive runs the experiments and the confirmation of the adaptive
// strategy, leaving in every unit the verdicts (stub, fake, demotion) the
// exhaustive strategy would reach on a workload whose runs fail exactly
// when one of the applied units fails alone (doc/analyze.md).
func (e *engine) adaptive(ctx context.Context) error {
	var pairs []*pair
	for _, u := range e.units {
		for _, a := range []Action{Stub, Fake} {
			c := &chain{spec: RunSpec{Kind: KindExperiment, Interventions: []Intervention{{u.key, a}}, Timeout: e.timeout},
				n: e.n, stopOnFail: true}
			u.chains[a] = c
			q := e.prior(u.key, a)
			pairs = append(pairs, &pair{u: u, a: a, c: c, q: q, q0: q})
		}
	}
	e.setPhase("experiments", func() int { return adaptiveLeft(pairs, e.n) })
	for r := 0; r < e.n; r++ {
		var pending []*pair
		for _, p := range pairs {
			if !p.failed() {
				pending = append(pending, p)
			}
		}
		if len(pending) == 0 {
			break
		}
		var err error
		if r == 0 {
			err = e.screenFirst(ctx, pending)
		} else {
			err = e.screenAgain(ctx, r, pending)
		}
		if err != nil {
			return err
		}
		for _, p := range pending {
			if len(p.c.outs) != r+1 {
				return fmt.Errorf("internal error: %s undecided at replica %d", p.iv(), r+1)
			}
		}
		e.decideAll()
		if r == 0 && e.n > 1 {
			// Conflicts show at the first replica: resolve them now, so
			// that later replicas do not run a failing combination again.
			// The confirmation below redoes these rounds from scratch,
			// from the runs made here.
			if err := e.confirmRounds(ctx, 1, "first-replica "); err != nil {
				return err
			}
		}
	}
	e.resetConfirmation()
	e.decideAll()
	return e.confirm(ctx)
}

// decideAll turns every unit's chains into verdicts (partial chains give
// the verdicts so far).
func (e *engine) decideAll() {
	for _, u := range e.units {
		u.stub = decide(u.key, Stub, u.chains[Stub], e.n)
		u.fake = decide(u.key, Fake, u.chains[Fake], e.n)
	}
}

// resetConfirmation forgets demotions and conflicts, so that the final
// confirmation starts from the experiments' verdicts like the exhaustive
// strategy's.
func (e *engine) resetConfirmation() {
	for _, u := range e.units {
		u.demoted, u.confFlaky, u.confWith = false, false, nil
	}
	e.conflicts = nil
}

// screenFirst decides every pair at replica 0, in two batches. The first
// runs alone every pair likely to fail: both actions of a unit likely to be
// required, and the action more likely to hold (the unit's lead) when even
// that one is likely to fail. The second decides the rest, with failure
// rates revised by those outcomes: the other action of each unit gets the
// rate given its lead's outcome (stubbing and faking mostly fail together),
// and every rate is shifted by how this workload compared with the priors
// (calibrate). Those still likely to fail run alone; the others run in
// groups: the combination the confirmation will apply if every grouped pair
// holds (its first replica, if it passes), and the rest.
func (e *engine) screenFirst(ctx context.Context, pending []*pair) error {
	lead := map[*unit]*pair{}
	for _, p := range pending {
		if l := lead[p.u]; l == nil || p.q < l.q {
			lead[p.u] = p
		}
	}
	var first, second []*pair
	for _, p := range pending {
		if p.q >= bothFail || (lead[p.u] == p && p.q >= soloRate) {
			first = append(first, p)
		} else {
			second = append(second, p)
		}
	}
	var jobs []*job
	for _, p := range first {
		jobs = append(jobs, e.groupJob(0, []*pair{p}, nil))
	}
	e.logf("loupe: replica 1: %d interventions likely to fail, alone", len(first))
	if err := e.runBatch(ctx, 0, jobs); err != nil {
		return err
	}

	theta := calibrate(pending)
	for _, p := range second {
		l := lead[p.u]
		if l != p && e.cfg.Priors != nil {
			// The lead's outcome if it ran (and its rule fired), else the
			// likely one: it will run in a group, so it likely holds.
			held := true
			if len(l.c.outs) > 0 && l.c.outs[0].RuleHits[l.u.key] > 0 {
				held = l.c.outs[0].Pass
			}
			p.q = clampRate(e.cfg.Priors.FailureRateGiven(p.u.key, string(p.a), held))
		}
		p.q = shiftRate(p.q, theta)
	}
	var lone, grouped []*pair
	for _, p := range second {
		if p.q >= soloRate {
			lone = append(lone, p)
		} else {
			grouped = append(grouped, p)
		}
	}
	// The combination, assuming every grouped pair holds.
	e.decideAll()
	untested := map[Intervention]bool{}
	for _, p := range grouped {
		untested[p.iv()] = true
		if p.a == Stub {
			p.u.stub = actionResult{ok: boolPtr(true)}
		} else {
			p.u.fake = actionResult{ok: boolPtr(true)}
		}
	}
	byIV := map[Intervention]*pair{}
	for _, p := range pending {
		byIV[p.iv()] = p
	}
	var inA, known, rest []*pair
	for _, iv := range e.combination() {
		p := byIV[iv]
		switch {
		case p == nil:
		case untested[iv]:
			inA = append(inA, p)
			delete(untested, iv)
		default:
			known = append(known, p) // passed in the first batch
		}
	}
	for _, p := range grouped {
		if untested[p.iv()] {
			rest = append(rest, p)
		}
	}
	e.decideAll()
	jobs = nil
	for _, p := range lone {
		jobs = append(jobs, e.groupJob(0, []*pair{p}, nil))
	}
	if a := partition(inA, 0, groupOdds); len(a) == 1 {
		// The whole combination in one run: the confirmation's first
		// replica, if it passes.
		jobs = append(jobs, e.groupJob(0, a[0], known))
	} else {
		for _, g := range a {
			jobs = append(jobs, e.groupJob(0, g, nil))
		}
	}
	restGroups := partition(rest, 0, groupOdds)
	for _, g := range restGroups {
		jobs = append(jobs, e.groupJob(0, g, nil))
	}
	e.logf("loupe: replica 1: %d more alone, the likely combination (%d untested rules), %d more in %d groups",
		len(lone), len(inA), len(rest), len(restGroups))
	return e.runBatch(ctx, 0, jobs)
}

// screenAgain decides every pending pair at replica r > 0, when each has
// passed every earlier replica: the combination in one run (the
// confirmation's replica r, if it passes), the other pairs in as few groups
// as can hold them. Pairs whose rule never fired so far run alone: a group
// could not tell whether their rule would fire.
func (e *engine) screenAgain(ctx context.Context, r int, pending []*pair) error {
	byIV := map[Intervention]*pair{}
	for _, p := range pending {
		byIV[p.iv()] = p
	}
	var jobs []*job
	var comb, rest []*pair
	inComb := map[Intervention]bool{}
	for _, iv := range e.combination() {
		if p := byIV[iv]; p != nil && p.exercised() && !p.suspect {
			comb = append(comb, p)
			inComb[iv] = true
		}
	}
	if len(comb) > 0 {
		jobs = append(jobs, e.groupJob(r, comb, nil))
	}
	lone := 0
	for _, p := range pending {
		switch {
		case inComb[p.iv()]:
		case !p.exercised() || p.suspect:
			jobs = append(jobs, e.groupJob(r, []*pair{p}, nil))
			lone++
		default:
			rest = append(rest, p)
		}
	}
	groups := partition(rest, r, math.Inf(1))
	for _, g := range groups {
		jobs = append(jobs, e.groupJob(r, g, nil))
	}
	e.logf("loupe: replica %d: the combination (%d rules), %d more in %d groups, %d alone (never exercised, or suspects)",
		r+1, len(comb), len(rest), len(groups), lone)
	return e.runBatch(ctx, r, jobs)
}

// runBatch runs the jobs of one replica. A group that failed although none
// of its units failed alone (every part passed) hides an interaction among
// them or a unit that fails only sometimes; a failure of any run applying a
// unit counts against it in the exhaustive strategy, so the adaptive one
// cannot take the parts' passes for the units' own replicas. Its units
// become suspects: they are decided alone, at this replica and every later
// one, as the exhaustive strategy decides every unit.
func (e *engine) runBatch(ctx context.Context, r int, jobs []*job) error {
	e.failedGroups = e.failedGroups[:0]
	if err := e.runJobs(ctx, jobs); err != nil {
		return err
	}
	if e.internalErr != nil {
		return e.internalErr
	}
	var notes []string
	var suspects []*pair
	for _, g := range e.failedGroups {
		bad := false
		for _, p := range g {
			bad = bad || (len(p.c.outs) > r && !p.c.outs[r].Pass)
		}
		if bad {
			continue
		}
		ivs := make([]Intervention, len(g))
		for i, p := range g {
			ivs[i] = p.iv()
			if !p.suspect {
				p.suspect = true
				suspects = append(suspects, p)
			}
		}
		notes = append(notes, fmt.Sprintf("replica %d: %s failed together although each passed in a smaller run (an interaction, or a unit or workload that fails only sometimes): each was then tested alone",
			r+1, interventionsString(sortInterventions(ivs))))
	}
	// Groups fail in the order runs finish: sort, for determinism.
	sort.Strings(notes)
	e.unexplained = append(e.unexplained, notes...)
	if len(suspects) == 0 {
		return nil
	}
	sort.Slice(suspects, func(i, j int) bool { return suspects[i].iv().String() < suspects[j].iv().String() })
	jobs = jobs[:0]
	for _, p := range suspects {
		if len(p.c.outs) == r+1 && p.c.grouped[r] {
			p.c.outs, p.c.grouped = p.c.outs[:r], p.c.grouped[:r]
			jobs = append(jobs, e.groupJob(r, []*pair{p}, nil))
		}
	}
	return e.runBatch(ctx, r, jobs)
}

// groupJob runs members (and known, pairs already decided at replica r that
// make the run identical to a confirmation) at replica r. A pass decides
// every member whose rule fired; members whose rule did not fire are run
// alone. A failure of one member alone decides it; otherwise the members
// are split (halves).
func (e *engine) groupJob(r int, members, known []*pair) *job {
	all := append(append([]*pair{}, members...), known...)
	ivs := make([]Intervention, len(all))
	for i, p := range all {
		ivs[i] = p.iv()
	}
	kind := KindGroup
	if len(all) == 1 {
		kind = KindExperiment
	}
	spec := RunSpec{Kind: kind, Interventions: ivs, Replica: r, Timeout: e.timeout}
	return &job{prio: 0, spec: spec, then: func(o Outcome) []*job {
		if o.Pass {
			var again []*job
			for _, p := range members {
				if len(all) > 1 && o.RuleHits[p.u.key] == 0 {
					again = append(again, e.groupJob(r, []*pair{p}, nil))
					continue
				}
				e.creditOr(p, r, o, len(all) > 1)
			}
			return again
		}
		switch {
		case len(all) == 1:
			e.creditOr(members[0], r, o, false)
			return nil
		case len(members) == 1:
			return []*job{e.groupJob(r, members, nil)}
		}
		e.failedGroups = append(e.failedGroups, members)
		return e.halves(r, members)
	}}
}

// creditOr credits a pair, remembering the first internal error.
func (e *engine) creditOr(p *pair, r int, o Outcome, grouped bool) {
	if err := p.credit(r, o, grouped); err != nil && e.internalErr == nil {
		e.internalErr = err
	}
}

// halves splits a failed group in two by weight (the likelier culprits
// first) and runs the first half. If it passes, the second half holds the
// failure and is split at once without a run of its own (a single pair
// always gets its own run, so that it is decided by its own outcome, as in
// the exhaustive strategy); if it fails, the second half still has to be
// run.
func (e *engine) halves(r int, members []*pair) []*job {
	left, right := splitByWeight(members, r)
	j := e.groupJob(r, left, nil)
	then := j.then
	j.then = func(o Outcome) []*job {
		next := then(o)
		switch {
		case !o.Pass || len(right) == 1:
			return append(next, e.groupJob(r, right, nil))
		default:
			return append(next, e.halves(r, right)...)
		}
	}
	return []*job{j}
}

// splitByWeight orders members by weight (heaviest first, then by
// intervention) and cuts them where the first part reaches half the
// weight; each part has at least one member.
func splitByWeight(members []*pair, r int) (left, right []*pair) {
	m := append([]*pair{}, members...)
	sort.SliceStable(m, func(i, j int) bool {
		wi, wj := m[i].weight(r), m[j].weight(r)
		if wi != wj {
			return wi > wj
		}
		return m[i].iv().String() < m[j].iv().String()
	})
	total := 0.0
	for _, p := range m {
		total += p.weight(r)
	}
	acc, cut := 0.0, 0
	for cut < len(m)-1 {
		acc += m[cut].weight(r)
		cut++
		if acc >= total/2 {
			break
		}
	}
	return m[:cut], m[cut:]
}

// partition packs pairs into groups that can run together: no feature twice
// (one action per feature and run), no sub-feature with its own syscall
// (the syscall's rule would hide the sub-feature's), and at most odds of
// summed weight per group. Pairs are taken lightest first; each goes into
// the first group that takes it.
func partition(pairs []*pair, r int, odds float64) [][]*pair {
	m := append([]*pair{}, pairs...)
	sort.SliceStable(m, func(i, j int) bool {
		wi, wj := m[i].weight(r), m[j].weight(r)
		if wi != wj {
			return wi < wj
		}
		return m[i].iv().String() < m[j].iv().String()
	})
	type group struct {
		ps   []*pair
		keys map[string]bool
		w    float64
	}
	var gs []*group
	for _, p := range m {
		k, parent := p.u.key, ParentSyscall(p.u.key)
		placed := false
		for _, g := range gs {
			clash := g.keys[k] || (parent != "" && g.keys[parent])
			for key := range g.keys {
				clash = clash || ParentSyscall(key) == k
			}
			if clash || (len(g.ps) > 0 && g.w+p.weight(r) > odds) {
				continue
			}
			g.ps, g.keys[k], g.w = append(g.ps, p), true, g.w+p.weight(r)
			placed = true
			break
		}
		if !placed {
			gs = append(gs, &group{ps: []*pair{p}, keys: map[string]bool{k: true}, w: p.weight(r)})
		}
	}
	out := make([][]*pair, len(gs))
	for i, g := range gs {
		out[i] = g.ps
	}
	return out
}

func boolPtr(b bool) *bool { return &b }

// adaptiveLeft estimates the runs the adaptive search still needs: a run
// per likely failure still undecided at the current replica and a share of
// a group for the others, two runs (the combination and the rest) per
// replica to come, and a confirmation run.
func adaptiveLeft(pairs []*pair, n int) int {
	r := n
	for _, p := range pairs {
		if !p.failed() {
			r = min(r, len(p.c.outs))
		}
	}
	if r >= n {
		return 1
	}
	left := 0.0
	for _, p := range pairs {
		if p.failed() || len(p.c.outs) > r {
			continue
		}
		if r == 0 && p.q >= soloRate {
			left++
		} else {
			left += 0.2
		}
	}
	return int(math.Ceil(left)) + 2*(n-1-r) + 1
}

// calibrate estimates how much more (theta > 0) or less likely than the
// priors say this workload's interventions are to fail, from the pairs
// decided so far: the shift of the priors' log-odds that best explains
// their outcomes, drawn towards 0 (a normal prior of deviation 1.5, so a
// few outcomes move it little). Workloads differ (a program with fallbacks
// for everything, or one that fails on any error), and the priors cannot
// know which this one is.
func calibrate(pairs []*pair) float64 {
	type obs struct {
		l    float64
		fail bool
	}
	var os []obs
	for _, p := range pairs {
		if len(p.c.outs) == 0 || p.c.outs[0].RuleHits[p.u.key] == 0 {
			continue
		}
		os = append(os, obs{logit(p.q0), !p.c.outs[0].Pass})
	}
	const prec = 1 / (1.5 * 1.5)
	theta := 0.0
	for it := 0; it < 20; it++ {
		g, h := -prec*theta, -prec
		for _, o := range os {
			q := sigmoid(o.l + theta)
			y := 0.0
			if o.fail {
				y = 1
			}
			g += y - q
			h -= q * (1 - q)
		}
		step := g / h
		theta -= step
		if math.Abs(step) < 1e-6 {
			break
		}
	}
	return theta
}

// shiftRate moves a rate's log-odds by theta.
func shiftRate(q, theta float64) float64 { return clampRate(sigmoid(logit(q) + theta)) }

func logit(q float64) float64   { q = clampRate(q); return math.Log(q / (1 - q)) }
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
