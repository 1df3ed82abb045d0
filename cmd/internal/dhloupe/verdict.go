package dhloupe

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"salsa.debian.org/loupe-team/loupe/debhelper"
	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/internal/version"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/runner"
)

func verdictMain(ctx context.Context, name string, pio IO, deps Deps) int {
	// 1. Options and settings.
	opts, u, code, ok := parse(name, pio)
	if !ok {
		return code
	}
	if len(opts.NonOptions) > 0 || opts.HasCommand {
		u.errorf("unexpected arguments: %s takes only debhelper options", name)
		return 255
	}
	src, s := loadSettings(pio)
	if !s.Artifacts() {
		// Not asked for: nothing to do, and nothing printed (dh_loupe
		// already warned about any problem).
		return 0
	}
	giveUp := func(err error) int {
		u.errorf("%v; no verdicts written", err)
		if s.Strict {
			return 255
		}
		return 0
	}
	if src == nil {
		return giveUp(errors.New(debhelper.JoinProblems(s.Problems)))
	}
	host, err := debhelper.HostArch(ctx, pio.Env)
	if err != nil {
		return giveUp(err)
	}
	// 2. Packages and what they install.
	pkgs, err := debhelper.ListPackages(ctx, pio.Dir, opts.ListArgs, pio.Env)
	if err != nil {
		return giveUp(err)
	}
	if opts.NoAct {
		for _, p := range pkgs {
			fmt.Fprintf(pio.Stdout, "\twrite ../%s\n", debhelper.ArtifactName(p, src.Version, src.FileArch(p, host)))
		}
		return 0
	}
	// The verdicts are written after the analyses, which can take hours:
	// make sure they can be, first.
	for _, p := range pkgs {
		if err := atomicfile.CheckReplaceable(debhelper.ArtifactPath(pio.Dir, debhelper.ArtifactName(p, src.Version, src.FileArch(p, host)))); err != nil {
			return giveUp(fmt.Errorf("cannot write the verdicts: %w", err))
		}
	}
	runs, runsErr := debhelper.ReadRuns(pio.Dir)
	dirs := map[string]string{}
	for _, p := range src.PackageNames() {
		dirs[p] = filepath.Join(pio.Dir, "debian", p)
	}
	if opts.Tmpdir != "" && len(pkgs) == 1 {
		dirs[pkgs[0]] = filepath.Join(pio.Dir, opts.Tmpdir)
	}
	idx, idxErr := debhelper.IndexPackages(dirs)

	v := &verdicts{ctx: ctx, u: u, pio: pio, src: src, s: s, host: host, idx: idx, idxErr: idxErr,
		runs: runs, runsErr: runsErr, deps: deps, attrs: map[*debhelper.Run][]debhelper.Attribution{}}
	failed := false
	for _, p := range pkgs {
		// 3-4. Attribute, and analyze.
		f := v.verdict(p)
		// 5. Write and register the artifact.
		name := debhelper.ArtifactName(p, src.Version, f.Architecture)
		if _, err := debhelper.WriteArtifact(ctx, pio.Dir, name, f, pio.Env); err != nil {
			u.errorf("%s: %v", p, err)
			failed = true
		}
		if f.Status == verdict.StatusError {
			u.errorf("%s: %s", p, f.Reason)
			failed = true
		}
		if f.Status == verdict.StatusNotExercised {
			u.infof("%s: %s", p, f.Reason)
		}
		n := shippedSyscalls(f)
		fmt.Fprintln(pio.Stdout, debhelper.Summary{Package: p, Status: f.Status, Mode: f.Mode, Syscalls: &n}.Format())
	}
	if failed && s.Strict {
		u.errorf("loupe=strict: failing the build because of the errors above")
		return 255
	}
	return 0
}

type verdicts struct {
	ctx     context.Context
	u       ui
	pio     IO
	src     *debhelper.Source
	s       *debhelper.Settings
	host    string
	idx     *debhelper.Index
	idxErr  error
	runs    []*debhelper.Run
	runsErr error
	deps    Deps
	attrs   map[*debhelper.Run][]debhelper.Attribution
}

// verdict decides one package's verdict.
func (v *verdicts) verdict(p string) *verdict.File {
	f := &verdict.File{
		Schema:       verdict.Schema,
		Mode:         verdict.Mode(v.s.Mode),
		Source:       v.src.Name,
		Package:      p,
		Version:      v.src.Version.String(),
		Architecture: v.src.FileArch(p, v.host),
		Workload:     verdict.Workload{Kind: "suite", Replicas: 1},
		Environment:  runner.Environment(v.ctx, version.Version),
		Binaries:     []verdict.Binary{},
	}
	run := debhelper.LatestRun(v.runs, p)
	if run != nil {
		f.Workload.Command = run.Step.Argv
		f.RunMetadata.Started = run.Started
		f.RunMetadata.WallSeconds = run.Wall
		if run.Wall > 0 {
			f.RunMetadata.Finished = run.Started.Add(time.Duration(run.Wall * float64(time.Second)))
		}
		if run.Mechanism != "" {
			f.RunMetadata.Notes = append(f.RunMetadata.Notes, "tracing: "+run.Mechanism)
		}
	}
	decided := func(d debhelper.Decision) bool {
		if d.Ran {
			f.Runs = verdict.Runs{Total: 1, Baseline: 1}
		}
		f.Status, f.Reason = d.Status, d.Reason
		return d.Status != ""
	}
	if decided(debhelper.Decide(debhelper.VerdictInput{Package: p, Problems: v.s.Problems, NoCheck: v.s.NoCheck, Run: run,
		RunsErr: v.runsErr, IndexErr: v.idxErr})) {
		return f
	}
	attrs, ok := v.attrs[run]
	if !ok {
		attrs = debhelper.Attribute(v.pio.Dir, run.Binaries, v.idx, v.s.Config)
		v.attrs[run] = attrs
		for _, a := range attrs {
			if a.StandIn != nil && len(a.Owners) == 0 {
				v.u.warnf("%s: %s", a.Rel, a.Note)
			}
		}
	}
	ex := debhelper.Explain(attrs, v.idx, v.s.Config, p)
	f.Binaries = debhelper.Binaries(attrs, p)
	f.Helpers = debhelper.Helpers(attrs, v.s.Helpers == debhelper.HelpersFull, ex.HelperNotes)
	f.Evidence = ex.Evidence
	if !ex.ShipsExecutables && len(f.Helpers) > 0 {
		// A -doc or data package: the helpers say nothing about it, and
		// a suite may run hundreds of them.
		f.Evidence = append(f.Evidence, fmt.Sprintf("the test step ran %d test helpers; they are not listed, since %s ships no executable",
			len(f.Helpers), p))
		f.Helpers = nil
	}
	f.RunMetadata.Notes = append(f.RunMetadata.Notes, attributionNotes(attrs, p)...)
	if decided(debhelper.Attributed(run, ex.Reason, v.s.Mode)) {
		return f
	}
	return v.analyze(f, p, run, attrs)
}

