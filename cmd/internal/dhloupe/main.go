package dhloupe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"salsa.debian.org/loupe-team/loupe/debhelper"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

// TraceFunc runs one traced command; it is tracer.Run.
type TraceFunc func(ctx context.Context, cmd tracer.Command, opts tracer.Options) (*tracer.Result, error)

// AnalyzeRequest is one package's analysis: the recorded test step, re-run
// with only the package's shipped binaries whitelisted.
type AnalyzeRequest struct {
	Step debhelper.Step
	// Whitelist are the absolute build-tree paths of the shipped binaries.
	Whitelist []string
	Replicas  int
	Jobs      int
	Timeout   time.Duration
	// Granularity of the units tested (syscalls, features, pseudo-files).
	Granularity verdict.Granularity
	// Strategy of the search (adaptive or exhaustive).
	Strategy verdict.Strategy
	// Follow: how the runs follow the tree (auto, notify or ptrace).
	Follow verdict.Follow
	// Quiet: no progress lines (dh_loupe_verdict -q, DH_QUIET).
	Quiet bool
	// StateDir is where the engine keeps resumable state.
	StateDir string
	// Template carries the package metadata to keep in the verdict.
	Template verdict.File
	Stdout   io.Writer
	Stderr   io.Writer
}

// AnalyzeFunc runs the analysis engine. Its verdict names binaries by
// their absolute build-tree paths.
type AnalyzeFunc func(ctx context.Context, req AnalyzeRequest) (*verdict.File, error)

// Deps are the parts of loupe the commands drive; nil ones are reported
// as unavailable.
type Deps struct {
	Trace   TraceFunc
	Analyze AnalyzeFunc
}

// IO is a command's process context.
type IO struct {
	Args   []string // without argv[0]
	Env    []string
	Dir    string
	Stdin  *os.File
	Stdout *os.File
	Stderr *os.File
}

// Main runs the command named by argv[0]'s basename (dh_loupe or
// dh_loupe_verdict) and returns how it ends: dh_loupe ends as the test
// step did (the same code, or death by the same signal).
func Main(ctx context.Context, argv0 string, pio IO, deps Deps) (st tracer.ExitStatus) {
	name := filepath.Base(argv0)
	// A loupe bug must not cost a rebuild its .debs: a panic in the
	// binary pass is reported and ignored (unless loupe=strict); in the
	// test pass the step's own status stands, and if the step had not run
	// yet it runs untraced.
	var step stepState
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		u := ui{name: name, out: pio.Stdout, err: pio.Stderr}
		u.errorf("internal error: %v\n%s", r, debug.Stack())
		strict := strictRequested(pio.Env)
		switch {
		case strict:
			st = exit(255)
		case name == "dh_loupe_verdict":
			st = exit(0)
		case step.ran:
			st = step.status
		case step.argv != nil:
			st = execStep(u, step.argv, pio)
		default:
			st = exit(255)
		}
	}()
	switch name {
	case "dh_loupe_verdict":
		return tracer.ExitStatus{Code: verdictMain(ctx, name, pio, deps)}
	default:
		return testMain(ctx, "dh_loupe", pio, deps, &step)
	}
}

// stepState is what a panic handler needs to know about the test step.
type stepState struct {
	argv   []string // set once the step is known
	ran    bool     // set once it has run
	status tracer.ExitStatus
}

// strictRequested reads loupe=...,strict from DEB_BUILD_OPTIONS alone.
func strictRequested(env []string) bool {
	v, ok := debhelper.ParseBuildOptions(debhelper.Getenv(env, "DEB_BUILD_OPTIONS")).Get("loupe")
	if !ok {
		return false
	}
	t, _ := debhelper.ParseLoupeOption(v)
	return t.Strict != nil && *t.Strict
}

// ui prints in debhelper's manner.
type ui struct {
	name     string
	out, err io.Writer
	verbose  bool
	quiet    bool
}

func (u ui) errorf(format string, args ...any) {
	fmt.Fprintf(u.err, "%s: error: %s\n", u.name, fmt.Sprintf(format, args...))
}

func (u ui) warnf(format string, args ...any) {
	fmt.Fprintf(u.err, "%s: warning: %s\n", u.name, fmt.Sprintf(format, args...))
}

// infof prints unless quiet.
func (u ui) infof(format string, args ...any) {
	if !u.quiet {
		fmt.Fprintf(u.out, "%s: %s\n", u.name, fmt.Sprintf(format, args...))
	}
}

// command prints a command about to run, when verbose (or for --no-act).
func (u ui) command(argv []string) {
	if u.verbose {
		fmt.Fprintf(u.out, "\t%s\n", escapeShell(argv))
	}
}

var shellSpecial = regexp.MustCompile(`([\s!"$()*+#;<>?@\[\]\\` + "`" + `|~])`)

// escapeShell quotes like debhelper's escape_shell, so verbose output
// reads the same as other debhelper commands'.
func escapeShell(argv []string) string {
	out := make([]string, len(argv))
	for i, w := range argv {
		if strings.ContainsAny(w, " \t\n\r\f\v") {
			w = regexp.MustCompile("([\n`$\"\\\\])").ReplaceAllString(w, `\$1`)
			out[i] = `"` + w + `"`
			continue
		}
		out[i] = shellSpecial.ReplaceAllString(w, `\$1`)
	}
	return strings.Join(out, " ")
}

func parse(name string, pio IO) (*debhelper.Options, ui, int, bool) {
	u := ui{name: name, out: pio.Stdout, err: pio.Stderr}
	opts, err := debhelper.ParseOptions(pio.Args, pio.Env)
	if errors.Is(err, debhelper.ErrHelp) {
		fmt.Fprintf(pio.Stdout, "Usage: %s [debhelper options] [-- COMMAND [ARGS...]]\n\n  See %s(1).\n", name, name)
		return nil, u, 0, false
	}
	if err != nil {
		u.errorf("%v", err)
		return nil, u, 255, false
	}
	u.verbose, u.quiet = opts.Verbose, opts.Quiet
	for _, w := range opts.Warnings {
		u.warnf("%s", w)
	}
	return opts, u, 0, true
}

// loadSettings reads the source package and resolves the settings. A
// source that cannot be read is a problem of loupe's, not of the build.
func loadSettings(pio IO) (*debhelper.Source, *debhelper.Settings) {
	src, srcErr := debhelper.ReadSource(pio.Dir)
	var names []string
	if src != nil {
		names = src.PackageNames()
	}
	cfg, cfgErr := debhelper.LoadConfig(pio.Dir, names)
	s := debhelper.ResolveSettings(pio.Env, cfg, cfgErr)
	if srcErr != nil && s.Requested {
		// Without a request nothing needs the source's details: say
		// nothing, so that the build's output stays as without loupe.
		s.Problems = append(s.Problems, srcErr)
	}
	return src, s
}

// reportProblems prints settings problems: as errors when loupe was asked
// for, else as warnings that change nothing.
func reportProblems(u ui, s *debhelper.Settings) {
	for _, p := range s.Problems {
		if s.Requested {
			u.errorf("%v", p)
		} else {
			u.warnf("%v (loupe is not enabled for this build, so this changes nothing)", p)
		}
	}
}
