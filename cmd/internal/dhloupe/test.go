package dhloupe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"salsa.debian.org/loupe-team/loupe/debhelper"
	"salsa.debian.org/loupe-team/loupe/internal/exeid"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/runner"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

// testSequence is the private dh sequence the addon defines: just
// dh_auto_test, with its hooks and overrides.
const testSequence = "loupe-test"

func testMain(ctx context.Context, name string, pio IO, deps Deps, step *stepState) tracer.ExitStatus {
	// 1. Options.
	opts, u, code, ok := parse(name, pio)
	if !ok {
		return exit(code)
	}
	if len(opts.NonOptions) > 0 {
		u.errorf("unexpected argument %q (a test command goes after \"--\": %s -- make check)", opts.NonOptions[0], name)
		return exit(255)
	}
	// 2. Settings.
	_, s := loadSettings(pio)
	reportProblems(u, s)
	if s.Requested && s.Strict && len(s.Problems) > 0 {
		u.errorf("loupe=strict: failing the build because of the errors above")
		return exit(255)
	}
	// 3. The test step.
	argv, err := stepArgv(opts, pio.Env)
	if err != nil {
		u.errorf("%v", err)
		return exit(255)
	}
	if opts.NoAct {
		fmt.Fprintf(pio.Stdout, "\t%s\n", escapeShell(argv))
		return exit(0)
	}
	step.argv = argv
	// 4. Not traced: run the step exactly as without loupe.
	if !s.Traced() || deps.Trace == nil {
		if s.Artifacts() {
			run := &debhelper.Run{Mode: s.Mode, Skipped: s.NoCheck, Started: time.Now().UTC(),
				Step: debhelper.Step{Argv: argv, Env: debhelper.WithoutFakeroot(pio.Env), Dir: pio.Dir}}
			switch {
			case len(s.Problems) > 0:
				run.Error = debhelper.JoinProblems(s.Problems)
			case !s.NoCheck:
				run.Error = "this dh_loupe was built without the tracer"
				u.errorf("%s; running the test step untraced", run.Error)
				if s.Strict {
					return exit(255)
				}
			}
			if err := recordRun(ctx, u, pio, opts, run); err != nil && s.Strict {
				return exit(255)
			}
		}
		return execStep(u, argv, pio)
	}
	// 5. Traced.
	return traceStep(ctx, name, u, pio, opts, s, argv, deps.Trace, step)
}

// stepArgv is the test step: the command after "--", or dh re-entered for
// the addon's private sequence with the outer dh's addon options and this
// command's own options (normalised, -O ones unwrapped).
func stepArgv(opts *debhelper.Options, env []string) ([]string, error) {
	if opts.HasCommand {
		if len(opts.Command) == 0 {
			return nil, errors.New(`nothing after "--": give the test command, e.g. dh_loupe -- $(MAKE) check`)
		}
		return opts.Command, nil
	}
	argv := []string{"dh", testSequence}
	if outer, ok := debhelper.LookupEnv(env, "DH_LOUPE_DH_ARGV"); ok && outer != "" {
		argv = append(argv, addonArgs(strings.Split(outer, "\x1e"))...)
	} else {
		// Not run by dh with the addon loaded (a hand-written rules
		// target): load it for the inner dh ourselves.
		argv = append(argv, "--with", "loupe")
	}
	return append(argv, opts.Forward...), nil
}

// addonArgs picks --with and --without (in any of dh's spellings) out of
// a dh command line; dh passes every other option to dh_loupe itself.
func addonArgs(argv []string) []string {
	var out []string
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		for _, opt := range []string{"--with", "--without", "-with", "-without"} {
			if a == opt && i+1 < len(argv) {
				out = append(out, "--"+strings.TrimLeft(opt, "-")+"="+argv[i+1])
				i++
				break
			}
			if v, ok := strings.CutPrefix(a, opt+"="); ok {
				out = append(out, "--"+strings.TrimLeft(opt, "-")+"="+v)
				break
			}
		}
	}
	return out
}

