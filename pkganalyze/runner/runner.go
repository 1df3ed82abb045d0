package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/exeid"
	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

// WallCap bounds a run's wall time at this many times its timeout: the
// timeout itself is on load-corrected time (pkganalyze.Outcome.Effective),
// which a starved run hardly advances.
const WallCap = 20

// Isolation selects how runs are kept apart.
type Isolation string

const (
	// Auto uses namespaces, and falls back to snapshots where they are
	// unavailable.
	Auto Isolation = "auto"
	// Namespaces: overlayfs mounts in a private mount namespace, private
	// network. Fails where namespaces are unavailable.
	Namespaces Isolation = "namespaces"
	// Snapshot: serial runs in the real tree, restored after each run.
	Snapshot Isolation = "snapshot"
)

// Config describes the workload and how to run it.
type Config struct {
	// Command is the workload's argv; Command[0] is looked up in Env's PATH.
	Command []string
	// Dir is the workload tree: the command's working directory, and the
	// directory whose writes are kept private. Default: the current one.
	Dir string
	// Env is the base environment (nil: loupe's). HOME and TMPDIR are
	// replaced per run.
	Env []string
	// Binaries are the whitelisted executables; they must exist.
	Binaries []string
	// Whitelist, if set, replaces Binaries (dh_loupe matches by build-id or
	// prefix).
	Whitelist tracer.Matcher
	// Overlay lists more directories to keep private besides Dir, /tmp and
	// the real home directory.
	Overlay []string
	// Preserve lists directories inside Dir that snapshot isolation leaves
	// alone: a restore neither removes nor reverts them. dh_loupe keeps its
	// resumable state there, written while the runs go on. (Namespaces
	// isolation needs nothing: loupe writes from outside the runs' mount
	// namespace.)
	Preserve []string
	// Isolation defaults to Auto.
	Isolation Isolation
	// Scratch is where per-run directories go; "" makes a new one under
	// /var/tmp (removed by Close). It must be outside every overlaid
	// directory.
	Scratch string
	// RecoveryFile records an unfinished snapshot-mode run, so that the next
	// New restores the tree after a crash. Keep it in the state directory.
	RecoveryFile string
	// OutputTail is how many bytes of output an Outcome keeps (default 8 KiB).
	OutputTail int
	// Metric, if set, reads Outcome.Metric from each run's whole output:
	// its first capture group on the last line it matches (ReadMetric).
	Metric *regexp.Regexp
	// KeepRuns keeps the per-run directories (for debugging).
	KeepRuns bool
	// Identities caches executable hashes (nil: a new cache).
	Identities *exeid.Cache
	// Log, if set, gets one line when the runner falls back to snapshot
	// isolation, saying why (it goes into build logs).
	Log io.Writer
	// Follow is how runs follow the tree (tracer.Options.Follow; "": auto).
	Follow tracer.Follow
}

// Runner runs workload runs under the tracer. It is safe for concurrent use;
// in snapshot isolation runs are serialised.
type Runner struct {
	cfg         Config
	whitelist   tracer.Matcher
	overlay     []string
	scratch     string
	ownScratch  bool
	scratchLock *os.File // flock'ed while this runner uses its scratch
	seq         atomic.Int64

	mu     sync.Mutex // guards mode, snap, notes, follow
	mode   Isolation
	snap   *snapshot
	notes  []string
	follow tracer.Follow

	fallOnce sync.Once
	fallErr  error

	serial sync.Mutex // held by each snapshot-mode run
}

