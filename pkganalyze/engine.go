package pkganalyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// BinaryRef names a whitelisted binary for the analysis fingerprint.
type BinaryRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
}

// Config describes one analysis. Only Command and a Runner are required.
type Config struct {
	// Command is the workload (argv); exit status 0 means success. Dir is
	// the tree it runs in. Both go into the verdict and the fingerprint;
	// the Runner is what actually runs them.
	Command []string
	Dir     string
	// Binaries are the whitelisted executables, with their content hashes,
	// for the fingerprint (a rebuilt binary invalidates a state directory).
	Binaries []BinaryRef
	// Replicas is N, the runs per baseline, experiment and confirmation
	// (default 3). Jobs is how many runs go at once (default 1).
	Replicas int
	Jobs     int
	// Timeout limits every run; 0 means the baseline runs are unlimited and
	// later runs get DefaultTimeout of the baseline.
	Timeout time.Duration
	// Granularity selects the units: whole syscalls (default), plus
	// sub-features, plus pseudo-files.
	Granularity verdict.Granularity
	// Strategy is the search (default StrategyAdaptive; see doc.go).
	Strategy Strategy
	// Priors order and group the adaptive strategy's experiments (nil:
	// every intervention is assumed to fail half the time, so nothing is
	// grouped before it has passed once). They never decide a verdict.
	Priors Priors
	// Journal remembers finished runs (a StateDir for --state); nil means
	// an in-memory one.
	Journal Journal
	// Log receives one line per run and per phase; nil discards them.
	Log io.Writer
	// Environment and Isolation are copied into the verdict.
	Environment verdict.Environment
	Isolation   string
	// Notes are added to the verdict's run metadata (e.g. the runner's
	// sandbox fallback).
	Notes func() []string
	// Now is the clock (tests fix it); nil means time.Now.
	Now func() time.Time
	// Progress, if set, is called after every run with a snapshot (see
	// Progress); calls do not overlap.
	Progress func(Progress)
	// Metric, if set, is the workload's benchmark metric: the Runner reads
	// it from each run's output (Outcome.Metric), and its changes count as
	// impact like RSS, fds and time (metric.go).
	Metric *verdict.Metric
}

// Strategy is how the experiments are searched: StrategyAdaptive screens
// units in groups chosen by priors, one replica at a time, and splits the
// groups that fail (doc.go); StrategyExhaustive runs every unit alone, N
// replicas each: the method before strategies existed, kept for comparison
// and research. The values are the verdict schema's (verdict.ParseStrategy).
type Strategy = verdict.Strategy

const (
	StrategyAdaptive   = verdict.StrategyAdaptive
	StrategyExhaustive = verdict.StrategyExhaustive
)

// Priors estimate how likely an intervention ("stub" or "fake") on a unit
// key is to break a workload, from earlier analyses (package
// pkganalyze/priors). The adaptive strategy uses them to decide what to
// test alone and what in groups; they never decide a verdict.
type Priors interface {
	FailureRate(key, action string) float64
	// FailureRateGiven is FailureRate knowing whether the other action on
	// the same key held in this workload.
	FailureRateGiven(key, action string, otherHeld bool) float64
}

func (c Config) strategy() Strategy {
	if c.Strategy == "" {
		return StrategyAdaptive
	}
	return c.Strategy
}

func (c Config) granularity() verdict.Granularity {
	if c.Granularity == "" {
		return verdict.GranSyscalls
	}
	return c.Granularity
}

// record is the recording level baseline runs need for the granularity.
func (c Config) record() Record {
	switch c.granularity() {
	case verdict.GranFeatures:
		return RecordFeatures
	case verdict.GranPseudoFiles:
		return RecordPseudoFiles
	}
	return RecordSyscalls
}

// Check refuses counts and a timeout outside internal/limits' bounds: a
// negative timeout must never mean "no limit". Zero values are defaults.
func (c Config) Check() error {
	return errors.Join(limits.Count("replicas", c.Replicas, 0, limits.MaxReplicas),
		limits.Count("jobs", c.Jobs, 0, limits.MaxJobs), limits.Timeout("timeout", c.Timeout))
}