// stepPath finds the step's program: a path as given (the exec reports one
// that cannot run), a name in the step's PATH, as the tracer finds it. It
// says why when there is none.
func stepPath(u ui, argv []string, pio IO) (string, bool) {
	if strings.Contains(argv[0], "/") {
		return argv[0], true
	}
	path, err := tracer.LookPath(argv[0], pio.Env, pio.Dir)
	if err != nil {
		u.errorf("%s: %v", argv[0], err)
		return "", false
	}
	return path, true
}

// execStep replaces dh_loupe with the test step, so that the step runs
// exactly as it would without loupe (same process tree, signals, status).
func execStep(u ui, argv []string, pio IO) tracer.ExitStatus {
	path, ok := stepPath(u, argv, pio)
	if !ok {
		return exit(127)
	}
	u.command(argv)
	pio.Stdout.Sync()
	if pio.Dir != "" {
		if err := os.Chdir(pio.Dir); err != nil {
			u.errorf("%v", err)
			return exit(126)
		}
	}
	err := syscall.Exec(path, argv, pio.Env)
	u.errorf("exec %s: %v", path, err)
	return exit(126)
}

func exit(code int) tracer.ExitStatus { return tracer.ExitStatus{Code: code} }

// recordRun lists the packages the step runs for and records the run.
func recordRun(ctx context.Context, u ui, pio IO, opts *debhelper.Options, run *debhelper.Run) error {
	if run.Packages == nil {
		pkgs, err := debhelper.ListPackages(ctx, pio.Dir, opts.ListArgs, pio.Env)
		if err != nil {
			u.errorf("%v", err)
			return err
		}
		run.Packages = pkgs
	}
	if _, err := debhelper.WriteRun(pio.Dir, run); err != nil {
		u.errorf("%v", err)
		return err
	}
	return nil
}

// traceStep runs the step under the tracer, records it, and returns the
// step's own exit status. If loupe fails to trace, the step runs untraced
// (unless loupe=strict), so that the build's outcome stays the package's.
func traceStep(ctx context.Context, name string, u ui, pio IO, opts *debhelper.Options, s *debhelper.Settings, argv []string,
	trace TraceFunc, step *stepState) tracer.ExitStatus {
	run := &debhelper.Run{Mode: s.Mode, Started: time.Now().UTC(),
		Step: debhelper.Step{Argv: argv, Env: debhelper.WithoutFakeroot(pio.Env), Dir: pio.Dir}}
	pkgs, err := debhelper.ListPackages(ctx, pio.Dir, opts.ListArgs, pio.Env)
	if err != nil {
		u.errorf("%v; running the test step untraced", err)
		if s.Strict {
			return exit(255)
		}
		return execStep(u, argv, pio)
	}
	run.Packages = pkgs
	fail := func(err error) tracer.ExitStatus {
		run.Error = err.Error()
		u.errorf("%v; running the test step untraced", err)
		recordRun(ctx, u, pio, opts, run)
		if s.Strict {
			return exit(255)
		}
		return execStep(u, argv, pio)
	}
	if err := debhelper.CheckRun(pio.Dir, pkgs); err != nil {
		return fail(err)
	}
	wl, err := whitelist(pio.Dir, s.Config)
	if err != nil {
		return fail(err)
	}
	run.Whitelist = wl.String()
	path, ok := stepPath(u, argv, pio)
	if !ok {
		return exit(127)
	}
	u.command(argv)
	res, err := trace(ctx, tracer.Command{Path: path, Args: argv, Env: pio.Env, Dir: pio.Dir,
		Stdin: pio.Stdin, Stdout: pio.Stdout, Stderr: pio.Stderr},
		tracer.Options{Whitelist: wl, Record: tracer.RecordSyscalls | tracer.RecordFeatures | tracer.RecordPseudoFiles,
			Leftovers:  tracer.LeftoversDetach,
			Identities: exeid.NewCache()})
	if res == nil {
		// Nothing of the step ran (the tracer could not start it), so
		// running it untraced runs it once, as without loupe.
		if err == nil {
			err = errors.New("tracer returned no result")
		}
		return fail(fmt.Errorf("trace the test step: %w", err))
	}
	if err != nil {
		// Cancelled (SIGTERM, SIGHUP): the tree was killed.
		run.Error = fmt.Sprintf("trace the test step: %v", err)
		u.errorf("%s", run.Error)
	}
	step.ran, step.status = true, res.Exit
	run.Exit = res.Exit
	run.Binaries = fromTrace(res)
	run.Processes, run.Execs = res.Processes, res.Execs
	run.Wall = res.Wall.Seconds()
	run.Mechanism = res.Mechanism
	if err := recordRun(ctx, u, pio, opts, run); err != nil && s.Strict {
		return exit(255)
	}
	u.infof("traced the test step (%s): %s, %d processes, %d executables from the build tree",
		strings.Join(argv, " "), run.Exit, res.Processes, len(run.Binaries))
	if !run.Exit.Success() {
		// A failed build has no .changes: this line is what rebuild
		// tooling can read.
		for _, p := range pkgs {
			code := res.Exit.ShellCode()
			fmt.Fprintln(pio.Stdout, debhelper.Summary{Package: p, Status: verdict.StatusBaselineFailed, Mode: verdict.Mode(s.Mode), Exit: &code}.Format())
		}
	}
	if run.Error != "" && s.Strict && res.Exit.Success() {
		return exit(255)
	}
	if res.Exit.Success() {
		logDone(ctx, u, pio, name, pkgs)
	}
	return res.Exit
}

