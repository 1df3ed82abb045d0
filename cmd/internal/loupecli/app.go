package loupecli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/suggest"
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

// Stdout is the --output value that means standard output, as for most
// Unix tools.
const Stdout = "-"

// outputFlag is the --output/-o of a command whose result is what. def is
// the file written without --output ("" = standard output).
func outputFlag(what, def string) *cli.StringFlag {
	f := &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: def,
		Usage: "write the " + what + " to `FILE`, atomically (- for standard output)"}
	if def == "" {
		f.DefaultText = "standard output"
	}
	return f
}

// outputPath returns where a command writes its result, "" for standard
// output, after checking, before any work, that it can be written: a file
// the command writes at the end must not be found unwritable (its
// directory missing, read-only...) only after the work is done.
func outputPath(c *cli.Context, flag string) (string, error) {
	path := c.String(flag)
	if path == Stdout || path == "" {
		return "", nil
	}
	return path, checkOutput(c.Command.Name, "--"+flag, path)
}

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
			"to tell what an OS must implement, may stub, or may fake. \"loupe help COMMAND\" describes a " +
			"command; man loupe has examples.",
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		// urfave's help command answers an unknown name with "No help
		// topic" and status 0; helpCommand says "unknown command" and
		// lists the commands.
		HideHelpCommand: true,
		Commands:        []*cli.Command{traceCommand()},
		ExitErrHandler:  func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return unknownCommand(c, c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	app.Commands = append(app.Commands, analyzeCommand(), dbCommand(), planCommand(), simulateCommand(), reportCommand(),
		rebuildCommand(), helpCommand(), completionCommand())
	return app
}

func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "list the commands, or describe one",
		ArgsUsage: "[COMMAND]",
		Action: func(c *cli.Context) error {
			switch c.NArg() {
			case 0:
				return cli.ShowAppHelp(c)
			case 1:
				name := c.Args().First()
				if cmd := c.App.Command(name); cmd == nil || cmd.Hidden {
					return unknownCommand(c, name)
				}
				// From the root's context: this command's own one lists
				// only the help subcommand urfave gives every command.
				return cli.ShowCommandHelp(c.Lineage()[1], name)
			}
			return fmt.Errorf("help: want one COMMAND, got %d words", c.NArg())
		},
	}
}

// unknownCommand is the error for a command name loupe does not have: it
// says so, suggests the closest command and lists them all.
func unknownCommand(c *cli.Context, name string) error {
	var names []string
	for _, cmd := range c.App.VisibleCommands() {
		names = append(names, cmd.Name)
	}
	hint := ""
	if s := suggest.Closest(names, name); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", s)
	}
	return fmt.Errorf("unknown command %q%s; the commands are: %s (\"loupe help COMMAND\" describes one)",
		name, hint, strings.Join(names, ", "))
}

// warnMisplacedOptions warns about the words of a workload command (args,
// after "--" or after the first word that is not an option) that are long
// options of the loupe command itself: "loupe analyze --binary X -- cmd
// --replicas 1" passes --replicas to cmd, which is what the user asked for
// only sometimes. Short options (-o, -j, -r) are left alone: too many
// programs have them.
func warnMisplacedOptions(c *cli.Context, args []string) {
	if len(args) < 2 {
		return
	}
	names := map[string]bool{}
	for _, f := range c.Command.VisibleFlags() {
		for _, n := range f.Names() {
			if len(n) > 1 && n != "help" {
				names[n] = true
			}
		}
	}
	var found []string
	seen := map[string]bool{}
	for _, a := range args[1:] {
		n, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue
		}
		n, _, _ = strings.Cut(n, "=")
		if names[n] && !seen[n] {
			seen[n] = true
			found = append(found, "--"+n)
		}
	}
	if len(found) == 0 {
		return
	}
	are, them := "is an option", "it"
	if len(found) > 1 {
		are, them = "are options", "them"
	}
	fmt.Fprintf(c.App.ErrWriter, "loupe %s: warning: %s %s of loupe %s, but %s after the command, so %s passed to %s, not to loupe; "+
		"to give %s to loupe, write %s before the command: loupe %s [options] -- COMMAND [ARGS...]\n",
		c.Command.Name, strings.Join(found, ", "), are, c.Command.Name, pick(len(found) > 1, "they come", "it comes"),
		pick(len(found) > 1, "they are", "it is"), args[0], them, them, c.Command.Name)
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
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
