package loupecli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/tracer"
	"salsa.debian.org/loupe-team/loupe/tracer/tracefile"
)

func traceCommand() *cli.Command {
	return &cli.Command{
		Name:      "trace",
		Usage:     "run a command and record the syscalls of whitelisted binaries",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Description: "Runs COMMAND under the tracer with its argv, environment, directory and stdio unchanged, " +
			"follows its whole process tree, and records the system calls of the processes running a --binary " +
			"(every process when no --binary is given, like strace -f). Other processes cost only their " +
			"fork, exec and exit events. --stub makes a syscall return -ENOSYS without running, --fake makes it " +
			"return 0 without running; both apply to whitelisted processes only. loupe exits as the command did " +
			"(the same code, or death by the same signal). Standard output is the command's: the trace (YAML, " +
			"schema loupe/trace/v1, see doc/trace-schema.md) goes to loupe-trace.yaml in the current directory, " +
			"or --output (- for standard output).",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "binary", Aliases: []string{"b"}, Usage: "whitelist this executable or script (repeatable)"},
			&cli.StringSliceFlag{Name: "binary-dir", Usage: "whitelist every executable under this directory (repeatable)"},
			&cli.StringSliceFlag{Name: "stub", Usage: "make this syscall (mkdir), sub-feature (fcntl:F_SETFD) or pseudo-file (/proc/self/status) fail: -ENOSYS, or -ENOENT for a pseudo-file"},
			&cli.StringSliceFlag{Name: "fake", Usage: "make this syscall or sub-feature return 0 without running; a faked pseudo-file exists but is empty"},
			&cli.StringSliceFlag{Name: "errno", Usage: "NAME=N: make this syscall fail with errno N"},
			outputFlag("trace", defaultTrace),
			granularityFlag("what to record"),
			// --record was the name of --granularity before analyze's
			// name was kept for both.
			&cli.StringFlag{Name: "record", Hidden: true},
			&cli.BoolFlag{Name: "errors", Usage: "also count failed calls (one more stop per syscall)"},
			&cli.StringFlag{Name: "counts", Value: "exact", Usage: "exact: count every call; seen: stop at a syscall (or sub-feature value) only until the binary has been seen to use it, " +
				"so a binary run many times pays for its first runs only (same sets, counts are lower bounds)"},
			&cli.BoolFlag{Name: "no-seccomp", Usage: "stop syscalls with PTRACE_SYSCALL only (two stops per syscall)"},
			followFlag,
			&cli.BoolFlag{Name: "kill-leftovers", Usage: "contain the command: kill everything it started that is still running when it exits, " +
				"processes the tracer cannot follow (clone with CLONE_UNTRACED) included, instead of detaching; as root the command then runs in a PID namespace of its own"},
		},
		Action: runTrace,
	}
}

// defaultTrace is where loupe trace writes without --output, in the
// current directory, as perf record writes perf.data: standard output is
// the traced command's.
const defaultTrace = "loupe-trace.yaml"

func runTrace(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		return fmt.Errorf("trace: no command given (usage: loupe trace [options] -- COMMAND [ARGS...])")
	}
	warnMisplacedOptions(c, args)
	gflag := "granularity"
	if c.IsSet("record") {
		if c.IsSet("granularity") {
			return errors.New("trace: --record is the old name of --granularity: give only --granularity")
		}
		gflag = "record"
		fmt.Fprintln(c.App.ErrWriter, "loupe trace: warning: --record is now --granularity, as in loupe analyze")
	}
	gran, err := parseGranularity(c, gflag)
	if err != nil {
		return err
	}
	opts := tracer.Options{Record: tracer.RecordSyscalls}
	switch gran {
	case verdict.GranFeatures:
		opts.Record |= tracer.RecordFeatures
	case verdict.GranPseudoFiles:
		opts.Record |= tracer.RecordFeatures | tracer.RecordPseudoFiles
	}
	if c.Bool("errors") {
		opts.Record |= tracer.RecordErrors
	}
	opts.NoSeccomp = c.Bool("no-seccomp")
	if opts.Follow, err = parseFollow(c); err != nil {
		return err
	}
	if opts.Counts, err = tracer.ParseCounts(c.String("counts")); err != nil {
		return fmt.Errorf("trace: --%w", err)
	}
	if c.Bool("kill-leftovers") {
		opts.Leftovers, opts.Contain = tracer.LeftoversKill, true
	}
	wl, err := whitelistFlags(c, "trace")
	if err != nil {
		return err
	}
	opts.Whitelist = wl
	rules, err := parseRules(c.StringSlice("stub"), c.StringSlice("fake"), c.StringSlice("errno"))
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	opts.Rules = rules
	out, err := outputPath(c, "output")
	if err != nil {
		return err
	}

	res, err := runCommand(c, "trace", "loupe: ", args, opts)
	if err != nil {
		return err
	}
	cwd, _ := os.Getwd()
	tf := tracefile.FromResult(args, cwd, rules, res)
	tf.Granularity = string(gran)
	doc, err := tracefile.Marshal(tf)
	if err != nil {
		return err
	}
	st := exitError{code: res.Exit.ShellCode(), sig: res.Exit.Signal}
	if err := writeOutput("trace", out, doc, c.App.Writer); err != nil {
		// The command ran: loupe still ends as it did.
		st.msg = "trace: " + err.Error()
	} else if !c.IsSet("output") {
		fmt.Fprintf(c.App.ErrWriter, "loupe: trace written to %s (-o FILE names another file, -o - writes to standard output)\n", out)
	}
	return st
}

