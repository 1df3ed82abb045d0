package loupecli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/internal/datadir"
	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/version"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
)

func dbCommand() *cli.Command {
	return &cli.Command{
		Name:      "db",
		Usage:     "collect verdicts (and upstream loupedb results) into one dataset file",
		ArgsUsage: "[PATH...]",
		Description: "Each PATH is a verdict file (*.loupe.yaml), a .changes file, a dataset file to merge (a shard " +
			"of a distributed rebuild), a loupe simulate report (the dataset then records which applications " +
			"were run on which OS or plan step, and how that went), or a directory searched recursively for " +
			"*.changes, *.loupe.yaml, *.dataset.json and *.simulation.yaml (sbuild build directories, loupe rebuild " +
			"output, plain trees). One entry is kept per " +
			"package (or loupe analyze --app), architecture and workload kind: the newest Debian version wins, ties go to analyze over trace, then " +
			"status ok, then the lowest sha256; the others are kept as superseded, with their provenance. " +
			"Malformed files are reported with file, line and field and skipped; --strict makes them fatal.\n\n" +
			"--loupedb imports upstream Loupe results (DIR/apps/<app>/<workload>/<run>/data/dyn.csv); a DIR that holds " +
			"none (a file, a directory without apps/) is an error, whatever --strict says. --bundled-loupedb imports " +
			"the copy shipped with loupe (CC BY 4.0, /usr/share/loupe/loupedb; data/loupedb in a source tree; " +
			"LOUPE_DATA_DIR overrides).\n\n" +
			"Example: loupe db -o rebuild.dataset.json --bundled-loupedb rebuild-out/",
		Flags: []cli.Flag{
			outputFlag("dataset", ""),
			&cli.StringSliceFlag{Name: "loupedb", Usage: "import an upstream loupedb `DIR`"},
			&cli.BoolFlag{Name: "bundled-loupedb", Usage: "import the upstream loupedb results shipped with loupe"},
			&cli.BoolFlag{Name: "strict", Usage: "exit with status 1 if any input was malformed"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Usage: "files parsed in parallel, at most 256; 0: one per CPU", DefaultText: "0"},
		},
		Action: func(c *cli.Context) error {
			if err := limits.Count("--jobs", c.Int("jobs"), 0, limits.MaxJobs); err != nil {
				return fmt.Errorf("db: %w", err)
			}
			out, err := outputPath(c, "output")
			if err != nil {
				return err
			}
			ds := &dataset.Dataset{Schema: dataset.Schema}
			if c.NArg() > 0 {
				ds, err = dataset.Collect(c.Context, c.Args().Slice(), dataset.CollectOptions{Jobs: c.Int("jobs")})
				if err != nil {
					return fmt.Errorf("db: %w", err)
				}
			}
			dbs := c.StringSlice("loupedb")
			if c.Bool("bundled-loupedb") {
				dir, err := datadir.LoupeDB()
				if err != nil {
					return fmt.Errorf("db: --bundled-loupedb: %w", err)
				}
				dbs = append(dbs, dir)
			}
			for _, dir := range dbs {
				es, probs, err := loupedb.Import(dir)
				if err != nil {
					return fmt.Errorf("db: %w", err)
				}
				ds.Entries = dataset.Resolve(append(ds.Entries, es...))
				ds.Problems = append(ds.Problems, probs...)
			}
			if c.NArg() == 0 && len(dbs) == 0 {
				return fmt.Errorf("db: nothing to collect: give PATHs, --loupedb DIR or --bundled-loupedb")
			}
			ds.Loupe = version.Version
			for _, p := range ds.Problems {
				fmt.Fprintf(c.App.ErrWriter, "loupe db: warning: %s\n", p)
			}
			b, err := dataset.Marshal(ds)
			if err != nil {
				return err
			}
			if err := writeOutput("dataset", out, b, c.App.Writer); err != nil {
				return fmt.Errorf("db: %w", err)
			}
			if out != "" {
				sup := 0
				for _, e := range ds.Entries {
					sup += len(e.Superseded)
				}
				sims := ""
				switch n := len(ds.Simulations); {
				case n == 1:
					sims = ", 1 simulation"
				case n > 1:
					sims = fmt.Sprintf(", %d simulations", n)
				}
				fmt.Fprintf(c.App.ErrWriter, "loupe db: %d entries (%d superseded duplicates kept as provenance)%s, %d problems -> %s\n",
					len(ds.Entries), sup, sims, len(ds.Problems), out)
			}
			if c.Bool("strict") && len(ds.Problems) > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
}
