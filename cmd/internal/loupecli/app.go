// Package loupecli is the `loupe` command line: it turns arguments into calls
// on tracer, pkganalyze and debhelper and does nothing else. New builds the
// urfave/cli application, so tests and the man-page generator use the same
// definition as the binary.
package loupecli

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/version"
)

// exitError carries an exit status (and a message to print, if any) out of
// a command.
type exitError struct {
	code int
	sig  syscall.Signal
	msg  string
}

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func writeFileAtomic(path string, data []byte) error { return atomicfile.WriteFile(path, data, 0o644) }

// New returns the loupe application.
func New(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "loupe",
		Usage:   "find the Linux system calls an application really needs",
		Version: version.Version,
		Description: "loupe runs a workload (a test suite, a benchmark) under a ptrace tracer, records the system " +
			"calls that whitelisted binaries make, and tests each one stubbed (-ENOSYS) and faked (success) " +
			"to tell what an OS must implement, may stub, or may fake.",
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Commands:             []*cli.Command{traceCommand()},
		ExitErrHandler:       func(*cli.Context, error) {},
	}
	app.Commands = append(app.Commands, analyzeCommand(), dbCommand(), planCommand(), reportCommand(), rebuildCommand(), manCommand())
	return app
}

// Run runs the application and returns the exit status, and the signal
// that should end loupe when it mirrors a command killed by one.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) (int, syscall.Signal) {
	app := New(stdin, stdout, stderr)
	err := app.Run(args)
	var ee exitError
	switch {
	case err == nil:
		return 0, 0
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(stderr, "loupe: %s\n", ee.msg)
		}
		return ee.code, ee.sig
	default:
		fmt.Fprintf(stderr, "loupe: %v\n", err)
		return 2, 0
	}
}

func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the loupe(1) man page (roff)",
		Hidden: true,
		Action: func(c *cli.Context) error {
			s, err := c.App.ToManWithSection(1)
			if err != nil {
				return err
			}
			_, err = io.WriteString(c.App.Writer, s)
			return err
		},
	}
}
