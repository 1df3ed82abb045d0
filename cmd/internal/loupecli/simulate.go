package loupecli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/internal/version"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/plan"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/simulate"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

func simulateCommand() *cli.Command {
	return &cli.Command{
		Name:      "simulate",
		Usage:     "run a workload as an OS with the support of an OS file would",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Description: "Runs COMMAND as an OS that implements, stubs and fakes what --os lists would run it. For the " +
			"whitelisted binaries (--binary, --binary-dir) only: an implemented syscall runs; a stubbed one returns " +
			"-ENOSYS and a faked one 0 without running; a syscall the file does not list returns -ENOSYS, as on an OS " +
			"that lacks it. When the file names sub-features (ioctl:TCGETS) of an implemented syscall, its other " +
			"sub-features are lacking too; when it names pseudo-files (/proc/self/status), every other pseudo-file is " +
			"absent (-ENOENT). With --plan-step N --dataset D, the OS is the one after step N of the plan loupe plan " +
			"computes for --os on D (with the same --workload, --cost, --apps and --naive).\n\n" +
			"loupe exits as the command did. On stderr it prints how the workload ended and every syscall (sub-feature, " +
			"pseudo-file) the OS lacks that was called, with its count, what it returned and which line of the OS " +
			"file (or plan step) answered it; --output writes the same as a YAML report (schema loupe/simulation/v1, " +
			"doc/simulate.md), which loupe db can add to a dataset.\n\n" +
			"Example: loupe simulate --os Kerla.syscalls --binary ./server --app myserver -o kerla.simulation.yaml -- make check",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "os", Usage: "OS support `FILE` (the format loupe plan reads), or the name of a bundled one (Kerla)", Required: true},
			&cli.StringSliceFlag{Name: "binary", Aliases: []string{"b"}, Usage: "simulate the OS for this executable or script (repeatable)"},
			&cli.StringSliceFlag{Name: "binary-dir", Usage: "simulate the OS for every executable under this directory (repeatable)"},
			&cli.StringFlag{Name: "app", Usage: "the application `NAME` the workload exercises, as in the dataset (recorded in the report; loupe db needs it)"},
			&cli.IntFlag{Name: "plan-step", DefaultText: "none", Usage: "simulate the OS after step `N` of its plan (needs --dataset)"},
			&cli.StringFlag{Name: "dataset", Usage: "the dataset `FILE` (loupe db) the plan is computed from"},
			&cli.StringFlag{Name: "workload", Value: "any", Usage: "with --plan-step: which workloads count, as in loupe plan"},
			&cli.StringFlag{Name: "cost", Usage: "with --plan-step: per-syscall implementation cost `FILE`, as in loupe plan"},
			&cli.StringFlag{Name: "apps", Usage: "with --plan-step: comma-separated `LIST` of applications, as in loupe plan"},
			&cli.BoolFlag{Name: "naive", Usage: "with --plan-step: the naive plan, as in loupe plan"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report (YAML) to `FILE`, atomically (- for standard output)", DefaultText: "none: the summary on standard error only"},
			&cli.BoolFlag{Name: "no-seccomp", Usage: "stop syscalls with PTRACE_SYSCALL only (two stops per syscall)"},
		},
		Action: runSimulate,
	}
}

