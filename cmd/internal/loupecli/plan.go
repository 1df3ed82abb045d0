package loupecli

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/plan"
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
			"plan implements everything traced and says so.\n\n" +
			"The OS file has one implemented syscall name per line, or CSV lines name,status with status " +
			"implemented, stubbed or faked. The cost file has lines \"name cost\" (default cost 1).\n\n" +
			"Example: loupe plan --os Kerla.syscalls --workload bench --apps nginx,redis dataset.json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "os", Usage: "OS support `FILE`", Required: true},
			&cli.StringFlag{Name: "apps", Usage: "comma-separated `LIST` of applications (default: all)"},
			&cli.StringFlag{Name: "workload", Value: "any", Usage: "which workloads count: bench, suite or any"},
			&cli.StringFlag{Name: "cost", Usage: "per-syscall implementation cost `FILE`"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, yaml or json"},
			&cli.BoolFlag{Name: "naive", Usage: "ignore stub/fake evidence: implement everything traced"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the plan to `FILE` (atomically) instead of stdout"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("plan: want one DATASET argument (see loupe db)")
			}
			out := c.String("output")
			if out != "" {
				if err := checkOutput("plan", "--output", out); err != nil {
					return err
				}
			}
			ds, err := dataset.ReadFile(c.Args().First())
			if err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			p, err := makePlan(c, ds, "plan")
			if err != nil {
				return err
			}
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

// makePlan computes the plan of --os, --workload, --cost, --apps and
// --naive for ds, as loupe plan does; cmd names the command in messages.
func makePlan(c *cli.Context, ds *dataset.Dataset, cmd string) (*plan.Plan, error) {
	o, err := readOS(c, cmd)
	if err != nil {
		return nil, err
	}
	return planFor(c, o, ds, cmd)
}

// readOS reads --os, printing its warnings.
func readOS(c *cli.Context, cmd string) (*plan.OS, error) {
	o, err := plan.ReadOS(c.String("os"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	for _, w := range o.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "loupe %s: warning: %s\n", cmd, w)
	}
	return o, nil
}

func planFor(c *cli.Context, o *plan.OS, ds *dataset.Dataset, cmd string) (*plan.Plan, error) {
	w, err := plan.ParseWorkload(c.String("workload"))
	if err != nil {
		return nil, fmt.Errorf("%s: --%w", cmd, err)
	}
	var costs map[string]float64
	if f := c.String("cost"); f != "" {
		if costs, err = plan.ReadCosts(f); err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
	}
	var only []string
	for _, a := range strings.Split(c.String("apps"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			only = append(only, a)
		}
	}
	return plan.Auto(o, ds.Entries, w, only, costs, c.Bool("naive")), nil
}
