package loupecli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/debhelper/rebuild"
	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/progress"
	"salsa.debian.org/loupe-team/loupe/internal/version"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/dataset"
)

func rebuildCommand() *cli.Command {
	return &cli.Command{
		Name:      "rebuild",
		Usage:     "rebuild source packages with sbuild and dh_loupe enabled, resumably",
		ArgsUsage: "[SOURCE...]",
		Description: "Builds each SOURCE (an existing .dsc, or a source package name or name_version that sbuild fetches; " +
			"anything else, such as a path or \"..\", is refused before any build) " +
			"with sbuild --chroot-mode=unshare, DH_EXTRA_ADDONS=loupe (through $build_environment in a generated " +
			"SBUILD_CONFIG) and the dh-loupe .deb injected (--extra-package, --add-depends=dh-loupe). Each " +
			"package builds in OUT/pkgs/<name>; OUT/rebuild-journal.jsonl records each outcome, so a run that was " +
			"stopped continues where it was and finished packages are skipped. Statuses: built, tests-failed, " +
			"insensitive, loupe-error, build-failed. OUT is an input of loupe db (or use --db).\n\n" +
			"Example: loupe rebuild --chroot bookworm.tar.zst --dh-loupe-deb dh-loupe_0.2.0_amd64.deb " +
			"--out rebuild --jobs 2 --db rebuild.dataset.json sed bzip2 hello",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "chroot", Required: true, Usage: "sbuild chroot tarball `FILE` (mmdebstrap --mode=unshare --variant=buildd)"},
			&cli.StringFlag{Name: "dh-loupe-deb", Required: true, Usage: "the dh-loupe .deb `FILE` to inject (make deb)"},
			&cli.StringFlag{Name: "out", Value: "loupe-rebuild", Usage: "output `DIR`"},
			&cli.StringFlag{Name: "dist", Value: "bookworm", Usage: "distribution (sbuild --dist)"},
			&cli.StringFlag{Name: "mode", Usage: "loupe mode put in DEB_BUILD_OPTIONS: trace or analyze (default: dh_loupe's)"},
			&cli.StringFlag{Name: "list", Usage: "read SOURCEs from `FILE`, one per line"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: "parallel builds (1 to 256)"},
			&cli.BoolFlag{Name: "retry-failed", Usage: "rebuild recorded packages whose status is not built"},
			&cli.StringFlag{Name: "db", Usage: "then collect OUT into the dataset `FILE`"},
			&cli.StringSliceFlag{Name: "sbuild-arg", Usage: "extra sbuild argument (repeatable)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print neither each package nor the progress on stderr"},
		},
		Action: func(c *cli.Context) error {
			specs := c.Args().Slice()
			if f := c.String("list"); f != "" {
				l, err := readList(f)
				if err != nil {
					return fmt.Errorf("rebuild: %w", err)
				}
				specs = append(specs, l...)
			}
			if len(specs) == 0 {
				return fmt.Errorf("rebuild: no source packages given")
			}
			if err := rebuild.CheckSpecs(specs); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			if err := limits.Count("--jobs", c.Int("jobs"), 1, limits.MaxJobs); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			switch m := c.String("mode"); m {
			case "", "trace", "analyze":
			default:
				return fmt.Errorf("rebuild: --mode %q: want trace or analyze", m)
			}
			out, err := filepath.Abs(c.String("out"))
			if err != nil {
				return err
			}
			db := c.String("db")
			if db != "" {
				if err := checkOutput("rebuild", "--db", db); err != nil {
					return err
				}
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			deb, _ := filepath.Abs(c.String("dh-loupe-deb"))
			chroot, _ := filepath.Abs(c.String("chroot"))
			sb := &rebuild.Sbuild{Chroot: chroot, Dist: c.String("dist"), DhLoupeDeb: deb, Mode: c.String("mode"),
				Config: filepath.Join(out, "sbuild.conf"), Extra: c.StringSlice("sbuild-arg")}
			if err := sb.Check(); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			if err := sb.WriteConfig(); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			opt := rebuild.Options{Out: out, Jobs: c.Int("jobs"), RetryFailed: c.Bool("retry-failed")}
			if !c.Bool("quiet") {
				p := progress.New(c.App.ErrWriter, "loupe rebuild: ", progress.Options{What: "packages"})
				opt.Progress = p.Log(c.App.ErrWriter)
				opt.Done = func(done, planned int) { p.Update(progress.State{Done: done, Planned: planned}) }
				p.Start()
				defer p.Stop()
			}
			results, runErr := rebuild.Run(c.Context, sb, specs, opt)
			rebuild.Summary(c.App.Writer, results)
			if runErr != nil {
				return runErr
			}
			if db != "" {
				ds, err := dataset.Collect(c.Context, []string{out}, dataset.CollectOptions{})
				if err != nil {
					return fmt.Errorf("rebuild: %w", err)
				}
				ds.Loupe = version.Version
				b, err := dataset.Marshal(ds)
				if err != nil {
					return fmt.Errorf("rebuild: %w", err)
				}
				if err := writeOutput("dataset", db, b, nil); err != nil {
					return fmt.Errorf("rebuild: %w (the builds are in %s: loupe db -o FILE %s collects them again)", err, out, out)
				}
				fmt.Fprintf(c.App.Writer, "loupe rebuild: %d dataset entries, %d problems -> %s\n", len(ds.Entries), len(ds.Problems), db)
			}
			return nil
		},
	}
}

func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}
