package dhloupe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"salsa.debian.org/loupe-team/loupe/internal/progress"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/runner"
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
	prefix := "dh_loupe_verdict: " + req.Template.Package + ": "
	a := runner.Analysis{
		Command:     req.Step.Argv,
		Dir:         req.Step.Dir,
		Env:         req.Step.Env,
		Binaries:    req.Whitelist,
		Replicas:    req.Replicas,
		Jobs:        req.Jobs,
		Timeout:     req.Timeout,
		Granularity: req.Granularity,
		Strategy:    pkganalyze.Strategy(req.Strategy),
		Follow:      tracer.Follow(req.Follow),
		Isolation:   runner.Auto,
		StateDir:    req.StateDir,
		Environment: req.Template.Environment,
		Log:         &logPrefixer{w: req.Stderr, prefix: prefix},
	}
	if !req.Quiet {
		// A progress line on a terminal, a plain line now and then in a
		// build log.
		p := progress.New(req.Stderr, prefix, progress.Options{})
		a.Log = &logPrefixer{w: p.Log(req.Stderr), prefix: prefix}
		a.Progress = runner.ShowProgress(p)
		p.Start()
		defer p.Stop()
	}
	f, _, err := runner.Analyze(ctx, a)
	if f == nil {
		return nil, fmt.Errorf("analysis of %s: %w", req.Template.Package, err)
	}
	if err != nil {
		// A verdict with an error (baseline failed): the verdict says so.
		fmt.Fprintf(req.Stderr, "dh_loupe: %s: %v\n", req.Template.Package, err)
	}
	return f, nil
}

// logPrefixer rewrites the engine's "loupe: " log lines as
// "dh_loupe_verdict: <pkg>: ...", so that the one summary line per package
// ("loupe: <pkg> status=...") stays the only build-log line rebuild
// tooling has to pick out.
type logPrefixer struct {
	w      io.Writer
	prefix string
	mu     sync.Mutex // the engine logs from its workers
	buf    []byte
}

func (l *logPrefixer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := bytes.TrimPrefix(l.buf[:i+1], []byte("loupe: "))
		if _, err := fmt.Fprintf(l.w, "%s%s", l.prefix, line); err != nil {
			return len(p), err
		}
		l.buf = l.buf[i+1:]
	}
}