func (c Config) withDefaults() Config {
	if c.Replicas <= 0 {
		c.Replicas = 3
	}
	if c.Jobs <= 0 {
		c.Jobs = 1
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Journal == nil {
		c.Journal = NewMemJournal()
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// TimeoutFloor is the least derived timeout: very short workloads still
// get a few seconds, for their start-up and the tracer's.
const TimeoutFloor = 5 * time.Second

// DefaultTimeout is the per-run timeout derived from the baseline: three
// times the slowest baseline or reference run, at least TimeoutFloor. Run
// durations are load-corrected (Outcome.Effective), so the timeout need not
// leave room for a loaded machine: a run that has done three times the
// baseline's work is hung (doc/analyze.md, "Timeouts").
func DefaultTimeout(slowest time.Duration) time.Duration {
	return max(3*slowest, TimeoutFloor).Round(time.Millisecond)
}

// BaselineError is returned with a baseline-failed verdict: the workload
// failed without any intervention, so nothing can be tested.
type BaselineError struct {
	Spec    RunSpec
	Outcome Outcome // the first failing run
	Failed  int     // failing runs
	Total   int     // baseline and reference runs
}

func (e *BaselineError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the workload fails without any intervention: %s %s (%d of %d untouched runs failed)",
		e.Spec, e.Outcome.Describe(), e.Failed, e.Total)
	if e.Failed < e.Total {
		b.WriteString("; it is flaky: make it pass reliably before analysing it")
	} else {
		b.WriteString("; fix the workload (exit status 0 means success) before analysing it")
	}
	if out := strings.TrimRight(e.Outcome.Output, "\n"); out != "" {
		b.WriteString("\nits output ended with:\n")
		b.WriteString(out)
	} else {
		b.WriteString("\nit printed nothing")
	}
	return b.String()
}

// Analyze runs the method (doc.go) and returns the verdict.
//
// The verdict is non-nil whenever there is something to write: with a nil
// error for the statuses ok, insensitive and not-exercised; with a
// *BaselineError for baseline-failed; with the runner's error for status
// error. It is nil only when ctx was cancelled (the error wraps ctx.Err());
// the journal then holds every finished run, and the same call resumes.
func Analyze(ctx context.Context, r Runner, cfg Config) (*verdict.File, error) {
	bad := cfg.Check()
	cfg = cfg.withDefaults()
	e := &engine{r: r, cfg: cfg, fp: Fingerprint(cfg), jobs: cfg.Jobs, n: cfg.Replicas,
		used: map[string]usedRun{}, start: cfg.Now()}
	if cfg.strategy() == StrategyAdaptive {
		e.same = map[string]*flight{}
	}
	var f *verdict.File
	err := bad
	if err == nil {
		f, err = e.analyze(ctx)
	}
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("analysis interrupted: %w", ctx.Err())
	}
	if f == nil {
		f = e.build(verdict.StatusError)
		f.Reason = err.Error()
	}
	return f, err
}

type usedRun struct {
	kind Kind
	out  Outcome
}

type engine struct {
	r    Runner
	cfg  Config
	fp   string
	jobs int
	n    int

	start   time.Time
	timeout time.Duration // for runs after the baseline

	mu   sync.Mutex
	used map[string]usedRun // by run key: the runs the method used
	// same holds, by run key without the kind, the runs the adaptive
	// strategy may reuse: a confirmation or culprit probe identical to an
	// experiment run already made (same interventions and replica) takes
	// its outcome instead of running again. nil: no reuse (exhaustive).
	same     map[string]*flight
	executed int
	resumed  int
	logMu    sync.Mutex

	base, ref *chain
	obs       *observation
	units     []*unit
	byKey     map[string]*unit
	conflicts []verdict.Conflict
	impacts   map[string]map[string][]verdict.Impact // binary path -> unit key
	figs      map[string][]verdict.ImpactFig
	evidence  []string
	flaky     bool

	// The adaptive search's bookkeeping (adaptive.go): the groups that
	// failed in the current batch, the notes on failures no unit explains,
	// and the first internal error of a job callback.
	failedGroups [][]*pair
	unexplained  []string
	internalErr  error

	// confirmed are the runs of the confirmation round that passed; comb
	// and combFigs the combination's impact on them.
	confirmed []Outcome
	comb      []verdict.CombinationImpact
	combFigs  []verdict.ImpactFig
	// metricExp is the benchmark metric of the runs that applied a unit
	// alone and passed, by unit key and action (metric.go).
	metricExp map[string]map[string][]float64

	// phase and remaining feed progress reports (progress.go).
	phase     string
	remaining func() int
}

func (e *engine) logf(format string, args ...any) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	fmt.Fprintf(e.cfg.Log, format+"\n", args...)
}