// New checks the configuration and prepares the scratch directory. In
// snapshot isolation it also snapshots the tree (restoring it first if a
// RecoveryFile says a previous loupe died in the middle of a run).
func New(cfg Config) (*Runner, error) {
	if len(cfg.Command) == 0 {
		return nil, errors.New("runner: no command")
	}
	if cfg.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		cfg.Dir = wd
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("workload tree %s: %w", cfg.Dir, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("workload tree %s: not a directory", cfg.Dir)
	}
	if dir == "/" {
		return nil, errors.New("workload tree is /: give the tree the workload writes to with --tree")
	}
	cfg.Dir = dir
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	if cfg.Isolation == "" {
		cfg.Isolation = Auto
	}
	if cfg.OutputTail <= 0 {
		cfg.OutputTail = 8 << 10
	}
	if cfg.Identities == nil {
		cfg.Identities = exeid.NewCache()
	}
	r := &Runner{cfg: cfg, whitelist: cfg.Whitelist, mode: cfg.Isolation}
	if r.whitelist == nil {
		if len(cfg.Binaries) == 0 {
			return nil, errors.New("no whitelisted binary: give at least one --binary")
		}
		for _, b := range cfg.Binaries {
			fi, err := os.Stat(b)
			if err != nil {
				return nil, fmt.Errorf("--binary %s: %w (give the path of an executable the workload runs)", b, err)
			}
			if fi.IsDir() {
				return nil, fmt.Errorf("--binary %s: is a directory, not an executable", b)
			}
		}
		m, err := tracer.MatchPath(cfg.Binaries...)
		if err != nil {
			return nil, err
		}
		r.whitelist = m
	}
	r.overlay = overlayDirs(cfg)
	if err := r.makeScratch(); err != nil {
		return nil, err
	}
	if err := r.recover(); err != nil {
		r.Close()
		return nil, err
	}
	if r.mode == Snapshot {
		if err := r.takeSnapshot(); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// overlayDirs are the directories a sandboxed run keeps private.
func overlayDirs(cfg Config) []string {
	dirs := []string{cfg.Dir, "/tmp"}
	if home, err := os.UserHomeDir(); err == nil && home != "/" {
		if r, err := filepath.EvalSymlinks(home); err == nil {
			dirs = append(dirs, r)
		}
	}
	for _, d := range cfg.Overlay {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			dirs = append(dirs, r)
		}
	}
	return dirs
}

func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// Close removes the scratch directory (if the runner made it) and the
// snapshot.
func (r *Runner) Close() error {
	if r.cfg.RecoveryFile != "" {
		os.Remove(r.cfg.RecoveryFile)
	}
	if r.ownScratch && !r.cfg.KeepRuns {
		err := removeAll(r.scratch)
		if r.scratchLock != nil {
			r.scratchLock.Close()
		}
		return err
	}
	if r.snap != nil {
		return removeAll(r.snap.dir)
	}
	return nil
}

// Isolation reports the isolation in use: namespaces or snapshot (auto until
// the first run).
func (r *Runner) Isolation() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mode == Auto {
		return string(Namespaces)
	}
	return string(r.mode)
}

// Notes are facts about how runs were made that belong in the verdict's run
// metadata.
func (r *Runner) Notes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.notes...)
}

// Follow says how the runs followed the tree: "notify", "ptrace", or ""
// before any run.
func (r *Runner) Follow() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.follow)
}

func (r *Runner) setFollow(f tracer.Follow, why string) {
	r.mu.Lock()
	first := r.follow == ""
	r.follow = f
	r.mu.Unlock()
	if first && f == tracer.FollowPtrace && why != "" {
		r.note("every process of the runs was ptraced (slower than seccomp notify): " + why)
	}
}

func (r *Runner) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.notes {
		if n == s {
			return
		}
	}
	r.notes = append(r.notes, s)
}

// Run makes one run; see pkganalyze.Runner.
func (r *Runner) Run(ctx context.Context, spec pkganalyze.RunSpec) (pkganalyze.Outcome, error) {
	r.mu.Lock()
	mode := r.mode
	r.mu.Unlock()
	if mode != Snapshot {
		o, err := r.run(ctx, spec, true)
		if err == nil || mode != Auto || !errors.Is(err, tracer.ErrSandboxUnavailable) {
			return o, err
		}
		if err := r.fallBack(err); err != nil {
			return pkganalyze.Outcome{}, err
		}
	}
	r.serial.Lock()
	defer r.serial.Unlock()
	return r.runSnapshot(ctx, spec)
}

// fallBack switches to snapshot isolation, once; concurrent callers wait
// until the snapshot is taken.
func (r *Runner) fallBack(cause error) error {
	r.fallOnce.Do(func() {
		if r.fallErr = r.takeSnapshot(); r.fallErr != nil {
			return
		}
		note := fmt.Sprintf("namespaces unavailable (%v): runs were serial, in the real tree, restored from a snapshot after each; /tmp and the network were shared", cause)
		r.mu.Lock()
		r.mode = Snapshot
		r.notes = append(r.notes, note)
		r.mu.Unlock()
		if r.cfg.Log != nil {
			fmt.Fprintf(r.cfg.Log, "loupe: %s\n", note)
		}
	})
	return r.fallErr
}

func (r *Runner) runSnapshot(ctx context.Context, spec pkganalyze.RunSpec) (pkganalyze.Outcome, error) {
	if err := r.markDirty(true); err != nil {
		return pkganalyze.Outcome{}, err
	}
	o, err := r.run(ctx, spec, false)
	// Restore whatever happened, Ctrl-C included: the tree must be the
	// user's again before anything else.
	if rerr := r.snap.restore(); rerr != nil {
		return pkganalyze.Outcome{}, fmt.Errorf("restore %s from its snapshot %s: %w (restore it by hand)", r.cfg.Dir, r.snap.dir, rerr)
	}
	if derr := r.markDirty(false); derr != nil && err == nil {
		err = derr
	}
	return o, err
}

