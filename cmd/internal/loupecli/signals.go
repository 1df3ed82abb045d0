package loupecli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// foregroundContext behaves like a shell running a foreground job: SIGINT
// and SIGQUIT, which the terminal sends to the whole process group, are
// left to the command (loupe waits for it to react), while SIGTERM and
// SIGHUP, aimed at loupe, cancel the context so the traced tree is killed.
//
// SIGINT and SIGQUIT are caught, not ignored: an ignored disposition would
// be inherited by the command. Where loupe itself started with them ignored
// (a background job), they are left alone so the command inherits that.
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
