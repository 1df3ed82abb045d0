package pkganalyze

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/priors"
)

// truth is a random ground truth: how a workload reacts to each unit and
// action, replica by replica. It is monotone (a run fails exactly when one of
// its interventions fails alone at that replica) unless conflicts are
// given: sets of stubs that fail together although each holds alone.
type truth struct {
	replicas int
	units    []string
	calls    map[string]uint64
	eff      map[Intervention]*effect
	// conflicts fail any run applying all of their stubs.
	conflicts [][]string
}

// effect is one intervention's behaviour per replica.
type effect struct {
	fail []bool // fails at replica r
	hang bool   // its failures are timeouts
	hit  []bool // the rule fires at replica r
}

// randomTruth draws a workload of 1-30 syscalls: some required, some
// stub-only, fake-only or both, some flaky (failing at some replicas only),
// some never exercised or exercised in some replicas only, some failing
// without their rule firing, some hanging.
func randomTruth(rng *rand.Rand, conflicts bool) *truth {
	names := sysent.AMD64.Names()
	t := &truth{replicas: 1 + rng.IntN(3), calls: map[string]uint64{}, eff: map[Intervention]*effect{}}
	n := 1 + rng.IntN(30)
	seen := map[string]bool{}
	for len(t.units) < n {
		name := names[rng.IntN(len(names))]
		if seen[name] {
			continue
		}
		seen[name] = true
		t.units = append(t.units, name)
		t.calls[name] = uint64(1 + rng.IntN(50))
	}
	sort.Strings(t.units)
	for _, u := range t.units {
		required := rng.Float64() < 0.4
		for _, a := range []Action{Stub, Fake} {
			e := &effect{fail: make([]bool, t.replicas), hit: make([]bool, t.replicas)}
			for r := range e.hit {
				e.hit[r] = true
			}
			switch x := rng.Float64(); {
			case required || x < 0.2:
				for r := range e.fail {
					e.fail[r] = true
				}
				e.hang = rng.Float64() < 0.1
			case x < 0.3 && t.replicas > 1: // flaky
				e.fail[1+rng.IntN(t.replicas-1)] = true
			case x < 0.35: // never exercised
				for r := range e.hit {
					e.hit[r] = false
				}
			case x < 0.4: // exercised in some replicas
				e.hit[rng.IntN(t.replicas)] = false
			case x < 0.43: // fails although the rule never fired
				r := rng.IntN(t.replicas)
				e.fail[r], e.hit[r] = true, false
			}
			t.eff[Intervention{u, a}] = e
		}
	}
	if conflicts {
		for i := 0; i < rng.IntN(3); i++ {
			k := 2 + rng.IntN(2)
			if k > len(t.units) {
				break
			}
			perm := rng.Perm(len(t.units))[:k]
			var set []string
			for _, j := range perm {
				set = append(set, t.units[j])
			}
			t.conflicts = append(t.conflicts, set)
		}
	}
	return t
}

// truthRunner answers runs from a truth; outcomes depend only on the spec.
type truthRunner struct {
	t    *truth
	mu   sync.Mutex
	runs int
}

func (tr *truthRunner) Run(_ context.Context, spec RunSpec) (Outcome, error) {
	tr.mu.Lock()
	tr.runs++
	tr.mu.Unlock()
	t := tr.t
	o := Outcome{Pass: true, Exit: "exit 0", Wall: time.Second, RuleHits: map[string]uint64{}}
	switch spec.Kind {
	case KindBaseline, KindReference:
		b := BinaryUse{Path: "/w/prog", SHA256: "00", Processes: 1, PeakRSSKB: 1000, MaxFDs: 3}
		if spec.Record >= RecordSyscalls {
			for _, u := range t.units {
				nr, _ := sysent.AMD64.Number(u)
				b.Syscalls = append(b.Syscalls, SyscallUse{Name: u, Number: nr, Calls: t.calls[u]})
			}
			sort.Slice(b.Syscalls, func(i, j int) bool { return b.Syscalls[i].Number < b.Syscalls[j].Number })
		}
		o.Binaries = []BinaryUse{b}
		return o, nil
	case KindSensitivity:
		o.Pass, o.Exit = false, "exit 1"
		return o, nil
	}
	applied := map[string]Action{}
	for _, iv := range spec.Interventions {
		applied[iv.Feature] = iv.Action
		e := t.eff[iv]
		if e.hit[spec.Replica] {
			o.RuleHits[iv.Feature] = 1
		}
		if e.fail[spec.Replica] {
			o.Pass = false
			o.TimedOut = o.TimedOut || e.hang
		}
	}
	for _, set := range t.conflicts {
		all := true
		for _, u := range set {
			all = all && applied[u] == Stub
		}
		if all {
			o.Pass = false
		}
	}
	if !o.Pass {
		o.Exit = "exit 1"
		if o.TimedOut {
			o.Exit = "killed by signal: killed"
		}
	}
	o.Binaries = []BinaryUse{{Path: "/w/prog", SHA256: "00", Processes: 1, PeakRSSKB: 1000, MaxFDs: 3}}
	return o, nil
}

