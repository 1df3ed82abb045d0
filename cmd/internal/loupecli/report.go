package loupecli

import (
	"bytes"
	"fmt"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/report"
)

// defaultReport is where loupe report writes without --output.
const defaultReport = "loupe-report.html"

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write a self-contained HTML report (effort curve, API importance, syscall grid, tables)",
		ArgsUsage: "DATASET",
		Description: "Writes one HTML page with inline SVG figures and no script or network access: the effort curve " +
			"(applications supported vs syscalls implemented, loupe's plan vs implementing everything traced), API " +
			"importance per syscall (loupe vs naive), a per-application syscall grid, the support plan and " +
			"per-application tables. With --os, everything is relative to that OS: what it implements, stubs or " +
			"fakes is marked, and what it lacks comes first.\n\n" +
			osFileHelp + "\n\n" +
			"Example: loupe report --os Osv.syscalls --workload bench -o report.html dataset.json",
		Flags: append(planFlags(),
			outputFlag("report", defaultReport),
			&cli.StringFlag{Name: "title", Value: "loupe report", Usage: "page title"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("report: want one DATASET argument (see loupe db)")
			}
			out, err := outputPath(c, "output")
			if err != nil {
				return err
			}
			ds, err := dataset.ReadFile(c.Args().First())
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			in, err := readPlanInputs(c, ds)
			if err != nil {
				return err
			}
			opt := report.Options{Title: c.String("title"), Workload: in.workload, Costs: in.costs, Apps: in.apps}
			if c.String("os") != "" {
				opt.OS = in.os
			}
			var buf bytes.Buffer
			if err := report.Write(&buf, ds, opt); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			if err := writeOutput("report", out, buf.Bytes(), c.App.Writer); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			if out != "" {
				fmt.Fprintf(c.App.ErrWriter, "loupe report: wrote %s (%d bytes)\n", out, buf.Len())
			}
			return nil
		},
	}
}