// flight is a run that others may wait for (engine.same).
type flight struct {
	done chan struct{}
	out  Outcome
	err  error
}

// run makes one run, or takes it from the journal, or (strategy adaptive)
// from an identical run of another kind made earlier in this analysis.
func (e *engine) run(ctx context.Context, spec RunSpec) (Outcome, error) {
	spec.Interventions = sortInterventions(spec.Interventions)
	if e.same == nil {
		return e.run1(ctx, spec)
	}
	alt := spec
	alt.Kind = ""
	k := runKey(e.fp, alt)
	e.mu.Lock()
	if f, ok := e.same[k]; ok {
		e.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		}
		return f.out, f.err
	}
	f := &flight{done: make(chan struct{})}
	e.same[k] = f
	e.mu.Unlock()
	f.out, f.err = e.run1(ctx, spec)
	close(f.done)
	return f.out, f.err
}

// run1 makes one run, or takes it from the journal.
func (e *engine) run1(ctx context.Context, spec RunSpec) (Outcome, error) {
	key := runKey(e.fp, spec)
	if o, ok := e.cfg.Journal.Lookup(key); ok {
		e.mu.Lock()
		if _, seen := e.used[key]; !seen {
			e.resumed++
		}
		e.used[key] = usedRun{spec.Kind, o}
		e.mu.Unlock()
		return o, nil
	}
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	o, err := e.r.Run(ctx, spec)
	if err == nil && ctx.Err() != nil {
		// Interrupted while finishing: do not trust or record it.
		err = ctx.Err()
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: %w", spec, err)
	}
	if err := e.cfg.Journal.Record(key, spec, o); err != nil {
		return Outcome{}, err
	}
	e.mu.Lock()
	e.executed++
	e.used[key] = usedRun{spec.Kind, o}
	e.mu.Unlock()
	e.logf("loupe: %s: %s in %.2fs", spec, o.Describe(), o.Wall.Seconds())
	return o, nil
}