// runCommand runs args under the tracer in the foreground, as the user's
// command (loupe trace and simulate), and prints the tracer's warnings
// with prefix. A command that cannot start is exit status 127.
func runCommand(c *cli.Context, cmd, prefix string, args []string, opts tracer.Options) (*tracer.Result, error) {
	ctx, stop := tracer.ForegroundContext(c.Context)
	defer stop()
	res, err := tracer.Run(ctx, tracer.Command{Path: args[0], Args: args}, opts)
	var se *tracer.StartError
	switch {
	case errors.As(err, &se):
		return nil, exitError{code: 127, msg: cmd + ": " + err.Error()}
	case errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("%s: %w", cmd, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(c.App.ErrWriter, prefix+"warning:", w)
	}
	return res, nil
}

// whitelistFlags builds the whitelist of --binary and --binary-dir; nil
// when neither is given.
func whitelistFlags(c *cli.Context, cmd string) (tracer.Matcher, error) {
	var ms []tracer.Matcher
	if bins := c.StringSlice("binary"); len(bins) > 0 {
		for _, b := range bins {
			fi, err := os.Stat(b)
			if err != nil {
				return nil, fmt.Errorf("%s: --binary %s: %w", cmd, b, err)
			}
			if fi.IsDir() {
				return nil, fmt.Errorf("%s: --binary %s: is a directory (use --binary-dir)", cmd, b)
			}
		}
		m, err := tracer.MatchPath(bins...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		ms = append(ms, m)
	}
	for _, d := range c.StringSlice("binary-dir") {
		// A typo must not silently whitelist nothing (and record nothing).
		if fi, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("%s: --binary-dir %s: %w", cmd, d, err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("%s: --binary-dir %s: not a directory (use --binary for one executable)", cmd, d)
		}
		m, err := tracer.MatchPrefix(d)
		if err != nil {
			return nil, fmt.Errorf("%s: --binary-dir %s: %w", cmd, d, err)
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return tracer.MatchAny(ms...), nil
}

// parseRules turns --stub/--fake/--errno values into rules, validating the
// names (with a suggestion for typos).
func parseRules(stubs, fakes, errnos []string) ([]tracer.Rule, error) {
	var rules []tracer.Rule
	add := func(r tracer.Rule) error {
		if err := tracer.ValidateRule(r); err != nil {
			return err
		}
		rules = append(rules, r)
		return nil
	}
	for _, s := range stubs {
		if err := add(tracer.Rule{Feature: s, Action: tracer.Stub}); err != nil {
			return nil, err
		}
	}
	for _, s := range fakes {
		if err := add(tracer.Rule{Feature: s, Action: tracer.Fake}); err != nil {
			return nil, err
		}
	}
	for _, s := range errnos {
		name, num, ok := strings.Cut(s, "=")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("--errno %q: want NAME=N, e.g. open=13", s)
		}
		if err := add(tracer.Rule{Feature: name, Action: tracer.Errno, Errno: n}); err != nil {
			return nil, err
		}
	}
	return rules, nil
}

// followFlag is --follow of loupe trace and loupe analyze.
var followFlag = &cli.StringFlag{Name: "follow", Value: "auto",
	Usage: "how to follow the process tree: notify (seccomp user notification on exec: out-of-scope processes never stop; implies --kill-leftovers), ptrace (trace every process), or auto (notify for contained runs where the kernel allows it without no_new_privs)"}
