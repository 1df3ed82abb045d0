package runner

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/tracer"
	"salsa.debian.org/loupe-team/loupe/tracer/exeid"
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

	mu    sync.Mutex // guards mode, snap, notes
	mode  Isolation
	snap  *snapshot
	notes []string

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

func (r *Runner) makeScratch() error {
	inside := func(p string) string {
		for _, d := range r.overlay {
			if under(p, d) {
				return d
			}
		}
		return ""
	}
	if r.cfg.Scratch != "" {
		s, err := filepath.Abs(r.cfg.Scratch)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(s, 0o700); err != nil {
			return fmt.Errorf("scratch: %w", err)
		}
		if s, err = filepath.EvalSymlinks(s); err != nil {
			return fmt.Errorf("scratch: %w", err)
		}
		if d := inside(s); d != "" {
			return fmt.Errorf("scratch directory %s is inside %s, whose writes runs keep private; put it elsewhere", s, d)
		}
		r.scratch = s
		return nil
	}
	var tried []string
	for _, base := range []string{os.Getenv("LOUPE_SCRATCH"), "/var/tmp", "/var/cache"} {
		if base == "" {
			continue
		}
		b, err := filepath.EvalSymlinks(base)
		if err != nil || inside(b) != "" {
			tried = append(tried, base)
			continue
		}
		s, err := os.MkdirTemp(b, scratchPrefix)
		if err != nil {
			tried = append(tried, base)
			continue
		}
		r.scratch, r.ownScratch = s, true
		if r.scratchLock, err = lockScratch(s, true); err != nil {
			return err
		}
		sweepScratch(b)
		return nil
	}
	return fmt.Errorf("no usable scratch directory outside the overlaid %v (tried %v); set LOUPE_SCRATCH", r.overlay, tried)
}

const scratchPrefix = "loupe-analyze-"

// lockScratch flocks dir/lock: with create, a new lock in the runner's own,
// new scratch directory; without, the existing lock of one found by
// sweepScratch, failing at once when another process holds it. The lock is
// never a symlink (O_NOFOLLOW), and must be a regular file of ours.
func lockScratch(dir string, create bool) (*os.File, error) {
	flags, how := os.O_RDWR|syscall.O_NOFOLLOW, syscall.LOCK_EX
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	} else {
		how |= syscall.LOCK_NB
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	if err := ownedBy(f, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("scratch: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ownedDir checks that p is a directory (not a symlink to one) that this
// process's user owns and nobody else can write: only such a directory in
// a shared place like /var/tmp is loupe's to use or remove.
func ownedDir(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	return ownedInfo(p, fi, true)
}

func ownedBy(f *os.File, dir bool) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return ownedInfo(f.Name(), fi, dir)
}

func ownedInfo(p string, fi os.FileInfo, dir bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case dir && !fi.IsDir() || !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%s: not a %s (%v)", p, map[bool]string{true: "directory", false: "regular file"}[dir], fi.Mode().Type())
	case !ok || int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s: owned by another user", p)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s: writable by others (%v)", p, fi.Mode().Perm())
	}
	return nil
}

// sweepScratch removes the scratch directories that loupes killed with -9
// left in base: those whose lock nobody holds. Only directories of this
// user are considered, never through a symlink: /var/tmp is shared, and a
// "loupe-analyze-*" of another user (or planted by one) is none of ours. A
// directory without a lock file may be one being created; it is left
// alone.
func sweepScratch(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, scratchPrefix+"*"))
	for _, d := range dirs {
		if ownedDir(d) != nil {
			continue
		}
		if l, err := lockScratch(d, false); err == nil {
			removeAll(d)
			l.Close()
		}
	}
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
		Leftovers: tracer.LeftoversKill, Contain: true, Identities: r.cfg.Identities, NewProcessGroup: true}
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

func rules(iv []pkganalyze.Intervention) []tracer.Rule {
	var rs []tracer.Rule
	for _, x := range iv {
		r := tracer.Rule{Feature: x.Feature}
		switch x.Action {
		case pkganalyze.Stub:
			r.Action = tracer.Stub
		case pkganalyze.Fake:
			r.Action = tracer.Fake
		case pkganalyze.Kill:
			r.Action = tracer.Kill
		}
		rs = append(rs, r)
	}
	return rs
}

func record(r pkganalyze.Record) tracer.Record {
	switch r {
	case pkganalyze.RecordSyscalls:
		return tracer.RecordSyscalls
	case pkganalyze.RecordFeatures:
		return tracer.RecordSyscalls | tracer.RecordFeatures
	case pkganalyze.RecordPseudoFiles:
		return tracer.RecordSyscalls | tracer.RecordFeatures | tracer.RecordPseudoFiles
	}
	return tracer.RecordNone
}

func outcome(res *tracer.Result, timedOut bool, wall time.Duration) pkganalyze.Outcome {
	o := pkganalyze.Outcome{TimedOut: timedOut, Wall: wall, Exit: "killed by the timeout", ExitCode: 137}
	if res == nil {
		return o
	}
	if res.Wall > 0 {
		o.Wall = res.Wall
	}
	o.Effective = res.Usage.Effective
	if res.LimitExceeded {
		timedOut = true
		o.TimedOut, o.Exit, o.ExitCode = true, "killed by the timeout", 137
	}
	if !timedOut {
		o.Exit, o.ExitCode = res.Exit.String(), res.Exit.ShellCode()
		o.Pass = res.Exit.Success()
	}
	if len(res.RuleHits) > 0 {
		o.RuleHits = map[string]uint64{}
		for k, v := range res.RuleHits {
			o.RuleHits[k] = v
		}
	}
	for _, b := range res.Binaries {
		u := pkganalyze.BinaryUse{Path: b.Path, Interpreter: b.Interpreter, BuildID: b.BuildID, SHA256: b.SHA256,
			Processes: len(b.Processes), PeakRSSKB: b.PeakRSSKB, MaxFDs: b.MaxFDs}
		for _, s := range b.Syscalls {
			u.Syscalls = append(u.Syscalls, pkganalyze.SyscallUse{Name: s.Name, Number: s.Number, Calls: s.Calls})
		}
		for _, f := range b.Features {
			u.Features = append(u.Features, pkganalyze.FeatureUse{Key: f.Key, Calls: f.Calls})
		}
		for _, f := range b.PseudoFiles {
			u.PseudoFiles = append(u.PseudoFiles, pkganalyze.FeatureUse{Key: f.Key, Calls: f.Calls})
		}
		o.Binaries = append(o.Binaries, u)
	}
	return o
}

// ReadMetric returns the benchmark metric in a workload's output: the
// first capture group of re on the last line re matches, parsed as a
// number (thousands separators "," and "_" allowed); nil when no line
// matches with a number. Lines are read one at a time, so the output may be
// of any size; a line longer than 64 KiB is skipped.
func ReadMetric(r io.Reader, re *regexp.Regexp) *float64 {
	var found *float64
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			// A huge line: skip it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			line = nil
		}
		if m := re.FindSubmatch(line); len(m) == 2 {
			v := strings.NewReplacer(",", "", "_", "").Replace(string(m[1]))
			if f, perr := strconv.ParseFloat(v, 64); perr == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				found = &f
			}
		}
		if err != nil {
			return found
		}
	}
}

// tail returns the last n bytes of f, from a line start when possible, as
// valid UTF-8.
func tail(f *os.File, n int) string {
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-int64(n), 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return ""
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
		b = append([]byte("[...]\n"), b...)
	}
	return strings.ToValidUTF8(string(b), string(utf8.RuneError))
}