// logDone records the successful step in the debhelper logs where
// debhelper's own commands would (compat 9 and earlier, override
// targets). Without it, dpkg-buildpackage's "debian/rules binary" runs
// dh_loupe again in compat 9: the inner dh then skips the logged
// dh_auto_test, and the empty second trace replaced the first (pcre2 got
// not-exercised). A failure to write is reported and changes nothing
// else: the build then behaves as it did before.
func logDone(ctx context.Context, u ui, pio IO, name string, pkgs []string) {
	compat, err := debhelper.CompatLevel(ctx, pio.Dir, pio.Env)
	if err != nil {
		u.warnf("%v: dh_loupe not recorded in the debhelper logs", err)
		return
	}
	if !debhelper.LogsCommands(compat, pio.Env) {
		return
	}
	if err := debhelper.WriteLog(pio.Dir, filepath.Base(name), pkgs); err != nil {
		u.warnf("%v", err)
	}
}

// whitelist is every executable under the source tree except debian/
// (whose contents are packaging, staging and installed copies), plus what
// debian/loupe.yaml adds or declares as stand-ins.
func whitelist(dir string, cfg *debhelper.Config) (tracer.Matcher, error) {
	m, err := tracer.MatchPrefix(dir, "debian")
	if err != nil {
		return nil, fmt.Errorf("whitelist: %w", err)
	}
	if cfg == nil || len(cfg.Globs()) == 0 {
		return m, nil
	}
	return tracer.MatchAny(m, configMatcher{dir: dir, cfg: cfg}), nil
}

// configMatcher matches the build-tree globs of binaries.add and stand-ins.
type configMatcher struct {
	dir string
	cfg *debhelper.Config
}

func (m configMatcher) Match(e *tracer.Exe) bool { return m.cfg.Claims(m.dir, e.Path) }
func (m configMatcher) String() string {
	return "config(" + strings.Join(m.cfg.Globs(), ",") + ")"
}

// fromTrace turns the tracer's per-executable records into verdict
// entries, still named by their absolute build-tree paths.
func fromTrace(res *tracer.Result) []verdict.Binary {
	var out []verdict.Binary
	for _, u := range runner.Uses(res) {
		out = append(out, u.Verdict())
	}
	return out
}
