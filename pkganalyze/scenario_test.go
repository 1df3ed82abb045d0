package pkganalyze

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// A scenario describes, in testdata/scenarios/*.yaml, how a workload reacts
// to interventions; scenarioRunner turns it into the outcomes a real run
// would report. The outcomes are derived only from the RunSpec, so they
// behave like a journal of recorded runs.
type scenario struct {
	Replicas    int                    `yaml:"replicas"`
	Jobs        int                    `yaml:"jobs"`
	Timeout     string                 `yaml:"timeout"`
	Granularity string                 `yaml:"granularity"`
	Binaries    map[string]scenarioBin `yaml:"binaries"`
	// BaselineFail and ReferenceFail list the untouched replicas that fail.
	BaselineFail  []int `yaml:"baseline_fail"`
	ReferenceFail []int `yaml:"reference_fail"`
	// Only restricts a key to some baseline replicas.
	Only map[string][]int `yaml:"only"`
	// Insensitive makes the sensitivity run pass; SensitivityHits is its
	// RuleHits["*"] (default 1).
	Insensitive     bool    `yaml:"insensitive"`
	SensitivityHits *uint64 `yaml:"sensitivity_hits"`
	// Wall is the untouched wall time in seconds (default 1).
	Wall float64 `yaml:"wall"`
	// Metric is the untouched benchmark figure (0: the workload has none);
	// MetricBetter says which way is better; MetricMissing lists the run
	// kinds whose output does not have it.
	Metric        float64        `yaml:"metric"`
	MetricBetter  string         `yaml:"metric_better"`
	MetricMissing []Kind         `yaml:"metric_missing"`
	Rules         []scenarioRule `yaml:"rules"`
	// RunnerError makes the n-th run (1-based) fail with a loupe error.
	RunnerError int `yaml:"runner_error"`
	// AdaptiveDiffers explains why the adaptive strategy's verdict may
	// differ from the exhaustive one here (rules that are not monotone or
	// depend on the run kind); without it they must agree.
	AdaptiveDiffers string `yaml:"adaptive_differs"`
}

type scenarioBin struct {
	Syscalls    map[string]uint64 `yaml:"syscalls"`
	Features    map[string]uint64 `yaml:"features"`
	PseudoFiles map[string]uint64 `yaml:"pseudo_files"`
	RSS         uint64            `yaml:"rss"`
	FDs         int               `yaml:"fds"`
}

// scenarioRule applies when every intervention of When is in the run.
type scenarioRule struct {
	When []string `yaml:"when"` // "key=action"
	// Unless disables the rule when any of these is in the run too: a
	// non-monotone workload, where one intervention masks another's
	// failure.
	Unless []string `yaml:"unless"`
	// Kinds restricts the rule to some run kinds (default: all).
	Kinds []Kind `yaml:"kinds"`
	// Fail fails the run; FailReplicas fails it only at those replicas.
	Fail         bool  `yaml:"fail"`
	FailReplicas []int `yaml:"fail_replicas"`
	Hang         bool  `yaml:"hang"`
	// Hits overrides RuleHits of When's features (only for one-rule When);
	// HitReplicas lists the replicas where the rule fires.
	Hits        *uint64 `yaml:"hits"`
	HitReplicas []int   `yaml:"hit_replicas"`
	// Resource, time and benchmark effects.
	RSS    int64   `yaml:"rss"`
	FDs    int     `yaml:"fds"`
	Wall   float64 `yaml:"wall"`
	Metric float64 `yaml:"metric"`
}

func loadScenario(path string) (*scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s scenario
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Wall == 0 {
		s.Wall = 1
	}
	return &s, nil
}