// analyze runs the experiments for one package on the recorded step.
func (v *verdicts) analyze(f *verdict.File, p string, run *debhelper.Run, attrs []debhelper.Attribution) *verdict.File {
	if v.deps.Analyze == nil {
		f.Status, f.Reason = verdict.StatusError, "analyze mode is not available in this build of loupe (no analysis engine); the binaries below are from the trace"
		return f
	}
	step := run.Step
	step.Env = debhelper.WithoutFakeroot(step.Env)
	if len(step.Argv) > 0 && step.Argv[0] == "dh" {
		// In compat 9 and earlier the inner dh would skip the logged
		// dh_auto_test: the addon unlogs it inside each run.
		if c, err := debhelper.CompatLevel(v.ctx, v.pio.Dir, v.pio.Env); err == nil && c <= 9 {
			step.Env = append(step.Env, debhelper.ReplayEnv+"=1")
		}
	}
	req := AnalyzeRequest{
		Step:        step,
		Whitelist:   debhelper.Shipped(attrs, p),
		Replicas:    v.s.Replicas,
		Jobs:        v.s.Jobs,
		Timeout:     v.s.Timeout,
		Granularity: v.s.Granularity,
		Strategy:    v.s.Strategy,
		Follow:      v.s.Follow,
		Quiet:       v.u.quiet,
		StateDir:    filepath.Join(v.pio.Dir, debhelper.StateDir, "analyze-"+p),
		Template:    *f,
		Stdout:      v.pio.Stdout,
		Stderr:      v.pio.Stderr,
	}
	req.Template.Binaries, req.Template.Helpers, req.Template.Evidence = nil, nil, nil
	v.u.infof("%s: analyzing %d binaries (%d replicas, %d jobs, strategy %s)", p, len(req.Whitelist), req.Replicas, req.Jobs, req.Strategy)
	got, err := v.deps.Analyze(v.ctx, req)
	if err != nil {
		f.Status, f.Reason = verdict.StatusError, fmt.Sprintf("analyze: %v", err)
		return f
	}
	// Keep the package's identity; name binaries as installed.
	out := *got
	out.Schema, out.Mode = verdict.Schema, verdict.ModeAnalyze
	out.Source, out.Package, out.Version, out.Architecture = f.Source, f.Package, f.Version, f.Architecture
	out.Workload.Command = f.Workload.Command
	out.Environment = f.Environment
	byPath := map[string]debhelper.Attribution{}
	for _, a := range attrs {
		byPath[a.Exec.Path] = a
	}
	out.Binaries = nil
	for _, b := range got.Binaries {
		if a, ok := byPath[b.Path]; ok {
			if e, ok := a.Entry(p, b); ok {
				b = e
			}
		}
		out.Binaries = append(out.Binaries, b)
	}
	out.Helpers = f.Helpers // from the trace: never experimented on
	out.Evidence = append(out.Evidence, f.Evidence...)
	out.RunMetadata.Notes = append(out.RunMetadata.Notes, f.RunMetadata.Notes...)
	if out.RunMetadata.Isolation == "snapshot" {
		// The runner said why in its note (and in the log); say what the
		// build environment can change.
		advice := debhelper.IsolationAdvice()
		out.RunMetadata.Notes = append(out.RunMetadata.Notes, advice)
		fmt.Fprintf(v.pio.Stderr, "dh_loupe_verdict: %s: runs were serial, in the real tree (snapshot isolation): %s\n", p, advice)
	}
	return &out
}

func attributionNotes(attrs []debhelper.Attribution, p string) []string {
	var out []string
	for _, a := range attrs {
		for _, o := range a.Owners {
			switch {
			case o.Package != p:
			case a.StandIn != nil:
				out = append(out, fmt.Sprintf("%s: stand-in for %s (%s)", a.Rel, o.Installed, a.StandIn.Where(debhelper.ConfigFile)))
			default:
				out = append(out, fmt.Sprintf("%s: shipped as %s (by %s)", a.Rel, o.Installed, a.By))
			}
		}
	}
	return out
}

// shippedSyscalls counts the distinct syscalls of the shipped binaries.
func shippedSyscalls(f *verdict.File) int {
	seen := map[string]bool{}
	for _, b := range f.Binaries {
		if b.Shipped {
			for _, s := range b.Syscalls {
				seen[s.Name] = true
			}
		}
	}
	return len(seen)
}
