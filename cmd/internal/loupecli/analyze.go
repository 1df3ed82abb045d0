package loupecli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/progress"
	"salsa.debian.org/loupe-team/loupe/internal/version"
	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/priors"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/runner"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/verdict"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

// Exit statuses of loupe analyze besides 0 (ok) and 2 (loupe failed).
const (
	exitBaselineFailed = 1   // the workload fails untouched
	exitNothingTested  = 3   // insensitive or not-exercised: verdict written, nothing tested
	exitInterrupted    = 130 // Ctrl-C / SIGTERM; the state directory allows resuming
)

func analyzeCommand() *cli.Command {
	return &cli.Command{
		Name:      "analyze",
		Usage:     "test which syscalls the whitelisted binaries need, and which could be stubbed or faked",
		ArgsUsage: "--binary PATH... [options] -- COMMAND [ARGS...]",
		Description: "Runs the workload COMMAND (exit status 0 means success; a server workload is a script that " +
			"starts the server and runs a client) under the tracer: N baseline runs record the syscalls the " +
			"--binary executables make; a control run kills them to check that the workload notices; then each " +
			"syscall is stubbed (-ENOSYS) and, separately, faked (0) in every whitelisted process, over N replicas " +
			"(stopping at the first failure); everything that held is confirmed in one combined run, and " +
			"conflicts are found by delta debugging. Runs see the tree (--tree, default the current directory), " +
			"/tmp and the home directory at their usual paths but write to private copies, each with its own " +
			"HOME, TMPDIR and network namespace. The verdict (YAML, schema loupe/verdict/v2, see " +
			"doc/verdict-schema.md) goes to stdout or --output. With --state, finished runs are journaled and the " +
			"same command resumes after an interruption. Exit status: 0 ok, 1 the workload fails untouched, " +
			"2 loupe failed, 3 nothing could be tested (insensitive or not-exercised), 130 interrupted.\n\n" +
			"The default strategy, adaptive, reaches the verdicts of --strategy exhaustive from fewer runs: it tests " +
			"units likely to fail alone and the others in groups, replica by replica, guided by priors (built from " +
			"upstream Loupe's results, plus --priors), and splits the groups that fail (doc/analyze.md). On a " +
			"terminal a progress line shows the runs done and planned, the units settled and an ETA; in a log, a " +
			"plain line every 30s or every tenth of the runs.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "binary", Aliases: []string{"b"}, Usage: "whitelist this executable or script (repeatable; at least one)"},
			&cli.IntFlag{Name: "replicas", Aliases: []string{"r"}, Value: 3, Usage: "replicas of each baseline, experiment and confirmation (1 to 100)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.NumCPU(), DefaultText: "the number of CPUs", Usage: "runs at once (1 to 256)"},
			&cli.StringFlag{Name: "strategy", Value: string(pkganalyze.StrategyAdaptive), Usage: "adaptive (group testing guided by priors, the same verdicts from fewer runs) or exhaustive (every unit alone, N replicas each)"},
			&cli.StringSliceFlag{Name: "priors", Usage: "add a loupe db `DATASET` of earlier analyses to the built-in priors (adaptive strategy; repeatable)"},
			&cli.DurationFlag{Name: "timeout", Usage: "limit of every run on load-corrected time, at most 24h (default, or 0: 3 x the slowest baseline run, at least 5s; baseline unlimited)"},
			&cli.StringFlag{Name: "state", Usage: "journal finished runs in `DIR`, and resume from it"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the verdict to `FILE` (atomically) instead of stdout"},
			&cli.StringFlag{Name: "tree", Usage: "the workload's tree: its working directory, kept private (default: the current directory)"},
			&cli.StringFlag{Name: "granularity", Value: "syscalls", Usage: "units to test: syscalls, features (plus sub-features) or pseudo-files (plus pseudo-files)"},
			&cli.StringFlag{Name: "isolation", Value: "auto", Usage: "auto, namespaces (overlayfs, fail without) or snapshot (serial runs, tree restored)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print neither the runs nor the progress on stderr"},
			&cli.StringFlag{Name: "metric", Usage: "read the benchmark's figure (requests/s, MB/s, seconds) from its output with `REGEX`, one capture group around the number (its last match); a stub or fake that moves it beyond the reference runs' noise is an impact"},
			&cli.StringFlag{Name: "metric-better", Usage: "with --metric: `higher` or lower, which way the figure is better"},
		},
		Action: runAnalyze,
	}
}

func runAnalyze(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		return errors.New("analyze: no workload command (usage: loupe analyze --binary PATH -- COMMAND [ARGS...])")
	}
	bins := c.StringSlice("binary")
	if len(bins) == 0 {
		return errors.New("analyze: no --binary: name the executable(s) whose syscalls to analyse")
	}
	if err := errors.Join(limits.Count("--replicas", c.Int("replicas"), 1, limits.MaxReplicas),
		limits.Count("--jobs", c.Int("jobs"), 1, limits.MaxJobs),
		limits.Timeout("--timeout", c.Duration("timeout"))); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	strategy, err := pkganalyze.ParseStrategy(c.String("strategy"))
	if err != nil {
		return fmt.Errorf("analyze: --%w", err)
	}
	pr := priors.Builtin()
	for _, p := range c.StringSlice("priors") {
		t, err := priors.FromDataset(p)
		if err != nil {
			return fmt.Errorf("analyze: --priors: %w", err)
		}
		pr = pr.Merge(t)
	}
	gran := verdict.Granularity(c.String("granularity"))
	switch gran {
	case verdict.GranSyscalls, verdict.GranFeatures, verdict.GranPseudoFiles:
	default:
		return fmt.Errorf("analyze: --granularity %q: want syscalls, features or pseudo-files", gran)
	}
	iso := runner.Isolation(c.String("isolation"))
	switch iso {
	case runner.Auto, runner.Namespaces, runner.Snapshot:
	default:
		return fmt.Errorf("analyze: --isolation %q: want auto, namespaces or snapshot", iso)
	}
	tree := c.String("tree")
	if tree == "" {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		tree = wd
	}
	tree, err = filepath.Abs(tree)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}

	var metric *verdict.Metric
	switch {
	case c.IsSet("metric"):
		metric = &verdict.Metric{Regex: c.String("metric"), Better: c.String("metric-better")}
		if !c.IsSet("metric-better") {
			return errors.New("analyze: --metric needs --metric-better higher (requests/s, MB/s) or lower (seconds)")
		}
		if _, err := runner.CheckMetric(metric); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	case c.IsSet("metric-better"):
		return errors.New("analyze: --metric-better without --metric")
	}

	if out := c.String("output"); out != "" {
		if err := checkOutput("analyze", "--output", out); err != nil {
			return err
		}
	}

	a := runner.Analysis{
		Command:     args,
		Dir:         tree,
		Binaries:    bins,
		Replicas:    c.Int("replicas"),
		Jobs:        c.Int("jobs"),
		Timeout:     c.Duration("timeout"),
		Granularity: gran,
		Strategy:    strategy,
		Priors:      pr,
		Isolation:   iso,
		StateDir:    c.String("state"),
		Metric:      metric,
		Environment: pkganalyze.DetectEnvironment(version.Version),
		Log:         c.App.ErrWriter,
	}
	if c.Bool("quiet") {
		a.Log = io.Discard
	}
	stopProgress := func() {}
	if !c.Bool("quiet") {
		p := progress.New(c.App.ErrWriter, "loupe: ", progress.Options{})
		a.Log = p.Log(c.App.ErrWriter)
		a.Progress = runner.ShowProgress(p)
		p.Start()
		stopProgress = p.Stop
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	f, resumed, err := runner.Analyze(ctx, a)
	stopProgress()
	if resumed > 0 && c.Bool("quiet") {
		fmt.Fprintf(c.App.ErrWriter, "loupe: resuming: %d finished runs in %s\n", resumed, a.StateDir)
	}
	if f == nil {
		if errors.Is(err, context.Canceled) {
			msg := "analyze: interrupted; nothing saved (use --state DIR to make analyses resumable)"
			if a.StateDir != "" {
				msg = fmt.Sprintf("analyze: interrupted; finished runs are saved in %s: run the same command to resume", a.StateDir)
			}
			fmt.Fprintln(c.App.ErrWriter, "loupe:", msg)
			return exitError{code: exitInterrupted}
		}
		return fmt.Errorf("analyze: %w", err)
	}
	if werr := writeVerdict(c, f); werr != nil {
		return werr
	}
	summarize(c.App.ErrWriter, f)
	var be *pkganalyze.BaselineError
	switch {
	case errors.As(err, &be):
		fmt.Fprintf(c.App.ErrWriter, "loupe: analyze: %v\n", err)
		return exitError{code: exitBaselineFailed}
	case err != nil:
		return fmt.Errorf("analyze: %w%s", err, isolationHint(err))
	case f.Status == verdict.StatusInsensitive || f.Status == verdict.StatusNotExercised:
		return exitError{code: exitNothingTested}
	}
	return nil
}

