package loupecli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/debhelper"
	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/progress"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/internal/version"
	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/priors"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/runner"
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
			&cli.StringSliceFlag{Name: "priors", Usage: "add a loupe db `DATASET` of earlier analyses to the bundled Debian analyses in the priors (adaptive strategy; repeatable)"},
			&cli.StringSliceFlag{Name: "priors-exclude", Usage: "leave the analyses of `NAME` (binary or source package, or --app name) out of the priors: to measure them on a workload they have not seen (repeatable)"},
			&cli.DurationFlag{Name: "timeout", Usage: "limit of every run on load-corrected time, at most 24h; 0: 3 x the slowest baseline run, at least 5s, the baseline unlimited",
				DefaultText: "0"},
			&cli.StringFlag{Name: "state", Usage: "journal finished runs in `DIR`, and resume from it"},
			outputFlag("verdict", ""),
			&cli.StringFlag{Name: "tree", Usage: "the workload's tree `DIR`: its working directory, kept private", DefaultText: "the current directory"},
			granularityFlag("what to test"),
			&cli.StringFlag{Name: "isolation", Value: "auto", Usage: "auto, namespaces (overlayfs, fail without) or snapshot (serial runs, tree restored)"},
			followFlag,
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print neither the runs nor the progress on stderr"},
			&cli.StringFlag{Name: "app", Usage: "name the verdict after the application `NAME`, so that loupe db, plan and report take it in as they take a package"},
			&cli.StringFlag{Name: "workload", Value: "suite", Usage: "with --app, what COMMAND is: suite (a test suite) or bench (a benchmark); plan and report --workload select by it"},
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
	warnMisplacedOptions(c, args)
	strategy, err := verdict.ParseStrategy(c.String("strategy"))
	if err != nil {
		return fmt.Errorf("analyze: --strategy %q: %w", c.String("strategy"), err)
	}
	exclude := c.StringSlice("priors-exclude")
	var more []*priors.Table
	for _, p := range c.StringSlice("priors") {
		t, err := priors.FromDataset(p, exclude...)
		if err != nil {
			return fmt.Errorf("analyze: --priors: %w", err)
		}
		more = append(more, t)
	}
	pr := priors.Bundled(exclude, more...)
	gran, err := parseGranularity(c, "granularity")
	if err != nil {
		return err
	}
	app, kind, err := parseApp(c)
	if err != nil {
		return err
	}
	follow, err := parseFollow(c)
	if err != nil {
		return err
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
		metric = &verdict.Metric{Regex: c.String("metric"), Better: verdict.Better(c.String("metric-better"))}
		if !c.IsSet("metric-better") {
			return errors.New("analyze: --metric needs --metric-better higher (requests/s, MB/s) or lower (seconds)")
		}
		if _, err := runner.CheckMetric(metric); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	case c.IsSet("metric-better"):
		return errors.New("analyze: --metric-better without --metric")
	}

	out, err := outputPath(c, "output")
	if err != nil {
		return err
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
		Follow:      follow,
		StateDir:    c.String("state"),
		Metric:      metric,
		Environment: runner.Environment(c.Context, version.Version),
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
	if app != "" {
		f.Package, f.Architecture, f.Workload.Kind = app, debhelper.NativeArch(), kind
	}
	if werr := writeVerdict(c, out, f); werr != nil {
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

// appName is what --app accepts: a Debian package name's characters, so
// that the name reads the same in a dataset, a plan and a file name.
var appName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]{0,99}$`)

// parseApp reads --app and --workload: the name and the verdict's workload
// kind (suite or benchmark, as in datasets).
func parseApp(c *cli.Context) (name, kind string, err error) {
	name = c.String("app")
	if name != "" && !appName.MatchString(name) {
		return "", "", fmt.Errorf("analyze: --app %q: want a name of letters, digits and . + _ - (at most 100), such as myapp or nginx-1.25", name)
	}
	switch w := c.String("workload"); w {
	case "suite", "testsuite":
		kind = dataset.KindSuite
	case "bench", "benchmark":
		kind = dataset.KindBenchmark
	default:
		return "", "", fmt.Errorf("analyze: --workload %q: want suite or bench", w)
	}
	if c.IsSet("workload") && name == "" {
		return "", "", errors.New("analyze: --workload says what an --app's COMMAND is: give --app NAME too")
	}
	return name, kind, nil
}

func granularityFlag(what string) *cli.StringFlag {
	return &cli.StringFlag{Name: "granularity", Value: string(verdict.GranSyscalls),
		Usage: what + ": syscalls; features: also their sub-features (ioctl:TCGETS, fcntl:F_SETFD); " +
			"pseudo-files: also sub-features and the /proc, /sys and /dev files opened"}
}

// parseGranularity reads --granularity, the same for trace (what to
// record) and analyze (what to test).
func parseGranularity(c *cli.Context, flag string) (verdict.Granularity, error) {
	g, err := verdict.ParseGranularity(c.String(flag))
	if err != nil {
		return "", fmt.Errorf("%s: --%s %q: %w", c.Command.Name, flag, c.String(flag), err)
	}
	return g, nil
}

// parseFollow reads --follow with the schema's words (verdict.Follow, as
// DEB_BUILD_OPTIONS and debian/loupe.yaml do) for the tracer.
func parseFollow(c *cli.Context) (tracer.Follow, error) {
	f, err := verdict.ParseFollow(c.String("follow"))
	if err != nil {
		return "", fmt.Errorf("%s: --follow %q: %w", c.Command.Name, c.String("follow"), err)
	}
	return tracer.Follow(f), nil
}

func isolationHint(err error) string {
	if errors.Is(err, tracer.ErrSandboxUnavailable) {
		return " (namespaces are unavailable here: use --isolation snapshot or auto)"
	}
	return ""
}

func writeVerdict(c *cli.Context, out string, f *verdict.File) error {
	b, err := verdict.Marshal(f)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if err := writeOutput("verdict", out, b, c.App.Writer); err != nil {
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
