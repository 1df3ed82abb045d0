package tracer

// The engine: one run's state, newEngine, which checks the options and
// prepares the filter, and Run, which gives the run a thread of its own.
// doc.go has the design, and says which file holds which room.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/internal/exeid"
	"salsa.debian.org/loupe-team/loupe/internal/pseudofile"
	"salsa.debian.org/loupe-team/loupe/internal/subfeature"
	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// Base ptrace options; TRACEEXIT is added only for in-scope processes, whose
// exit is the moment to read their peak RSS and open fds.
const baseOpts = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK |
	unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACESECCOMP |
	unix.PTRACE_O_EXITKILL

// StartError means the command could not be started at all (not found, not
// executable, sandbox failure). No process of the command ran.
type StartError struct {
	Path string
	Err  error
}

func (e *StartError) Error() string { return fmt.Sprintf("cannot run %s: %v", e.Path, e.Err) }

func (e *StartError) Unwrap() error { return e.Err }

// ErrPtraceDenied means the kernel refused to let loupe trace.
var ErrPtraceDenied = errors.New("ptrace not permitted")

// Run runs cmd under the tracer and returns what it observed. The error is
// nil when the command ran, whatever its exit status; it wraps ctx.Err()
// when the context ended the run (the tree is killed and a partial result
// returned), and is a *StartError when the command could not start.
func Run(ctx context.Context, cmd Command, opts Options) (*Result, error) {
	e, err := newEngine(cmd, opts)
	if err != nil {
		return nil, err
	}
	type out struct {
		res *Result
		err error
	}
	ch := make(chan out, 1)
	go func() {
		// Never unlocked: see the design in doc.go.
		runtime.LockOSThread()
		e.tracerTid = unix.Gettid()
		for _, pid := range opts.hooks.seedDeadEarly {
			e.deadEarly[pid] = true
		}
		res, err := e.run(ctx)
		ch <- out{res, err}
	}()
	o := <-ch
	return o.res, o.err
}

// engine is one run. Its fields are grouped by the room that owns them
// (doc.go lists the rooms); they are touched on the tracer thread only,
// except where a comment says otherwise.
type engine struct {
	cmd  Command
	opts Options

	// Syscall knowledge and rules (stops.go, features.go, rules.go).
	table             *sysent.Table
	rules             *ruleSet
	sub               *subfeature.Decoder
	pf                *pseudofile.Table
	frules            *featureRules
	stand             *standIns
	needPaths         bool // path arguments and pseudo-file fds are followed
	fcntlNr           int
	chdirNrs          [2]int
	cloneNr, clone3Nr int

	// How in-scope processes stop (seccomp.go, stops.go).
	useSeccomp  bool   // try to install the filter in in-scope processes
	needStops   bool   // in-scope processes need syscall stops at all
	filter      []byte // the BPF program, encoded for the tracee
	usedPtrace  bool
	usedSeccomp bool
	// seenPlan is set with Options.Counts seen: filters then trap what each
	// executable has not been seen to use (seen.go).
	seenPlan *seenPlan

	// The tree (tree.go), and how it is followed (notify.go): the helper's
	// notify mode, the notifier (nil: ptrace follows everything), and
	// whether the root was released at its exec (its end then comes from
	// the init).
	tree
	notifyMode   string
	nt           *notifier
	rootReleased bool
	tracerTid    int // the thread that ptraces: tracees show it as TracerPid

	// The start (start.go, helper.go) and the init of a contained run
	// (contain.go): its pid, whether it has been reaped, and loupe's end of
	// the socket that keeps it alive.
	errFile  setupErrFile
	initPid  int
	initDone bool
	sync     int
	syncOnce sync.Once
	// rootPrefix is the path, as /proc shows it to loupe, of the command's
	// root directory when that is not loupe's: a command in a mount
	// namespace of its own inside a chroot. Paths read from /proc (exe,
	// cwd, fds) start with it and are made relative to the chroot again.
	rootPrefix string

	// The root, and the end of the run (end.go).
	rootPid  int
	rootDone bool
	start    time.Time
	deadline time.Time // grace deadline for leftovers
	hardStop time.Time
	killing  atomic.Bool // set from any goroutine when the context ends
	// clk measures the run's Usage; limitHit is set (by the watcher
	// goroutine) when it exceeded Options.Limit and the tree was killed.
	clk      *clock
	limitHit atomic.Bool

	// Records and the Result (result.go).
	bins     map[string]*binRec
	binOrder []*binRec
	res      *Result

	statusBuf []byte // reused by the /proc readers (proc.go)
}

