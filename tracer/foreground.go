package tracer

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// ForegroundContext gives a command running a traced workload the signal
// policy of a shell running a foreground job: SIGINT and SIGQUIT, which the
// terminal sends to the whole process group, are left to the workload (the
// caller waits for it to react), while SIGTERM and SIGHUP, aimed at the
// caller, cancel the context so the traced tree is killed.
//
// SIGINT and SIGQUIT are caught, not ignored: an ignored disposition would
// be inherited by the workload. Where the caller started with them ignored
// (a background job), they are left alone so the workload inherits that.
// Call stop when the run is over.
func ForegroundContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGHUP)
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
		cancel()
		signal.Stop(ch)
		close(ch)
	}
}
