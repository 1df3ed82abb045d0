package dhloupe

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"salsa.debian.org/loupe-team/loupe/tracer"
)

// Run is the commands' main: it runs the command named by argv0 in this
// process's context, with the real tracer and analysis engine, and exits
// as the command ends (re-raising a signal that killed the test step).
func Run(argv0 string) {
	ctx, stop := foregroundContext(context.Background())
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

// foregroundContext behaves like a shell running a foreground job: SIGINT
// and SIGQUIT, which the terminal sends to the whole process group, are
// left to the test step (dh_loupe waits for it to react), while SIGTERM and
// SIGHUP, aimed at the build, cancel the context so the traced tree is
// killed. (The same policy as loupe trace.)
func foregroundContext(parent context.Context) (context.Context, func()) {
	ctx, stop := signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGHUP)
	ch := make(chan os.Signal, 4)
	for _, s := range []os.Signal{syscall.SIGINT, syscall.SIGQUIT} {
		if !signal.Ignored(s) {
			signal.Notify(ch, s)
		}
	}
	go func() {
		for range ch {
		}
	}()
	return ctx, func() {
		stop()
		signal.Stop(ch)
		close(ch)
	}
}