// randomPriors: the built-in table, the truth itself (perfect priors), its
// opposite (priors that are always wrong), or noise.
func randomPriors(rng *rand.Rand, t *truth) (string, Priors) {
	switch rng.IntN(4) {
	case 0:
		return "builtin", priors.Builtin()
	case 1:
		return "perfect", truthPriors{t, false}
	case 2:
		return "inverted", truthPriors{t, true}
	}
	m := map[string]priors.Counts{}
	for _, u := range t.units {
		m[u] = priors.Counts{Used: 10, Stub: rng.IntN(11), Fake: rng.IntN(11)}
	}
	return "random", priors.New(m)
}

type truthPriors struct {
	t        *truth
	inverted bool
}

func (p truthPriors) FailureRateGiven(key, action string, _ bool) float64 {
	return p.FailureRate(key, action)
}

func (p truthPriors) FailureRate(key, action string) float64 {
	e := p.t.eff[Intervention{key, Action(action)}]
	fails := e != nil && e.fail[0]
	if fails != p.inverted {
		return 0.95
	}
	return 0.02
}

func propertyConfig(t *truth, st Strategy, pr Priors, jobs int) Config {
	return Config{Command: []string{"./w"}, Dir: "/w", Binaries: []BinaryRef{{Path: "/w/prog", SHA256: "00"}},
		Replicas: t.replicas, Jobs: jobs, Strategy: st, Priors: pr,
		Environment: verdict.Environment{Kernel: "k", Libc: "l", Loupe: "test"},
		Now:         func() time.Time { return fixedNow }}
}

