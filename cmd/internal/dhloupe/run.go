package dhloupe

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"salsa.debian.org/loupe-team/loupe/tracer"
)

// Run is the commands' main: it runs the command named by argv0 in this
// process's context, with the real tracer and analysis engine, and exits
// as the command ends (re-raising a signal that killed the test step).
func Run(argv0 string) {
	var (
		ctx  context.Context
		stop func()
	)
	if filepath.Base(argv0) == "dh_loupe_verdict" {
		// The analyses run their workloads in process groups of their own,
		// so a terminal's Ctrl-C reaches only dh_loupe_verdict: it must
		// cancel them (the state directory keeps what finished).
		ctx, stop = signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	} else {
		ctx, stop = tracer.ForegroundContext(context.Background())
	}
	dir, err := os.Getwd()
	if err != nil {
		os.Stderr.WriteString("dh_loupe: error: " + err.Error() + "\n")
		os.Exit(255)
	}
	st := Main(ctx, argv0, IO{Args: os.Args[1:], Env: os.Environ(), Dir: dir,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, defaultDeps())
	stop()
	tracer.Exit(st)
}
