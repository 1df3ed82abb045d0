package dhloupe

import (
	"context"
	"fmt"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/runner"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/verdict"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

// defaultDeps wires the real tracer and analysis engine.
func defaultDeps() Deps {
	return Deps{Trace: tracer.Run, Analyze: analyze}
}

// analyze runs the analysis engine on the recorded test step, in an
// overlay of the source tree (runner.Auto: namespaces, else snapshots), so
// that experiments never write into the build tree and the .debs stay as
// they would be without loupe. The state directory makes an interrupted
// build resume where it stopped.
func analyze(ctx context.Context, req AnalyzeRequest) (*verdict.File, error) {
	f, _, err := runner.Analyze(ctx, runner.Analysis{
		Command:     req.Step.Argv,
		Dir:         req.Step.Dir,
		Env:         req.Step.Env,
		Binaries:    req.Whitelist,
		Replicas:    req.Replicas,
		Jobs:        req.Jobs,
		Timeout:     req.Timeout,
		Granularity: req.Granularity,
		Isolation:   runner.Auto,
		StateDir:    req.StateDir,
		Environment: req.Template.Environment,
		Log:         req.Stderr,
	})
	if f == nil {
		return nil, fmt.Errorf("analysis of %s: %w", req.Template.Package, err)
	}
	if err != nil {
		// A verdict with an error (baseline failed): the verdict says so.
		fmt.Fprintf(req.Stderr, "dh_loupe: %s: %v\n", req.Template.Package, err)
	}
	return f, nil
}