// run makes one traced run, sandboxed or not.
func (r *Runner) run(ctx context.Context, spec pkganalyze.RunSpec, sandbox bool) (pkganalyze.Outcome, error) {
	rd := filepath.Join(r.scratch, fmt.Sprintf("run-%05d", r.seq.Add(1)))
	home, tmp := filepath.Join(rd, "home"), filepath.Join(rd, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return pkganalyze.Outcome{}, fmt.Errorf("run directory: %w", err)
		}
	}
	if !r.cfg.KeepRuns {
		defer removeAll(rd)
	}
	out, err := os.Create(filepath.Join(rd, "output"))
	if err != nil {
		return pkganalyze.Outcome{}, fmt.Errorf("run directory: %w", err)
	}
	defer out.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return pkganalyze.Outcome{}, err
	}
	defer devnull.Close()

	cmd := tracer.Command{Path: r.cfg.Command[0], Args: r.cfg.Command, Env: runEnv(r.cfg.Env, home, tmp),
		Dir: r.cfg.Dir, Stdin: devnull, Stdout: out, Stderr: out}
	opts := tracer.Options{Whitelist: r.whitelist, Rules: rules(spec.Interventions), Record: record(spec.Record),
		Leftovers: tracer.LeftoversKill, Contain: true, Identities: r.cfg.Identities, NewProcessGroup: true, Follow: r.cfg.Follow}
	if spec.Counts == pkganalyze.CountsSeen {
		opts.Counts = tracer.CountsSeen
	}
	if sandbox {
		opts.Sandbox = &tracer.Sandbox{Overlay: r.overlay, Scratch: filepath.Join(rd, "sandbox"), PrivateNetwork: true}
	}
	// The timeout is on the run's load-corrected time (tracer.Usage), so
	// that a loaded machine does not make runs look hung; a wall-clock cap
	// far above it still ends a run that the load starves for good.
	runCtx := ctx
	if spec.Timeout > 0 {
		opts.Limit = spec.Timeout
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, WallCap*spec.Timeout)
		defer cancel()
	}
	start := time.Now()
	res, err := tracer.Run(runCtx, cmd, opts)
	wall := time.Since(start)
	timedOut := false
	if err == nil && res != nil && interrupted(res.Exit) {
		// A terminal's Ctrl-C reaches the workload as well as loupe: give
		// loupe's own cancellation a moment to land, so that a run killed
		// by it is not recorded as a failure.
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			return pkganalyze.Outcome{}, err
		}
		if runCtx.Err() == nil || !errors.Is(err, context.DeadlineExceeded) {
			return pkganalyze.Outcome{}, fmt.Errorf("%w%s", err, hint(err))
		}
		timedOut = true
	}
	o := outcome(res, timedOut, wall)
	o.Output = tail(out, r.cfg.OutputTail)
	if r.cfg.Metric != nil {
		if _, err := out.Seek(0, io.SeekStart); err == nil {
			o.Metric = ReadMetric(out, r.cfg.Metric)
		}
	}
	if res != nil && !res.Usage.Corrected {
		r.note("the kernel does not account run delays (no /proc/PID/schedstat): timeouts were on wall time, so a loaded machine can make runs time out")
	}
	if res != nil && res.Mechanism == "ptrace" {
		r.note("seccomp filters could not be installed: syscalls were stopped with plain ptrace (slower)")
	}
	if res != nil && res.Follow != "" {
		r.setFollow(res.Follow, res.FollowNote)
	}
	if res != nil && res.Containment == tracer.ContainSubreaper {
		r.note("no PID namespace here: each run's processes were contained by a subreaper, which kills what is left of them at the end of the run")
	}
	if res != nil && len(res.Warnings) > 0 {
		// The text is fixed so that notes stay deterministic; the details
		// depend on timing.
		r.note("the tracer gave up looking for scripts among some arguments (a slow file system?): those processes were treated as out of scope")
	}
	return o, nil
}

// interrupted reports an exit by the signals a terminal or a session
// manager sends to a whole process group.
func interrupted(s tracer.ExitStatus) bool {
	switch s.ShellCode() {
	case 128 + int(syscall.SIGINT), 128 + int(syscall.SIGTERM), 128 + int(syscall.SIGHUP):
		return true
	}
	return false
}

func hint(err error) string {
	if errors.Is(err, tracer.ErrPtraceDenied) {
		return ""
	}
	var se *tracer.StartError
	if errors.As(err, &se) && !errors.Is(err, tracer.ErrSandboxUnavailable) {
		return " (check the command: it must exist and be executable in the tree)"
	}
	return ""
}

// runEnv is env with HOME and TMPDIR replaced.
func runEnv(env []string, home, tmp string) []string {
	out := make([]string, 0, len(env)+2)
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") || strings.HasPrefix(e, "TMPDIR=") {
			continue
		}
		out = append(out, e)
	}
	return append(out, "HOME="+home, "TMPDIR="+tmp)
}
