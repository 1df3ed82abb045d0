package loupecli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"salsa.debian.org/loupe-team/loupe/debhelper/rebuild"
	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/progress"
	"salsa.debian.org/loupe-team/loupe/internal/version"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

func rebuildCommand() *cli.Command {
	return &cli.Command{
		Name:      "rebuild",
		Usage:     "rebuild source packages with sbuild (locally or on debusine) and dh_loupe enabled, resumably",
		ArgsUsage: "[SOURCE...]",
		Description: "Builds each SOURCE (an existing .dsc, or a source package name or name_version that sbuild fetches; " +
			"anything else, such as a path or \"..\", is refused before any build) with dh_loupe enabled, on one of two backends.\n\n" +
			"--backend sbuild (default): sbuild --chroot-mode=unshare on this machine, DH_EXTRA_ADDONS=loupe " +
			"(through $build_environment in a generated SBUILD_CONFIG, which also makes the build user root inside " +
			"sbuild's user namespace, so that loupe=analyze gets namespaces isolation) and the dh-loupe .deb injected " +
			"(--extra-package, --add-depends=dh-loupe).\n\n" +
			"--backend debusine: each SOURCE (a .dsc) is uploaded to a debusine server and built by an sbuild work " +
			"request in --environment, a system tarball where dh-loupe is installed and enabled " +
			"(scripts/debusine-local makes one; see doc/debusine.md). The server, scope and token come from the " +
			"debusine client's config.ini. Work in flight is recorded in OUT/debusine-work-requests.jsonl: a run " +
			"that was stopped follows it instead of submitting again. Build logs, .changes and verdicts are " +
			"downloaded; the .debs stay on the server. --jobs is the number of work requests in flight.\n\n" +
			"Each package lands in OUT/pkgs/<name>; OUT/rebuild-journal.jsonl records each outcome, so a run that was " +
			"stopped continues where it was and finished packages are skipped. Statuses: built, tests-failed, " +
			"insensitive, loupe-error, build-failed. OUT is an input of loupe db (or use --db).\n\n" +
			"Example: loupe rebuild --chroot bookworm.tar.zst --dh-loupe-deb dh-loupe_0.2.0_amd64.deb " +
			"--out rebuild --jobs 2 --db rebuild.dataset.json sed bzip2 hello\n" +
			"Example: loupe rebuild --backend debusine --workspace loupe --environment 12 --mode trace " +
			"--out rebuild --jobs 50 sed_4.9-1.dsc",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "backend", Value: "sbuild", Usage: "where to build: sbuild (this machine) or debusine"},
			&cli.StringFlag{Name: "chroot", Usage: "sbuild: chroot tarball `FILE` (mmdebstrap --mode=unshare --variant=buildd)"},
			&cli.StringFlag{Name: "dh-loupe-deb", Usage: "sbuild: the dh-loupe .deb `FILE` to inject (make deb)"},
			&cli.StringFlag{Name: "out", Value: "loupe-rebuild", Usage: "output `DIR`"},
			&cli.StringFlag{Name: "dist", Value: "bookworm", Usage: "sbuild: distribution (sbuild --dist)"},
			&cli.StringFlag{Name: "mode", Usage: "loupe mode: trace or analyze (sbuild: put in DEB_BUILD_OPTIONS; debusine: checked against the environment's)"},
			&cli.StringFlag{Name: "list", Usage: "read SOURCEs from `FILE`, one per line"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: "parallel builds, 1 to 256 (debusine: work requests in flight)"},
			&cli.BoolFlag{Name: "retry-failed", Usage: "rebuild recorded packages whose status is not built"},
			&cli.StringFlag{Name: "db", Usage: "then collect OUT into the dataset `FILE`"},
			&cli.StringSliceFlag{Name: "sbuild-arg", Usage: "sbuild: extra sbuild argument (repeatable)"},
			&cli.StringFlag{Name: "debusine-config", Usage: "debusine: the client's config `FILE` (default ~/.config/debusine/client/config.ini)"},
			&cli.StringFlag{Name: "server", Usage: "debusine: server `NAME` or api-url in that file (default: its default-server)"},
			&cli.StringFlag{Name: "workspace", Usage: "debusine: `WORKSPACE` for the uploads and work requests"},
			&cli.StringFlag{Name: "environment", Usage: "debusine: environment `LOOKUP` or artifact id with dh-loupe enabled"},
			&cli.StringFlag{Name: "arch", Value: "amd64", Usage: "debusine: host architecture"},
			&cli.DurationFlag{Name: "poll", Value: 10 * time.Second, Usage: "debusine: how often to ask for a work request's status"},
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
			var b rebuild.Builder
			switch c.String("backend") {
			case "sbuild":
				if c.String("chroot") == "" || c.String("dh-loupe-deb") == "" {
					return fmt.Errorf("rebuild: --backend sbuild needs --chroot and --dh-loupe-deb")
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
				b = sb
			case "debusine":
				d, err := newDebusine(c, out)
				if err != nil {
					return fmt.Errorf("rebuild: %w", err)
				}
				defer d.Close()
				b = d
			default:
				return fmt.Errorf("rebuild: --backend %q: want sbuild or debusine", c.String("backend"))
			}
			opt := rebuild.Options{Out: out, Jobs: c.Int("jobs"), RetryFailed: c.Bool("retry-failed")}
			if !c.Bool("quiet") {
				p := progress.New(c.App.ErrWriter, "loupe rebuild: ", progress.Options{What: "packages"})
				opt.Progress = p.Log(c.App.ErrWriter)
				opt.Done = func(done, planned int) { p.Update(progress.State{Done: done, Planned: planned}) }
				p.Start()
				defer p.Stop()
			}
			results, runErr := rebuild.Run(c.Context, b, specs, opt)
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

// newDebusine configures the debusine backend from the command line and
// the debusine client's own configuration file.
func newDebusine(c *cli.Context, out string) (*rebuild.Debusine, error) {
	conf := c.String("debusine-config")
	if conf == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		conf = filepath.Join(home, ".config/debusine/client/config.ini")
	}
	srv, err := rebuild.LoadDebusineConfig(conf, c.String("server"))
	if err != nil {
		return nil, err
	}
	d := &rebuild.Debusine{Server: srv, Workspace: c.String("workspace"), Environment: c.String("environment"),
		Arch: c.String("arch"), Mode: c.String("mode"), Poll: c.Duration("poll"), Out: out,
		CLI: []string{"debusine", "--config-file", conf, "--server", srv.Name}}
	if err := d.Check(c.Context); err != nil {
		return nil, err
	}
	return d, d.Open()
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