func runSimulate(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		return fmt.Errorf("simulate: no command given (usage: loupe simulate --os FILE --binary PATH [options] -- COMMAND [ARGS...])")
	}
	warnMisplacedOptions(c, args)
	step, dsPath := c.Int("plan-step"), c.String("dataset")
	switch {
	case c.IsSet("plan-step") && step < 0:
		return fmt.Errorf("simulate: --plan-step %d: want a step number, 0 or more", step)
	case c.IsSet("plan-step") != (dsPath != ""):
		return fmt.Errorf("simulate: --plan-step and --dataset go together: the plan is computed from the dataset")
	}
	wl, err := whitelistFlags(c, "simulate")
	if err != nil {
		return err
	}
	if wl == nil {
		// Everything in scope would simulate the OS for the shell and
		// make(1) too, which the OS developer does not port.
		return fmt.Errorf("simulate: give the binaries to simulate the OS for (--binary, --binary-dir)")
	}
	// "" is standard output, as for every command, but a report is only
	// written when asked for.
	report := c.String("output") != ""
	out, err := outputPath(c, "output")
	if err != nil {
		return err
	}

	rep := &simulate.Report{Loupe: version.Version, App: c.String("app"), Command: args}
	rep.OS.File, err = osFile(c.String("os"))
	if err != nil {
		return fmt.Errorf("simulate: --os: %w", err)
	}
	rep.OS.SHA256 = fileSHA256(rep.OS.File)
	var o *plan.OS
	if c.IsSet("plan-step") {
		ds, err := dataset.ReadFile(dsPath)
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		in, err := readPlanInputs(c, ds)
		if err != nil {
			return err
		}
		o = in.os
		p := plan.Auto(o, ds.Entries, in.workload, in.apps, in.costs, c.Bool("naive"))
		if step >= len(p.Steps) {
			return fmt.Errorf("simulate: --plan-step %d: the plan has steps 0 to %d (loupe plan --os %s %s shows them)",
				step, len(p.Steps)-1, rep.OS.File, dsPath)
		}
		after, err := p.AfterStep(o, step)
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		rep.Plan = &simulate.PlanStep{Dataset: dsPath, DatasetSHA256: fileSHA256(dsPath), Workload: p.Workload,
			Step: step, Steps: len(p.Steps), Supported: p.SupportedAt(step)}
		if rep.App != "" {
			claimed := false
			for _, a := range rep.Plan.Supported {
				claimed = claimed || a == rep.App
			}
			rep.Plan.AppClaimed = &claimed
		}
		// The OS file's own warnings were printed when it was read.
		for _, w := range p.Warnings {
			if !slices.Contains(o.Warnings, w) {
				rep.Warnings = append(rep.Warnings, w)
			}
		}
		o = after
	} else if o, err = readOSFlag(c); err != nil {
		return err
	}
	rep.OS.Name = o.Name
	rep.OS.Implemented, rep.OS.Stubbed, rep.OS.Faked = o.Count(plan.Implemented), o.Count(plan.Stubbed), o.Count(plan.Faked)
	rep.OS.Features, rep.OS.PseudoFiles = len(o.Features), len(o.PseudoFiles)
	for _, b := range c.StringSlice("binary") {
		rep.Binaries = append(rep.Binaries, absPath(b))
	}
	for _, d := range c.StringSlice("binary-dir") {
		rep.Binaries = append(rep.Binaries, absPath(d)+"/")
	}

	simRules, warnings := o.SimulationRules()
	rep.Warnings = append(rep.Warnings, warnings...)
	rules := make([]tracer.Rule, 0, len(simRules))
	for _, r := range simRules {
		a := map[plan.Action]tracer.Action{plan.Implemented: tracer.Allow, plan.Stubbed: tracer.Stub, plan.Faked: tracer.Fake}[r.Action]
		rules = append(rules, tracer.Rule{Feature: r.Feature, Action: a})
	}
	opts := tracer.Options{Whitelist: wl, Rules: rules, Record: tracer.RecordNone, NoSeccomp: c.Bool("no-seccomp")}

	res, err := runCommand(c, "simulate", "loupe simulate: ", args, opts)
	if err != nil {
		return err
	}
	rep.Dir, _ = os.Getwd()
	rep.Exit = res.Exit.Record()
	rep.Passed = res.Exit.Success()
	rep.WallSeconds = float64(res.Wall.Milliseconds()) / 1000
	hits := simulate.Hits{Total: res.RuleHits, ByBinary: map[string]map[string]uint64{}}
	for _, b := range res.Binaries {
		if len(b.RuleHits) > 0 {
			hits.ByBinary[b.Path] = b.RuleHits
		}
	}
	rep.Build(hits, func(key string) (string, string, string) {
		a, origin := o.Answer(key)
		return a.String(), plan.Returns(key, a), origin
	})
	if err := simulate.WriteSummary(c.App.ErrWriter, "loupe simulate: ", rep); err != nil {
		return err
	}
	st := exitError{code: res.Exit.ShellCode(), sig: res.Exit.Signal}
	if report {
		doc, err := rep.Marshal()
		if err != nil {
			return err
		}
		if err := writeOutput("simulation report", out, doc, c.App.Writer); err != nil {
			// The command ran: loupe still ends as it did.
			st.msg = "simulate: " + err.Error()
		}
	}
	return st
}

func fileSHA256(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