func (e *engine) analyze(ctx context.Context) (*verdict.File, error) {
	n := e.n
	// 1. Baseline: N recorded runs, and N unrecorded reference runs.
	e.logf("loupe: baseline: %d traced and %d reference runs", n, n)
	e.base = &chain{spec: RunSpec{Kind: KindBaseline, Record: e.cfg.record(), Timeout: e.cfg.Timeout}, n: n}
	e.ref = &chain{spec: RunSpec{Kind: KindReference, Record: RecordNone, Timeout: e.cfg.Timeout}, n: n}
	base := chainsLeft([]*chain{e.base, e.ref})
	e.setPhase("baseline", func() int { return base() + 1 })
	if err := e.runChains(ctx, []*chain{e.base, e.ref}); err != nil {
		return nil, err
	}
	e.obs = observe(e.base.outs, e.cfg.granularity())
	if err := e.checkBaseline(); err != nil {
		f := e.build(verdict.StatusBaselineFailed)
		return f, err
	}
	if err := e.checkMetric(); err != nil {
		return nil, err
	}
	slowest := time.Duration(0)
	for _, o := range append(append([]Outcome{}, e.base.outs...), e.ref.outs...) {
		slowest = max(slowest, o.duration())
	}
	e.timeout = e.cfg.Timeout
	if e.timeout == 0 {
		e.timeout = DefaultTimeout(slowest)
	}
	if len(e.obs.bins) == 0 {
		e.evidence = append(e.evidence, "no whitelisted binary ran in any baseline run")
		return e.build(verdict.StatusNotExercised), nil
	}

	// 2. Sensitivity control: every whitelisted process killed at once.
	e.logf("loupe: sensitivity control: whitelisted processes killed")
	sens := &chain{spec: RunSpec{Kind: KindSensitivity, Interventions: []Intervention{{AllFeatures, Kill}},
		Timeout: e.timeout}, n: 1}
	e.setPhase("sensitivity", chainsLeft([]*chain{sens}))
	if err := e.runChains(ctx, []*chain{sens}); err != nil {
		return nil, err
	}
	if so := sens.outs[0]; so.Pass {
		if so.RuleHits[AllFeatures] == 0 {
			e.evidence = append(e.evidence, "the sensitivity run passed, and no whitelisted process ran in it")
		} else {
			e.evidence = append(e.evidence, "the workload passed with every whitelisted process killed at its first syscall: its checks cannot see the binaries fail, so no experiment was run")
		}
		return e.build(verdict.StatusInsensitive), nil
	}

	// 3. Experiments: each unit stubbed, then faked, N replicas each.
	e.units, e.byKey = makeUnits(e.obs)
	ns, nf, np := countUnits(e.units)
	e.logf("loupe: experiments (%s): %d units (%d syscalls, %d sub-features, %d pseudo-files; granularity %s), stub and fake, up to %d replicas each (timeout %s)",
		e.cfg.strategy(), len(e.units), ns, nf, np, e.cfg.granularity(), n, e.timeout)
	if e.cfg.strategy() == StrategyAdaptive {
		e.setPhase("experiments", func() int { return 4*len(e.units) + e.n })
		if err := e.adaptive(ctx); err != nil {
			return nil, err
		}
		e.impact()
		return e.build(verdict.StatusOK), nil
	}
	var chains []*chain
	for _, u := range e.units {
		for _, a := range []Action{Stub, Fake} {
			c := &chain{spec: RunSpec{Kind: KindExperiment, Interventions: []Intervention{{u.key, a}}, Timeout: e.timeout},
				n: n, stopOnFail: true}
			u.chains[a] = c
			chains = append(chains, c)
		}
	}
	left := chainsLeft(chains)
	e.setPhase("experiments", func() int { return left() + n })
	if err := e.runChains(ctx, chains); err != nil {
		return nil, err
	}
	e.decideAll()

	// 4. Confirmation, and culprit search when it fails.
	if err := e.confirm(ctx); err != nil {
		return nil, err
	}

	// 5. Impact of every stub and fake that holds.
	e.impact()
	return e.build(verdict.StatusOK), nil
}

// checkBaseline returns a *BaselineError if any untouched run failed.
func (e *engine) checkBaseline() error {
	var first *BaselineError
	failed, total := 0, 0
	for _, c := range []*chain{e.base, e.ref} {
		for i, o := range c.outs {
			total++
			if o.Pass {
				continue
			}
			failed++
			spec := c.spec
			spec.Replica = i
			e.evidence = append(e.evidence, fmt.Sprintf("%s replica %d of %d %s", c.spec.Kind, i+1, c.n, o.Describe()))
			if first == nil {
				first = &BaselineError{Spec: spec, Outcome: o}
			}
		}
	}
	if first == nil {
		return nil
	}
	first.Failed, first.Total = failed, total
	if failed < total {
		e.flaky = true
		e.evidence = append(e.evidence, fmt.Sprintf("untouched runs disagree: %d of %d passed", total-failed, total))
	}
	return first
}

