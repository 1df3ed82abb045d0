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

// checkOutput fails, before any work, when a file the command writes at
// the end could not be written (its directory is missing, read-only, ...).
func checkOutput(cmd, flag, path string) error {
	if err := atomicfile.CheckWritable(path); err != nil {
		return fmt.Errorf("%s: %s: %w", cmd, flag, err)
	}
	return nil
}

// writeOutput writes a command's result to path (atomically), or to w when
// path is "". If that fails all the same, the result is kept in a new file
// of the temporary directory, and the error says where: a finished result
// is never lost.
func writeOutput(what, path string, data []byte, w io.Writer) error {
	var err error
	if path == "" {
		if _, err = w.Write(data); err != nil {
			err = fmt.Errorf("write the %s to standard output: %w", what, err)
			path = what + ".out"
		}
	} else {
		err = atomicfile.WriteFile(path, data, 0o644)
	}
	if err == nil {
		return nil
	}
	kept, kerr := atomicfile.Keep(path, data)
	if kerr != nil {
		return fmt.Errorf("%w; the %s is lost: %v", err, what, kerr)
	}
	return fmt.Errorf("%w; the %s is kept in %s", err, what, kept)
}

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
	app.Commands = append(app.Commands, analyzeCommand(), dbCommand(), planCommand(), simulateCommand(), reportCommand(), rebuildCommand(), manCommand())
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