type scenarioRunner struct {
	s  *scenario
	mu sync.Mutex
	// Made lists the runs made, in the order they started.
	made []RunSpec
	// cancelAfter cancels the analysis once that many runs were made.
	cancelAfter int
	cancel      context.CancelFunc
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func (r *scenarioRunner) Run(ctx context.Context, spec RunSpec) (Outcome, error) {
	r.mu.Lock()
	r.made = append(r.made, spec)
	n := len(r.made)
	if r.cancelAfter > 0 && n > r.cancelAfter {
		r.mu.Unlock()
		r.cancel()
		<-ctx.Done()
		return Outcome{}, ctx.Err()
	}
	r.mu.Unlock()
	s := r.s
	if s.RunnerError == n {
		return Outcome{}, fmt.Errorf("scenario: tracer exploded")
	}
	have := map[string]bool{}
	for _, iv := range spec.Interventions {
		have[iv.String()] = true
	}
	o := Outcome{Pass: true, Exit: "exit 0", RuleHits: map[string]uint64{}}
	wall := s.Wall + 0.01*float64(spec.Replica)
	var drss int64
	var dfds int
	metric := s.Metric * (1 + 0.01*float64(spec.Replica))
	switch spec.Kind {
	case KindBaseline:
		o.Pass = !contains(s.BaselineFail, spec.Replica)
	case KindReference:
		o.Pass = !contains(s.ReferenceFail, spec.Replica)
	case KindSensitivity:
		o.Pass = s.Insensitive
		o.RuleHits[AllFeatures] = 1
		if s.SensitivityHits != nil {
			o.RuleHits[AllFeatures] = *s.SensitivityHits
		}
	default:
		for _, iv := range spec.Interventions {
			o.RuleHits[iv.Feature] = 1
		}
		for _, rule := range s.Rules {
			all := true
			for _, w := range rule.When {
				all = all && have[w]
			}
			for _, u := range rule.Unless {
				all = all && !have[u]
			}
			if !all {
				continue
			}
			if len(rule.Kinds) > 0 {
				match := false
				for _, k := range rule.Kinds {
					match = match || k == spec.Kind
				}
				if !match {
					continue
				}
			}
			if rule.Fail || contains(rule.FailReplicas, spec.Replica) {
				o.Pass = false
			}
			if rule.Hang {
				o.Pass, o.TimedOut = false, true
			}
			feat := strings.SplitN(rule.When[0], "=", 2)[0]
			if rule.Hits != nil {
				o.RuleHits[feat] = *rule.Hits
			}
			if rule.HitReplicas != nil && !contains(rule.HitReplicas, spec.Replica) {
				o.RuleHits[feat] = 0
			}
			drss += rule.RSS
			dfds += rule.FDs
			wall += rule.Wall
			metric += rule.Metric
		}
	}
	if !o.Pass {
		o.Exit, o.ExitCode = "exit 1", 1
		o.Output = "scenario: the check failed\n"
	}
	if o.TimedOut {
		o.Exit, o.ExitCode = "killed by signal: killed", 137
	}
	o.Wall = time.Duration(wall * float64(time.Second))
	missing := false
	for _, k := range s.MetricMissing {
		missing = missing || k == spec.Kind
	}
	if s.Metric != 0 && !missing && spec.Kind != KindSensitivity {
		o.Metric = &metric
		o.Output += fmt.Sprintf("throughput: %g\n", metric)
	}
	for _, path := range sortedKeys(s.Binaries) {
		b := s.Binaries[path]
		if spec.Kind == KindSensitivity {
			continue
		}
		bu := BinaryUse{Path: path, SHA256: fmt.Sprintf("%064x", len(path)), Processes: 1,
			PeakRSSKB: uint64(int64(b.RSS) + drss + int64(4*spec.Replica)), MaxFDs: b.FDs + dfds}
		used := func(k string) bool {
			only, ok := s.Only[k]
			return !ok || contains(only, spec.Replica)
		}
		if spec.Record >= RecordSyscalls {
			for _, name := range sortedKeys(b.Syscalls) {
				if used(name) {
					nr, _ := sysent.AMD64.Number(name)
					bu.Syscalls = append(bu.Syscalls, SyscallUse{Name: name, Number: nr, Calls: b.Syscalls[name]})
				}
			}
			sort.Slice(bu.Syscalls, func(i, j int) bool { return bu.Syscalls[i].Number < bu.Syscalls[j].Number })
		}
		if spec.Record >= RecordFeatures {
			for _, k := range sortedKeys(b.Features) {
				if used(k) {
					bu.Features = append(bu.Features, FeatureUse{k, b.Features[k]})
				}
			}
		}
		if spec.Record >= RecordPseudoFiles {
			for _, k := range sortedKeys(b.PseudoFiles) {
				if used(k) {
					bu.PseudoFiles = append(bu.PseudoFiles, FeatureUse{k, b.PseudoFiles[k]})
				}
			}
		}
		o.Binaries = append(o.Binaries, bu)
	}
	return o, nil
}
