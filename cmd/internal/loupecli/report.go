package loupecli

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/plan"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/report"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write a self-contained HTML report (effort curve, API importance, syscall grid, tables)",
		ArgsUsage: "DATASET",
		Description: "Writes one HTML page with inline SVG figures and no script or network access: the effort curve " +
			"(applications supported vs syscalls implemented, loupe's plan vs implementing everything traced), API " +
			"importance per syscall (loupe vs naive), a per-application syscall grid, the support plan and " +
			"per-application tables.\n\n" +
			"Example: loupe report --os Osv.syscalls --workload bench -o report.html dataset.json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "loupe-report.html", Usage: "HTML `FILE` to write"},
			&cli.StringFlag{Name: "os", Usage: "OS support `FILE` the effort curves start from (default: nothing supported)"},
			&cli.StringFlag{Name: "apps", Usage: "comma-separated `LIST` of applications (default: all)"},
			&cli.StringFlag{Name: "workload", Value: "any", Usage: "which workloads count: bench, suite or any"},
			&cli.StringFlag{Name: "cost", Usage: "per-syscall implementation cost `FILE`"},
			&cli.StringFlag{Name: "title", Value: "loupe report", Usage: "page title"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("report: want one DATASET argument (see loupe db)")
			}
			out := c.String("output")
			if err := checkOutput("report", "--output", out); err != nil {
				return err
			}
			ds, err := dataset.ReadFile(c.Args().First())
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			opt := report.Options{Title: c.String("title")}
			if f := c.String("os"); f != "" {
				if opt.OS, err = plan.ReadOS(f); err != nil {
					return fmt.Errorf("report: %w", err)
				}
				for _, w := range opt.OS.Warnings {
					fmt.Fprintf(c.App.ErrWriter, "loupe report: warning: %s\n", w)
				}
			}
			if opt.Workload, err = plan.ParseWorkload(c.String("workload")); err != nil {
				return fmt.Errorf("report: --%w", err)
			}
			if f := c.String("cost"); f != "" {
				if opt.Costs, err = plan.ReadCosts(f); err != nil {
					return fmt.Errorf("report: %w", err)
				}
			}
			for _, a := range strings.Split(c.String("apps"), ",") {
				if a = strings.TrimSpace(a); a != "" {
					opt.Apps = append(opt.Apps, a)
				}
			}
			var buf bytes.Buffer
			if err := report.Write(&buf, ds, opt); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			if err := writeOutput("report", out, buf.Bytes(), nil); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			fmt.Fprintf(c.App.ErrWriter, "loupe report: wrote %s (%d bytes)\n", out, buf.Len())
			return nil
		},
	}
}