func isolationHint(err error) string {
	if errors.Is(err, tracer.ErrSandboxUnavailable) {
		return " (namespaces are unavailable here: use --isolation snapshot or auto)"
	}
	return ""
}

func writeVerdict(c *cli.Context, f *verdict.File) error {
	b, err := verdict.Marshal(f)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if err := writeOutput("verdict", c.String("output"), b, c.App.Writer); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// summarize prints what the verdict says, in a few lines: the cost (units by
// kind, runs, wall time), then per binary the verdicts by kind.
func summarize(w io.Writer, f *verdict.File) {
	fmt.Fprintf(w, "loupe: status %s; strategy %s, %d jobs; %d runs (%d baseline, %d reference, %d sensitivity, %d experiments alone, %d in groups, %d confirmation, %d culprit search); %d from the state journal\n",
		f.Status, f.Workload.Strategy, f.RunMetadata.Jobs, f.Runs.Total, f.Runs.Baseline, f.Runs.Reference, f.Runs.Sensitivity,
		f.Runs.Experiments, f.Runs.Groups, f.Runs.Confirmation, f.Runs.CulpritSearch, f.RunMetadata.ResumedRuns)
	for _, e := range f.Evidence {
		fmt.Fprintf(w, "loupe:   %s\n", e)
	}
	if f.Status != verdict.StatusOK {
		return
	}
	units := map[string]map[string]bool{"syscalls": {}, "sub-features": {}, "pseudo-files": {}}
	for _, b := range f.Binaries {
		for _, s := range b.Syscalls {
			units["syscalls"][s.Name] = true
		}
		for _, ft := range b.Features {
			units["sub-features"][ft.Key] = true
		}
		for _, pf := range b.PseudoFiles {
			units["pseudo-files"][pf.Key] = true
		}
	}
	n := len(units["syscalls"]) + len(units["sub-features"]) + len(units["pseudo-files"])
	fmt.Fprintf(w, "loupe: granularity %s: %d units (%d syscalls, %d sub-features, %d pseudo-files), %d experiment runs, %.1fs\n",
		f.Granularity, n, len(units["syscalls"]), len(units["sub-features"]), len(units["pseudo-files"]),
		f.Runs.Experiments+f.Runs.Groups, f.RunMetadata.WallSeconds)
	if up := (2 + 2*n) * f.Workload.Replicas; up > 0 {
		fmt.Fprintf(w, "loupe: %d runs are %.0f%% of upstream Loupe's (2 + 2 x %d units) x %d replicas = %d\n",
			f.Runs.Total, 100*float64(f.Runs.Total)/float64(up), n, f.Workload.Replicas, up)
	}
	for _, b := range f.Binaries {
		var outs []verdict.Outcome
		for _, s := range b.Syscalls {
			outs = append(outs, s.Outcome)
		}
		fmt.Fprintf(w, "loupe: %s: %d syscalls: %s\n", b.Path, len(b.Syscalls), tally(outs))
		if len(b.Features) > 0 {
			outs = outs[:0]
			for _, ft := range b.Features {
				outs = append(outs, ft.Outcome)
			}
			fmt.Fprintf(w, "loupe: %s: %d sub-features: %s; %d required syscalls only partly required (a sub-feature can be stubbed or faked)\n",
				b.Path, len(b.Features), tally(outs), len(partlyRequired(b)))
		}
		if len(b.PseudoFiles) > 0 {
			outs = outs[:0]
			for _, pf := range b.PseudoFiles {
				outs = append(outs, pf.Outcome)
			}
			fmt.Fprintf(w, "loupe: %s: %d pseudo-files: %s\n", b.Path, len(b.PseudoFiles), tally(outs))
		}
	}
	for _, cf := range f.Conflicts {
		fmt.Fprintf(w, "loupe: conflict: %v together fail; demoted %v\n", cf.Interventions, cf.Demoted)
	}
	summarizeMetric(w, f)
}

// summarizeMetric prints the benchmark metric's reference range and every
// stub or fake that moved it.
func summarizeMetric(w io.Writer, f *verdict.File) {
	m := f.RunMetadata.Metric
	if f.Workload.Metric == nil || m == nil || len(m.Reference) == 0 {
		return
	}
	lo, hi := m.Reference[0], m.Reference[0]
	for _, v := range m.Reference {
		lo, hi = min(lo, v), max(hi, v)
	}
	var moved []string
	seen := map[string]bool{}
	for _, b := range f.Binaries {
		for _, s := range b.Syscalls {
			for _, im := range s.Impact {
				if x := fmt.Sprintf("%s=%s %s (%s)", s.Name, im.Action, im.Direction, im.Effect); im.Metric == verdict.MetricName && !seen[x] {
					seen[x] = true
					moved = append(moved, x)
				}
			}
		}
		for _, ft := range append(append([]verdict.Feature{}, b.Features...), b.PseudoFiles...) {
			for _, im := range ft.Impact {
				if x := fmt.Sprintf("%s=%s %s (%s)", ft.Key, im.Action, im.Direction, im.Effect); im.Metric == verdict.MetricName && !seen[x] {
					seen[x] = true
					moved = append(moved, x)
				}
			}
		}
	}
	for _, c := range f.CombinationImpact {
		if c.Metric == verdict.MetricName {
			moved = append(moved, fmt.Sprintf("the combination %s (%s)", c.Direction, c.Effect))
		}
	}
	if len(moved) == 0 {
		moved = []string{"no stub or fake moved it beyond the reference's noise"}
	}
	fmt.Fprintf(w, "loupe: metric: reference %g to %g (%s is better); %s\n", lo, hi, f.Workload.Metric.Better, strings.Join(moved, "; "))
}

// tally counts verdicts: required, stubbable, fakeable only; flaky,
// untested, with impact.
func tally(outs []verdict.Outcome) string {
	var req, stub, fake, untested, flaky, impact int
	for _, o := range outs {
		switch {
		case o.Required:
			req++
		case o.Stub != nil && *o.Stub:
			stub++
		default:
			fake++
		}
		if o.Stub == nil && o.Fake == nil {
			untested++
		}
		if o.Flaky {
			flaky++
		}
		if len(o.Impact) > 0 {
			impact++
		}
	}
	return fmt.Sprintf("%d required, %d stubbable, %d fakeable only; %d flaky, %d untested, %d with impact", req, stub, fake, flaky, untested, impact)
}

// partlyRequired lists the syscalls of b that are required although at least
// one of their sub-features can be stubbed or faked: what a whole-syscall
// verdict overstates.
func partlyRequired(b verdict.Binary) []string {
	ok := map[string]bool{}
	for _, ft := range b.Features {
		if !ft.Required && ((ft.Stub != nil && *ft.Stub) || (ft.Fake != nil && *ft.Fake)) {
			ok[pkganalyze.ParentSyscall(ft.Key)] = true
		}
	}
	var out []string
	for _, s := range b.Syscalls {
		if s.Required && ok[s.Name] {
			out = append(out, s.Name)
		}
	}
	return out
}
