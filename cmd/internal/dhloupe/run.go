package dhloupe

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Run is the commands' main: it runs the command named by argv0 in this
// process's context, with the real tracer and analysis engine.
func Run(argv0 string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.Getwd()
	if err != nil {
		os.Stderr.WriteString("dh_loupe: error: " + err.Error() + "\n")
		return 255
	}
	return Main(ctx, argv0, IO{Args: os.Args[1:], Env: os.Environ(), Dir: dir,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, defaultDeps())
}
