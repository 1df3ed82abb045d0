package loupecli

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/internal/datadir"
	"salsa.debian.org/loupe-team/loupe/internal/suggest"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/plan"
)

func planCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "order the syscalls an OS should implement, stub or fake to support applications",
		ArgsUsage: "DATASET",
		Description: "Reads a dataset (loupe db) and an OS support file, and prints an ordered plan: per step the " +
			"syscalls to implement, stub and fake, and the applications each step unlocks. Step 0 lists the " +
			"applications supported without implementing anything. Only status ok analyze verdicts count as " +
			"evidence; applications without them are listed as \"no data\". With trace-only data (or --naive) the " +
			"plan implements everything traced and says so. The yaml and json formats carry the schema " +
			"loupe/plan/v1 (doc/plan.md).\n\n" +
			osFileHelp + "\n\n" +
			"Example: loupe plan --os Kerla.syscalls --workload bench --apps nginx,redis dataset.json",
		Flags: append(planFlags(),
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, yaml or json"},
			&cli.BoolFlag{Name: "naive", Usage: "ignore stub/fake evidence: implement everything traced"},
			outputFlag("plan", ""),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("plan: want one DATASET argument (see loupe db)")
			}
			out, err := outputPath(c, "output")
			if err != nil {
				return err
			}
			ds, err := dataset.ReadFile(c.Args().First())
			if err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			in, err := readPlanInputs(c, ds)
			if err != nil {
				return err
			}
			p := plan.Auto(in.os, ds.Entries, in.workload, in.apps, in.costs, c.Bool("naive"))
			var buf bytes.Buffer
			if err := plan.Write(&buf, p, c.String("format")); err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			if err := writeOutput("plan", out, buf.Bytes(), c.App.Writer); err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			return nil
		},
	}
}

const osFileHelp = "The OS file (--os) has one implemented syscall name per line (upstream Loupe's <OS>.syscalls), or CSV " +
	"lines name,status with status implemented, stubbed or faked; without --os the OS implements nothing. " +
	"--os also takes the name of an OS file shipped with loupe: Browsix, Freebsd, Fuchsia, Graphene, Gvisor, " +
	"Hermitux, Kerla, LinuxNoLibc, Osv, Unikraft or Zephyr. " +
	"The cost file (--cost) has lines \"name cost\" (default cost 1)."

// planFlags are the options plan and report share, with the same meaning.
func planFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "os", Usage: "OS support `FILE`, or the name of a bundled one (Kerla): what the OS implements, stubs or fakes today", DefaultText: "an OS that implements nothing"},
		&cli.StringFlag{Name: "apps", Usage: "comma-separated `LIST` of applications", DefaultText: "all"},
		&cli.StringFlag{Name: "workload", Value: "any", Usage: "which workloads count: bench, suite or any"},
		&cli.StringFlag{Name: "cost", Usage: "per-syscall implementation cost `FILE`", DefaultText: "1 each"},
	}
}

// planInputs are what planFlags say, read and checked.
type planInputs struct {
	os       *plan.OS
	workload plan.Workload
	costs    map[string]float64
	apps     []string
}

// readPlanInputs reads the OS and cost files and the application list of
// plan or report, warning (with a suggestion) about names that are not
// syscalls or not in ds.
func readPlanInputs(c *cli.Context, ds *dataset.Dataset) (*planInputs, error) {
	name := c.Command.Name
	warn := func(w string) { fmt.Fprintf(c.App.ErrWriter, "loupe %s: warning: %s\n", name, w) }
	in := &planInputs{os: &plan.OS{Name: "an OS that implements nothing", State: map[string]plan.Action{}}}
	var err error
	if c.String("os") != "" {
		if in.os, err = readOSFlag(c); err != nil {
			return nil, err
		}
	}
	if in.workload, err = plan.ParseWorkload(c.String("workload")); err != nil {
		return nil, fmt.Errorf("%s: --%w", name, err)
	}
	if f := c.String("cost"); f != "" {
		if in.costs, err = plan.ReadCosts(f); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, a := range strings.Split(c.String("apps"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			in.apps = append(in.apps, a)
		}
	}
	for _, w := range plan.UnknownApps(ds.Entries, in.apps) {
		warn(w)
	}
	return in, nil
}

// readOSFlag reads the OS file --os names (a path, or a bundled OS's name),
// printing its warnings.
func readOSFlag(c *cli.Context) (*plan.OS, error) {
	name := c.Command.Name
	f, err := osFile(c.String("os"))
	if err != nil {
		return nil, fmt.Errorf("%s: --os: %w", name, err)
	}
	o, err := plan.ReadOS(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, w := range o.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "loupe %s: warning: %s\n", name, w)
	}
	return o, nil
}

// osFile returns the OS support file --os names: an existing file, else a
// bundled one by name, case aside ("kerla" is data/loupedb/Kerla.syscalls),
// else an error with the closest bundled name.
func osFile(v string) (string, error) {
	if _, err := os.Stat(v); err == nil || strings.ContainsRune(v, '/') {
		return v, nil // plan.ReadOS reports what is wrong with a path
	}
	names, paths, err := datadir.OSFiles()
	if err != nil {
		return "", fmt.Errorf("%s is not a file, and no bundled OS file can be looked up: %w", v, err)
	}
	want := strings.TrimSuffix(v, datadir.OSSuffix)
	for i, n := range names {
		if strings.EqualFold(n, want) {
			return paths[i], nil
		}
	}
	lower := make([]string, len(names))
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	hint := ""
	if s := suggest.Closest(lower, strings.ToLower(want)); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", names[slices.Index(lower, s)])
	}
	return "", fmt.Errorf("%s is neither a file nor a bundled OS%s; the bundled OS files are %s", v, hint, strings.Join(names, ", "))
}