// TestAdaptiveEqualsExhaustive is the property the adaptive strategy
// promises: on any monotone workload (a run fails exactly when one of its
// interventions fails alone at that replica), whatever the priors, its
// verdict on every unit (stub, fake, required, flaky, evidence) is the
// exhaustive strategy's; with conflicts (stubs failing only together) too,
// since both confirmations work from the same per-unit verdicts. The
// adaptive runs are also the same for any number of jobs.
func TestAdaptiveEqualsExhaustive(t *testing.T) {
	cases := 400
	if testing.Short() {
		cases = 60
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var exhRuns, adaRuns, upstream int
	for i := 0; i < cases; i++ {
		conflicts := i%4 == 3
		tr := randomTruth(rng, conflicts)
		name, pr := randomPriors(rng, tr)
		label := fmt.Sprintf("case %d (%d units, %d replicas, priors %s, conflicts %v)", i, len(tr.units), tr.replicas, name, tr.conflicts)
		exh := &truthRunner{t: tr}
		fe, err := Analyze(context.Background(), exh, propertyConfig(tr, StrategyExhaustive, pr, 1))
		if err != nil {
			t.Fatalf("%s: exhaustive: %v", label, err)
		}
		ada := &truthRunner{t: tr}
		fa, err := Analyze(context.Background(), ada, propertyConfig(tr, StrategyAdaptive, pr, 1))
		if err != nil {
			t.Fatalf("%s: adaptive: %v", label, err)
		}
		ue, ua := unitVerdicts(fe), unitVerdicts(fa)
		for _, k := range sortedKeys(ue) {
			if ue[k] != ua[k] {
				t.Errorf("%s: %s:\n  exhaustive %s\n  adaptive   %s", label, k, ue[k], ua[k])
			}
		}
		if strings.Join(conflictList(fe), ";") != strings.Join(conflictList(fa), ";") {
			t.Errorf("%s: conflicts differ:\n  exhaustive %v\n  adaptive   %v", label, conflictList(fe), conflictList(fa))
		}
		if fa.Runs.Total != ada.runs {
			t.Errorf("%s: runs.total %d, %d runs made", label, fa.Runs.Total, ada.runs)
		}
		if i%10 == 0 {
			// Any number of jobs: the same runs and the same verdict.
			par := &truthRunner{t: tr}
			fp, err := Analyze(context.Background(), par, propertyConfig(tr, StrategyAdaptive, pr, 4))
			if err != nil {
				t.Fatal(err)
			}
			stripVarying(fa)
			stripVarying(fp)
			b1, _ := verdict.Marshal(fa)
			b2, _ := verdict.Marshal(fp)
			if par.runs != ada.runs || !bytes.Equal(b1, b2) {
				t.Errorf("%s: 4 jobs made %d runs (1 job: %d):\n%s", label, par.runs, ada.runs, testutil.Diff(t, b1, b2))
			}
		}
		exhRuns += exh.runs
		adaRuns += ada.runs
		upstream += (2 + 2*len(tr.units)) * tr.replicas
		if t.Failed() {
			return
		}
	}
	t.Logf("%d cases: exhaustive %d runs, adaptive %d (%.0f%%), upstream's (2+2s)r %d", cases, exhRuns, adaRuns,
		100*float64(adaRuns)/float64(exhRuns), upstream)
}

func conflictList(f *verdict.File) []string {
	var out []string
	for _, c := range f.Conflicts {
		out = append(out, fmt.Sprintf("%v demoted %v flaky %v", c.Interventions, c.Demoted, c.Flaky))
	}
	return out
}

// entryTruth is the ground truth an analysis (a dataset entry) gives: each
// syscall fails stubbed or faked at every replica exactly when the analysis
// found it so; every rule fires.
func entryTruth(e dataset.Entry) *truth {
	tr := &truth{replicas: 3, calls: map[string]uint64{}, eff: map[Intervention]*effect{}}
	for k, s := range e.Syscalls.States() {
		tr.units = append(tr.units, k)
		tr.calls[k] = 1
		for _, a := range []Action{Stub, Fake} {
			ok := s&dataset.StubOK != 0
			if a == Fake {
				ok = s&dataset.FakeOK != 0
			}
			tr.eff[Intervention{k, a}] = &effect{fail: []bool{!ok, !ok, !ok}, hit: []bool{true, true, true}}
		}
	}
	sort.Strings(tr.units)
	return tr
}

// replay analyses tr with both strategies and pr, checks that their unit
// verdicts are equal, and returns their runners (with the run counts).
func replay(t *testing.T, tr *truth, pr Priors) (exh, ada *truthRunner) {
	t.Helper()
	exh, ada = &truthRunner{t: tr}, &truthRunner{t: tr}
	fe, err := Analyze(context.Background(), exh, propertyConfig(tr, StrategyExhaustive, pr, 1))
	if err != nil {
		t.Fatal(err)
	}
	fa, err := Analyze(context.Background(), ada, propertyConfig(tr, StrategyAdaptive, pr, 1))
	if err != nil {
		t.Fatal(err)
	}
	compareUnits(t, unitVerdicts(fe), unitVerdicts(fa))
	return exh, ada
}

// TestLoupeDBReplay replays upstream Loupe's 122 usable analyses as ground
// truths (each syscall required, stub-only, fake-only or both, as loupedb
// says), with priors learnt from the other 121 (leave one out): the adaptive
// strategy must reach the exhaustive verdicts, and the run counts show what
// it saves on real applications' syscall profiles (doc/analyze.md).
func TestLoupeDBReplay(t *testing.T) {
	es, _, err := loupedb.Import(testutil.LoupeDB(t))
	if err != nil {
		t.Fatal(err)
	}
	var usable []dataset.Entry
	for _, e := range es {
		if e.Usable() {
			usable = append(usable, e)
		}
	}
	step := 1
	if testing.Short() {
		step = 10
	}
	var ratios []float64
	var exhTotal, adaTotal, upTotal int
	for i := 0; i < len(usable); i += step {
		e := usable[i]
		others := append(append([]dataset.Entry{}, usable[:i]...), usable[i+1:]...)
		pr := priors.FromEntries(others)
		tr := entryTruth(e)
		exh, ada := replay(t, tr, pr)
		up := (2 + 2*len(tr.units)) * 3
		ratios = append(ratios, float64(ada.runs)/float64(up))
		exhTotal += exh.runs
		adaTotal += ada.runs
		upTotal += up
		if testing.Verbose() {
			fails := 0
			for _, ef := range tr.eff {
				if ef.fail[0] {
					fails++
				}
			}
			t.Logf("%-40s s=%3d upstream %4d exhaustive %4d adaptive %4d (%.0f%% of upstream; %d failing interventions)", e.Name+"/"+e.Workload.Name,
				len(tr.units), up, exh.runs, ada.runs, 100*float64(ada.runs)/float64(up), fails)
		}
	}
	sort.Float64s(ratios)
	t.Logf("%d analyses: upstream %d runs, exhaustive %d (%.0f%%), adaptive %d (%.0f%%); adaptive per analysis: median %.0f%%, worst %.0f%% of upstream",
		len(ratios), upTotal, exhTotal, 100*float64(exhTotal)/float64(upTotal), adaTotal, 100*float64(adaTotal)/float64(upTotal),
		100*ratios[len(ratios)/2], 100*ratios[len(ratios)-1])
	if adaTotal >= exhTotal {
		t.Errorf("the adaptive strategy made %d runs, the exhaustive one %d: it saves nothing on real profiles", adaTotal, exhTotal)
	}
}

// TestDebianReplay replays the bundled analyses of Debian packages
// (data/debian/verdicts) as ground truths, each with the default priors
// learnt without it (priors.Bundled leaving it out) and with upstream's
// alone (the default before Debian analyses were bundled): the verdicts
// equal the exhaustive strategy's, and the Debian priors must save runs
// overall (bench/README.md records the per-workload numbers). It also
// logs the totals for other layer weights (priors.LayerWeight's choice).
func TestDebianReplay(t *testing.T) {
	ds, err := dataset.Collect(context.Background(), []string{filepath.Join(filepath.Dir(testutil.LoupeDB(t)), "debian", "verdicts")},
		dataset.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var up, withUpstream, withDebian, perfect int
	weights := []float64{1, 4}
	byWeight := make([]int, len(weights))
	n := 0
	for _, e := range ds.Entries {
		if !e.Usable() {
			continue
		}
		n++
		tr := entryTruth(e)
		_, au := replay(t, tr, priors.Upstream())
		_, ad := replay(t, tr, priors.Bundled([]string{e.Name}))
		_, ap := replay(t, tr, truthPriors{tr, false})
		for i, w := range weights {
			l := priors.Bundled([]string{e.Name})
			l.Weight = w
			_, aw := replay(t, tr, l)
			byWeight[i] += aw.runs
		}
		u := (2 + 2*len(tr.units)) * 3
		up += u
		withUpstream += au.runs
		withDebian += ad.runs
		perfect += ap.runs
		t.Logf("%-12s s=%3d upstream's %4d; adaptive with upstream priors %4d (%.0f%%), with Debian ones %4d (%.0f%%), perfect %4d (%.0f%%)",
			e.Name, len(tr.units), u, au.runs, 100*float64(au.runs)/float64(u), ad.runs, 100*float64(ad.runs)/float64(u),
			ap.runs, 100*float64(ap.runs)/float64(u))
	}
	if n < 5 {
		t.Fatalf("%d usable Debian analyses bundled, want at least 5", n)
	}
	t.Logf("%d analyses: upstream's %d runs; adaptive with upstream priors %d (%.0f%%), with Debian priors (leave one out) %d (%.0f%%), with perfect priors %d (%.0f%%)",
		n, up, withUpstream, 100*float64(withUpstream)/float64(up), withDebian, 100*float64(withDebian)/float64(up), perfect, 100*float64(perfect)/float64(up))
	for i, w := range weights {
		t.Logf("layer weight %g instead of %g: %d runs (%.0f%%)", w, priors.LayerWeight, byWeight[i], 100*float64(byWeight[i])/float64(up))
	}
	if withDebian > withUpstream {
		t.Errorf("the Debian priors cost runs: %d against %d with upstream's alone", withDebian, withUpstream)
	}
}
