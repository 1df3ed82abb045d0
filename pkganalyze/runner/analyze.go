package runner

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/exeid"
	"salsa.debian.org/loupe-team/loupe/internal/progress"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/priors"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

// Analysis is one analysis of a workload with this runner: the glue that
// `loupe analyze` and dh_loupe share.
type Analysis struct {
	Command []string
	// Dir is the workload tree (its working directory, kept private).
	Dir string
	// Env is the workload's environment (nil: loupe's).
	Env []string
	// Binaries are the whitelisted executables; they must exist.
	Binaries    []string
	Replicas    int
	Jobs        int
	Timeout     time.Duration
	Granularity verdict.Granularity
	// Strategy is the search (default adaptive); Priors guide it (nil:
	// the table built from the bundled loupedb data).
	Strategy  pkganalyze.Strategy
	Priors    pkganalyze.Priors
	Isolation Isolation
	// StateDir, if set, journals finished runs so that the same analysis
	// resumes after an interruption. It may lie inside Dir: it is then
	// Preserve'd.
	StateDir string
	// Environment is copied into the verdict.
	Environment verdict.Environment
	// Log receives one line per run and per phase; nil discards them.
	Log io.Writer
	// Progress, if set, gets a snapshot after every run.
	Progress   func(pkganalyze.Progress)
	Identities *exeid.Cache
	// Metric, if set, is the workload's benchmark metric (CheckMetric).
	Metric *verdict.Metric
	// Follow is how the runs follow the tree (tracer.Options.Follow).
	Follow tracer.Follow
}

// CheckMetric compiles a --metric regex: it must have exactly one capture
// group, and better must say which way the figure is better.
func CheckMetric(m *verdict.Metric) (*regexp.Regexp, error) {
	re, err := regexp.Compile(m.Regex)
	if err != nil {
		return nil, fmt.Errorf("--metric %q: %w", m.Regex, err)
	}
	if n := re.NumSubexp(); n != 1 {
		return nil, fmt.Errorf("--metric %q: has %d capture groups, want exactly one around the number, e.g. 'Requests/sec: *([0-9.]+)'", m.Regex, n)
	}
	if _, err := verdict.ParseBetter(string(m.Better)); err != nil {
		return nil, fmt.Errorf("--metric-better %q: %w (higher: requests/s, MB/s; lower: seconds)", m.Better, err)
	}
	return re, nil
}

// Analyze hashes the binaries, opens the state directory, prepares the
// runner and runs pkganalyze.Analyze. Its results are those of
// pkganalyze.Analyze (a verdict with an error for baseline failures; no
// verdict when interrupted), with the verdict's isolation filled in.
// resumed is the number of runs the state directory already held.
func Analyze(ctx context.Context, a Analysis) (f *verdict.File, resumed int, err error) {
	if err := (pkganalyze.Config{Replicas: a.Replicas, Jobs: a.Jobs, Timeout: a.Timeout}).Check(); err != nil {
		return nil, 0, err
	}
	if a.Identities == nil {
		a.Identities = exeid.NewCache()
	}
	refs := make([]pkganalyze.BinaryRef, 0, len(a.Binaries))
	for _, b := range a.Binaries {
		abs, err := filepath.Abs(b)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("binary %s: %w (give the path of an executable the workload runs)", b, err)
		}
		sums, err := a.Identities.Sums(abs)
		if err != nil {
			return nil, 0, fmt.Errorf("binary %s: %w", b, err)
		}
		refs = append(refs, pkganalyze.BinaryRef{Path: abs, SHA256: sums.SHA256})
	}
	log := a.Log
	if log == nil {
		log = io.Discard
	}
	cfg := pkganalyze.Config{
		Command:     a.Command,
		Dir:         a.Dir,
		Binaries:    refs,
		Replicas:    a.Replicas,
		Jobs:        a.Jobs,
		Timeout:     a.Timeout,
		Granularity: a.Granularity,
		Strategy:    a.Strategy,
		Priors:      a.Priors,
		Environment: a.Environment,
		Log:         log,
		Progress:    a.Progress,
		Metric:      a.Metric,
	}
	var metric *regexp.Regexp
	if a.Metric != nil {
		re, err := CheckMetric(a.Metric)
		if err != nil {
			return nil, 0, err
		}
		metric = re
	}
	if cfg.Priors == nil {
		cfg.Priors = priors.Builtin()
	}
	rcfg := Config{Command: a.Command, Dir: a.Dir, Env: a.Env, Binaries: a.Binaries,
		Isolation: a.Isolation, Identities: a.Identities, Log: log, Metric: metric, Follow: a.Follow}
	if a.StateDir != "" {
		st, err := pkganalyze.OpenState(a.StateDir, cfg)
		if err != nil {
			return nil, 0, err
		}
		defer st.Close()
		resumed = st.Len()
		if resumed > 0 {
			fmt.Fprintf(log, "loupe: resuming: %d finished runs in %s\n", resumed, a.StateDir)
		}
		cfg.Journal = st
		rcfg.RecoveryFile = filepath.Join(a.StateDir, "recovery.json")
		keep, err := filepath.Abs(a.StateDir)
		if err == nil {
			keep, err = filepath.EvalSymlinks(keep)
		}
		if err != nil {
			return nil, resumed, fmt.Errorf("state %s: %w", a.StateDir, err)
		}
		rcfg.Preserve = []string{keep}
	}
	r, err := New(rcfg)
	if err != nil {
		return nil, resumed, err
	}
	defer r.Close()
	cfg.Notes = r.Notes
	f, err = pkganalyze.Analyze(ctx, r, cfg)
	if f != nil {
		f.RunMetadata.Isolation = r.Isolation()
		f.RunMetadata.Follow = r.Follow()
	}
	return f, resumed, err
}

// ShowProgress feeds an analysis's progress snapshots to a progress
// printer (loupe analyze, dh_loupe_verdict).
func ShowProgress(p *progress.Printer) func(pkganalyze.Progress) {
	return func(s pkganalyze.Progress) {
		p.Update(progress.State{Done: s.Runs, Planned: s.Planned, Settled: s.Settled, Units: s.Units})
	}
}