func newEngine(cmd Command, opts Options) (*engine, error) {
	table := nativeTable
	if table == nil {
		return nil, fmt.Errorf("tracer: no syscall table for %s", runtime.GOARCH)
	}
	if len(cmd.Args) == 0 {
		cmd.Args = []string{cmd.Path}
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	path, err := LookPath(cmd.Path, cmd.Env, cmd.Dir)
	if err != nil {
		return nil, &StartError{Path: cmd.Path, Err: err}
	}
	cmd.Path = path
	if opts.Grace <= 0 {
		opts.Grace = 2 * time.Second
	}
	if opts.Contain || opts.Sandbox != nil {
		opts.Leftovers = LeftoversKill
	}
	if opts.Identities == nil {
		opts.Identities = exeid.NewCache()
	}
	sub := subfeature.For(runtime.GOARCH)
	rules, err := compileRules(table, sub, opts.Rules)
	if err != nil {
		return nil, err
	}
	e := &engine{
		cmd: cmd, opts: opts, table: table, rules: rules,
		tree:      tree{tasks: map[int]*task{}, parked: map[int]parkedStop{}, deadEarly: map[int]bool{}, live: map[int]bool{}},
		bins:      map[string]*binRec{},
		res:       &Result{RuleHits: map[string]uint64{}},
		statusBuf: make([]byte, 4096),
		sub:       sub, pf: pseudofile.For(runtime.GOARCH), frules: &rules.feat,
		fcntlNr: -1, chdirNrs: [2]int{-1, -1}, cloneNr: -1, clone3Nr: -1,
	}
	if nr, ok := table.Number("clone"); ok {
		e.cloneNr = nr
	}
	if nr, ok := table.Number("clone3"); ok {
		e.clone3Nr = nr
	}
	if nr, ok := table.Number("fcntl"); ok {
		e.fcntlNr = nr
	}
	for i, n := range []string{"chdir", "fchdir"} {
		if nr, ok := table.Number(n); ok {
			e.chdirNrs[i] = nr
		}
	}
	if err := e.planFollow(); err != nil {
		return nil, err
	}
	e.needPaths = e.pf != nil && (opts.Record&RecordPseudoFiles != 0 || rules.feat.hasPseudo())
	for _, r := range append(rules.feat.pseudo, rules.feat.pseudoAll) {
		if r != nil && r.Action == Fake && e.stand == nil {
			if e.stand, err = newStandIns(); err != nil {
				return nil, err
			}
		}
	}
	e.needStops = opts.Record&(RecordSyscalls|RecordErrors|RecordFeatures|RecordPseudoFiles) != 0 || len(opts.Rules) > 0
	e.useSeccomp = e.needStops && !opts.NoSeccomp
	if e.useSeccomp {
		e.filter = encodeFilter(buildFilter(opts.Record != RecordNone || rules.killAll, e.filterNumbers(), e.cloneNr, e.clone3Nr))
		if opts.Counts == CountsSeen && opts.Record&RecordSyscalls != 0 && !rules.killAll {
			e.seenPlan = e.planSeen()
			e.res.Counts = CountsSeen
		}
	}
	return e, nil
}

// filterNumbers lists the syscalls an experiment-only filter must trap.
func (e *engine) filterNumbers() []int {
	set := map[int]bool{}
	for nr := range e.rules.byNr {
		if e.rules.byNr[nr] != nil {
			set[nr] = true
		}
	}
	for nr := range e.rules.feat.sub {
		set[nr] = true
	}
	if e.rules.feat.hasPseudo() && e.pf != nil {
		for _, n := range e.pf.PathSyscalls() {
			if nr, ok := e.table.Number(n); ok {
				set[nr] = true
			}
		}
	}
	// execve: the moment to read the peak RSS of the image being replaced.
	for _, n := range []string{"execve", "execveat"} {
		if nr, ok := e.table.Number(n); ok {
			set[nr] = true
		}
	}
	return sysent.SortedNumbers(set)
}

// run is the tracer thread's body.
// Precondition: the calling goroutine is locked to its OS thread.
func (e *engine) run(ctx context.Context) (*Result, error) {
	pid, err := e.startHelper()
	if err != nil {
		return nil, err
	}
	defer e.stopFollow()
	e.rootPid = pid
	e.start = time.Now()
	root := &task{tid: pid, proc: &proc{tgid: pid, ppid: os.Getpid(), preExec: true, opts: baseOpts}}
	e.tasks[pid] = root
	e.addLive(pid)
	e.res.Processes = 1

	defer e.errFile.remove()
	stop := context.AfterFunc(ctx, e.killTree)
	defer stop()
	defer e.stand.remove()
	defer e.reapInit()
	defer e.releaseInit()
	e.clk = newClock(e.start, e.tracerTid)
	watchDone := make(chan struct{})
	defer close(watchDone)
	go e.watch(e.clk, e.opts.Limit, watchDone)

	// The helper is in group-stop; wake it so it can exec the command.
	sendSignal(pid, unix.SIGCONT)
	if err := e.loop(); err != nil {
		return nil, err
	}
	if e.res.Exit.Code == helperExitSetup && e.res.Execs == 0 {
		return nil, e.helperError("the helper process failed before exec")
	}
	e.finish()
	if err := ctx.Err(); err != nil {
		return e.res, fmt.Errorf("run interrupted: %w", err)
	}
	return e.res, nil
}