// newFile is the verdict skeleton: file-level fields from the Config.
func (e *engine) newFile(status verdict.Status) *verdict.File {
	f := &verdict.File{
		Schema:      verdict.Schema,
		Status:      status,
		Mode:        verdict.ModeAnalyze,
		Granularity: e.cfg.granularity(),
		Workload: verdict.Workload{Command: e.cfg.Command, Dir: e.cfg.Dir, Replicas: e.n,
			Timeout: timeoutString(e.cfg.Timeout), Strategy: e.cfg.strategy(), Metric: e.cfg.Metric},
		Environment: e.cfg.Environment,
		Binaries:    []verdict.Binary{},
	}
	return f
}

func timeoutString(d time.Duration) string {
	if d == 0 {
		return "auto"
	}
	return d.String()
}

// finish fills the run counts and the run metadata.
func (e *engine) finish(f *verdict.File) {
	e.mu.Lock()
	defer e.mu.Unlock()
	secs := map[string]float64{}
	for _, u := range e.used {
		switch u.kind {
		case KindBaseline:
			f.Runs.Baseline++
		case KindReference:
			f.Runs.Reference++
		case KindSensitivity:
			f.Runs.Sensitivity++
		case KindExperiment:
			f.Runs.Experiments++
		case KindGroup:
			f.Runs.Groups++
		case KindConfirmation:
			f.Runs.Confirmation++
		case KindCulprit:
			f.Runs.CulpritSearch++
		}
		secs[string(u.kind)] += u.out.Wall.Seconds()
	}
	for k, v := range secs {
		secs[k] = ms(v)
	}
	f.Runs.Total = len(e.used)
	m := &f.RunMetadata
	m.Started = e.start.UTC()
	m.Finished = e.cfg.Now().UTC()
	m.WallSeconds = ms(m.Finished.Sub(m.Started).Seconds())
	if e.timeout > 0 {
		m.Timeout = e.timeout.String()
	}
	m.Jobs = e.jobs
	m.Isolation = e.cfg.Isolation
	m.ExecutedRuns, m.ResumedRuns = e.executed, e.resumed
	if len(secs) > 0 {
		m.RunSeconds = secs
	}
	if e.base != nil {
		m.BaselineWall = walls(e.base.outs)
		m.ReferenceWall = walls(e.ref.outs)
	}
	if e.obs != nil && len(e.obs.bins) > 0 {
		m.Resources = map[string]verdict.Resources{}
		for _, b := range e.obs.bins {
			r := verdict.Resources{PeakRSSKB: b.rss, MaxFDs: b.fds}
			for _, o := range e.ref.outs {
				if u := findBinary(o, b.path); u != nil {
					r.ReferencePeakRSSKB = append(r.ReferencePeakRSSKB, u.PeakRSSKB)
					r.ReferenceMaxFDs = append(r.ReferenceMaxFDs, u.MaxFDs)
				}
			}
			m.Resources[b.path] = r
		}
	}
	if len(e.figs) > 0 {
		m.Impacts = e.figs
	}
	m.CombinationImpacts = e.combFigs
	m.Metric = e.metricRuns()
	m.Notes = append(m.Notes, e.unexplained...)
	if e.cfg.Notes != nil {
		m.Notes = append(m.Notes, e.cfg.Notes()...)
	}
}

// ms rounds seconds to milliseconds, the precision worth printing.
func ms(s float64) float64 { return math.Round(s*1000) / 1000 }

func findBinary(o Outcome, path string) *BinaryUse {
	for i := range o.Binaries {
		if o.Binaries[i].Path == path {
			return &o.Binaries[i]
		}
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// countUnits counts units by kind: the cost of a granularity is about 2
// experiments per unit, up to 2N.
func countUnits(units []*unit) (syscalls, features, pseudoFiles int) {
	for _, u := range units {
		switch KindOf(u.key) {
		case UnitSyscall:
			syscalls++
		case UnitFeature:
			features++
		case UnitPseudoFile:
			pseudoFiles++
		}
	}
	return
}
