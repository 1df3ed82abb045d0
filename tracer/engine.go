package tracer

// Design
//
// One goroutine, locked to its OS thread, owns every tracee of a run: in
// ptrace the tracer is a thread, so the fork of the root, every ptrace
// request and every wait4 happen on that thread. The thread is never
// unlocked: when Run returns, the goroutine exits and Go terminates the
// thread, so even a bug that leaves a tracee attached ends with the kernel's
// PTRACE_O_EXITKILL killing it rather than with a stopped orphan.
//
// Start. The root is loupe's own binary re-executed as a helper (helper.go)
// that stops itself; the tracer PTRACE_SEIZEs it with all options, resumes
// it, and the helper execs the command. A contained run (Options.Contain,
// Sandbox) puts an init of loupe's between the tracer and that helper: the
// tracer forks the init, which forks the helper, and tells the tracer its
// pid over a socket (contain.go). The init is not traced. SEIZE (not TRACEME) is what makes
// group-stops visible as such and PTRACE_LISTEN available, so SIGSTOP and
// SIGCONT behave as without a tracer.
//
// Following the tree. PTRACE_O_TRACEFORK/VFORK/CLONE auto-attach every new
// task; a child's first stop can be reported before its parent's event, so
// unknown pids are parked until the event names them, and a child can die
// before it, so such deaths are remembered. pids wrap (pid_max is often
// 32768) and a parent killed in fork never reports its event, so a
// remembered death is checked against /proc before a new child is taken for
// dead, and a stop parked for long is adopted from /proc: a child is never
// left stopped. wait4 uses __WALL and
// __WNOTHREAD: only this thread's tracees and children, never children
// that other goroutines started (os/exec) and never another run's tracees.
//
// Scope. At every PTRACE_EVENT_EXEC the tracer reads /proc/pid/exe and asks
// the whitelist. A process out of scope is restarted with PTRACE_CONT and
// never takes a syscall stop: it costs only its fork, exec and exit events.
//
// Syscall stops of in-scope processes (mechanism "seccomp"). At the first
// syscall of an in-scope image, the tracer makes the process itself run
// seccomp(SECCOMP_SET_MODE_FILTER) (and prctl(PR_SET_NO_NEW_PRIVS) when it
// lacks CAP_SYS_ADMIN) by rewriting that syscall-entry stop, then rewinds
// the pc so the original syscall runs again. The filter returns
// SECCOMP_RET_TRACE for the syscalls that matter (all of them when
// recording, only the targeted ones in experiment runs), so each costs one
// stop instead of ptrace's two, and the process is restarted with
// PTRACE_CONT. The filter cannot be removed and is inherited: descendants of
// in-scope processes that exec something out of scope still take one stop
// per filtered syscall (and are not recorded); scripts, whose interpreters
// mostly run other programs, are therefore traced with ptrace stops while
// everything is recorded. A filtered process can
// never be detached (RET_TRACE without a tracer fails every call with
// ENOSYS), so leftovers that carry the filter are killed after the grace
// period. Where the filter cannot be installed, or with NoSeccomp, in-scope
// processes are restarted with PTRACE_SYSCALL (mechanism "ptrace").
//
// Interventions happen at the entry (or seccomp) stop: the syscall number
// is set to -1, so the kernel skips the call, and the return register is
// set to -ENOSYS, 0 or -errno.
//
// The end. When the root exits, Run returns its status as the command would.
// Leftover processes are detached where that is safe (LeftoversDetach), the
// rest are killed after Options.Grace; with LeftoversKill everything is
// killed. Cancelling the context kills the whole tree. In a contained run
// the tracer then releases the init, which ends what the tracer cannot see
// (clone with CLONE_UNTRACED from a process that takes no syscall stops),
// and Run returns only once the init is gone.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/tracer/exeid"
	"salsa.debian.org/loupe-team/loupe/tracer/pseudofile"
	"salsa.debian.org/loupe-team/loupe/tracer/subfeature"
	"salsa.debian.org/loupe-team/loupe/tracer/sysent"
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
		// Never unlocked: see the design note above.
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

type task struct {
	tid  int
	proc *proc
	// expectInit: the task's initial PTRACE_EVENT_STOP is still to come.
	expectInit bool
	// wantExit: the task was restarted with PTRACE_SYSCALL from a seccomp
	// stop to see the syscall's result.
	wantExit  bool
	exit      exitAction // sub-feature/pseudo-file work for the exit stop
	lastNr    int
	inj       *injection
	detaching bool
	nsTid     int // the tid as the task sees it (PID namespace); 0: not read yet
}

type proc struct {
	tgid, ppid int
	// preExec: the helper before its exec; never in scope.
	preExec  bool
	inScope  bool
	filtered bool // carries loupe's seccomp filter
	opts     int  // ptrace options set on its tasks
	bin      *binRec
	rec      *Process
	exe      string
	fds      *fdTable // pseudo-file fds, when they are followed
	cwd      string   // cached working directory for relative paths; "" = unknown
	nsTgid   int      // the tgid as the process sees it; 0: not read yet
}

type binRec struct {
	b        *Binary
	procs    []*Process // in start order; filled in as images end
	counts   []uint64   // by syscall number
	errs     []uint64
	other    map[string]uint64 // foreign-ABI calls and numbers beyond the table
	features map[string]uint64
	pseudo   map[string]uint64
	hits     map[string]uint64 // rule hits
}

type engine struct {
	cmd   Command
	opts  Options
	table *sysent.Table
	rules *ruleSet
	sub   *subfeature.Decoder
	pf    *pseudofile.Table
	// needPaths: path arguments and pseudo-file fds are followed.
	needPaths bool
	frules    *featureRules
	stand     *standIns
	fcntlNr   int
	chdirNrs  [2]int

	// useSeccomp: try to install the filter in in-scope processes.
	useSeccomp bool
	// needStops: in-scope processes need syscall stops at all.
	needStops bool
	filter    []byte // the BPF program, encoded for the tracee

	tasks     map[int]*task
	parked    map[int]parkedStop
	deadEarly map[int]bool
	tracerTid int // the thread that ptraces: tracees show it as TracerPid
	bins      map[string]*binRec
	binOrder  []*binRec

	rootPid     int
	rootDone    bool
	rootExit    ExitStatus
	start       time.Time
	deadline    time.Time // grace deadline for leftovers
	hardStop    time.Time
	res         *Result
	usedPtrace  bool
	usedSeccomp bool

	killing atomic.Bool
	// clk measures the run's Usage; limitHit is set when it exceeded
	// Options.Limit and the tree was killed.
	clk      *clock
	limitHit atomic.Bool
	liveMu   sync.Mutex
	live     map[int]bool // tgids, for the context watcher

	statusBuf []byte
	errFile   string

	// The init of a contained run (contain.go): its pid, whether it has
	// been reaped, and loupe's end of the socket that keeps it alive.
	initPid  int
	initDone bool
	sync     int
	syncOnce sync.Once

	cloneNr, clone3Nr int
	// rootPrefix is the path, as /proc shows it to loupe, of the command's
	// root directory when that is not loupe's: a command in a mount
	// namespace of its own inside a chroot. Paths read from /proc (exe,
	// cwd, fds) start with it and are made relative to the chroot again.
	rootPrefix string
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
	path, err := lookPath(cmd.Path, cmd.Env, cmd.Dir)
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
		tasks: map[int]*task{}, parked: map[int]parkedStop{}, deadEarly: map[int]bool{},
		bins: map[string]*binRec{}, live: map[int]bool{},
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

// lookPath resolves a command like execvp would, with the PATH of env.
func lookPath(file string, env []string, dir string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s: permission denied", file)
		}
		return file, nil
	}
	pathEnv := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// run is the tracer thread's body.
// Precondition: the calling goroutine is locked to its OS thread.
func (e *engine) run(ctx context.Context) (*Result, error) {
	pid, err := e.startHelper()
	if err != nil {
		return nil, err
	}
	e.rootPid = pid
	e.start = time.Now()
	root := &task{tid: pid, proc: &proc{tgid: pid, ppid: os.Getpid(), preExec: true, opts: baseOpts}}
	e.tasks[pid] = root
	e.addLive(pid)
	e.res.Processes = 1

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
	unix.Kill(pid, unix.SIGCONT)
	if err := e.loop(); err != nil {
		return nil, err
	}
	if e.res.Exit.Code == helperExitSetup && e.res.Execs == 0 {
		err := e.helperError("the helper process failed before exec")
		os.Remove(e.errFile)
		return nil, err
	}
	os.Remove(e.errFile)
	e.finish()
	if err := ctx.Err(); err != nil {
		return e.res, fmt.Errorf("run interrupted: %w", err)
	}
	return e.res, nil
}

func waitExit(ws unix.WaitStatus) ExitStatus {
	if ws.Signaled() {
		return ExitStatus{Signal: syscall.Signal(ws.Signal()), CoreDumped: ws.CoreDump()}
	}
	return ExitStatus{Code: ws.ExitStatus()}
}

// loop waits for tracee events until every tracee is gone.
func (e *engine) loop() error {
	var ws unix.WaitStatus
	for {
		if e.rootDone && len(e.tasks) == 0 && (e.initPid == 0 || e.initDone) {
			return nil
		}
		flags := unix.WALL | unix.WNOTHREAD
		if e.rootDone || len(e.parked) > 0 {
			flags |= unix.WNOHANG
		}
		pid, err := unix.Wait4(-1, &ws, flags, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECHILD:
			// Nothing left that could report: whatever we still hold is gone.
			for tid := range e.tasks {
				delete(e.tasks, tid)
			}
			e.initDone = true
			if !e.rootDone {
				return errors.New("tracer: lost the root process")
			}
			return nil
		case err != nil:
			return fmt.Errorf("tracer: wait4: %w", err)
		}
		if pid == 0 {
			if len(e.parked) > 0 {
				e.adoptParked(time.Now())
			}
			if e.rootDone {
				e.leftoverTick()
			} else {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		e.handle(pid, ws)
	}
}

func (e *engine) handle(pid int, ws unix.WaitStatus) {
	if pid == e.initPid && e.initPid != 0 {
		// Not a tracee: the init reports only its death.
		if ws.Exited() || ws.Signaled() {
			e.initDone = true
		}
		return
	}
	t := e.tasks[pid]
	if ws.Exited() || ws.Signaled() {
		e.onDeath(pid, t, ws)
		return
	}
	if !ws.Stopped() {
		return
	}
	e.res.Stops++
	if t == nil {
		// A new child whose parent's fork event has not been seen yet.
		e.parked[pid] = parkedStop{ws: ws, at: time.Now()}
		return
	}
	if e.killing.Load() {
		e.killProc(t.proc)
	}
	sig := ws.StopSignal()
	ev := int(ws>>16) & 0xff
	switch {
	case sig == unix.SIGTRAP|0x80:
		e.onSyscallStop(t)
	case ev == unix.PTRACE_EVENT_STOP:
		if sig == unix.SIGSTOP || sig == unix.SIGTSTP || sig == unix.SIGTTIN || sig == unix.SIGTTOU {
			// Group-stop: stay stopped, but let the tracer hear of SIGCONT.
			if t.detaching {
				e.detach(t, 0)
				return
			}
			if err := ptListen(t.tid); err != nil {
				e.resume(t, 0)
			}
			return
		}
		// Initial stop of a new task, PTRACE_INTERRUPT, or the wake-up after
		// PTRACE_LISTEN.
		t.expectInit = false
		if t.detaching {
			e.detach(t, 0)
			return
		}
		e.resume(t, 0)
	case sig == unix.SIGTRAP && ev != 0:
		switch ev {
		case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK, unix.PTRACE_EVENT_CLONE:
			e.onNewChild(t, ev)
		case unix.PTRACE_EVENT_EXEC:
			e.onExec(t)
		case unix.PTRACE_EVENT_EXIT:
			e.onExitEvent(t)
		case unix.PTRACE_EVENT_SECCOMP:
			e.onSeccomp(t)
		default:
			e.resume(t, 0)
		}
	default:
		e.onSignal(t, int(sig))
	}
}

// resume restarts t, with syscall stops only where they are needed.
func (e *engine) resume(t *task, sig int) {
	if t.detaching {
		e.detach(t, sig)
		return
	}
	var err error
	if t.inj != nil || t.wantExit || t.exit.pending() || (t.proc.inScope && !t.proc.filtered && e.needStops) {
		err = ptSyscall(t.tid, sig)
	} else {
		err = ptCont(t.tid, sig)
	}
	// ESRCH: the task died meanwhile (SIGKILL); wait4 will report it.
	_ = err
}

func (e *engine) detach(t *task, sig int) {
	if err := ptDetach(t.tid, sig); err != nil {
		return
	}
	delete(e.tasks, t.tid)
	if t.tid == t.proc.tgid {
		e.res.Leftovers = append(e.res.Leftovers, Leftover{PID: t.tid, Exe: t.proc.exe, Detached: true})
		e.endImage(t.proc, ExitStatus{}, false)
		e.removeLive(t.tid)
	}
}

func (e *engine) onSignal(t *task, sig int) {
	if inj := t.inj; inj != nil && inj.phase == injWaitReentry {
		// The signal arrives between two injected syscalls: put the original
		// syscall back so it runs after the handler, and start the injection
		// again at the next syscall entry.
		r := regsRestart(inj.saved)
		ptSetRegs(t.tid, &r)
		inj.phase = injWaitEntry
	}
	e.resume(t, sig)
}

func (e *engine) onNewChild(t *task, ev int) {
	msg, err := ptEventMsg(t.tid)
	if err != nil {
		e.resume(t, 0)
		return
	}
	if e.opts.hooks.zeroEventMsgs > 0 {
		e.opts.hooks.zeroEventMsgs--
		msg = 0
	}
	child := int(msg)
	if child <= 0 {
		// The kernel reports 0 when the new task's pid is not visible in
		// the tracer's PID namespace; it happened in sbuild (stunnel4).
		// Tracked, pid 0 made the kill paths signal 0: loupe's own process
		// group, the build. The task is adopted from /proc if it stops
		// where wait4 sees it (adoptParked).
		e.resume(t, 0)
		return
	}
	isThread := false
	if ev == unix.PTRACE_EVENT_CLONE {
		isThread = e.cloneIsThread(t)
	}
	if e.deadEarly[child] {
		delete(e.deadEarly, child)
		if e.opts.hooks.trustDeadEarly || !e.isOurLiveTracee(child) {
			e.resume(t, 0)
			return
		}
		// A stale record: the pid was reused by this new child.
	}
	e.addChild(t, child, isThread)
	e.resume(t, 0)
}

// isOurLiveTracee tells whether pid is a live task traced by this engine.
// A child whose death was reported is a zombie no longer traced, or gone.
func (e *engine) isOurLiveTracee(pid int) bool {
	if _, ok := e.parked[pid]; ok {
		return true // a stop reported after the death: a new task
	}
	b, err := readSmall(procPath(pid, "status"), e.statusBuf)
	if err != nil {
		return false
	}
	st := statusField(b, "State")
	return statusField(b, "TracerPid") == strconv.Itoa(e.tracerTid) && !strings.HasPrefix(st, "Z") && !strings.HasPrefix(st, "X")
}

// addChild starts tracking a new task of parent's and resumes it if its
// first stop was parked.
func (e *engine) addChild(t *task, child int, isThread bool) {
	ct := &task{tid: child}
	if isThread {
		ct.proc = t.proc
	} else {
		p := t.proc
		np := &proc{tgid: child, ppid: p.tgid, preExec: p.preExec, inScope: p.inScope,
			filtered: p.filtered, opts: p.opts, bin: p.bin, exe: p.exe, cwd: p.cwd}
		if p.fds != nil {
			np.fds = p.fds.clone()
		}
		if p.rec != nil {
			np.rec = p.bin.newProcess(Process{PID: child, PPID: p.tgid, Exe: p.rec.Exe, Argv: p.rec.Argv})
		}
		ct.proc = np
		e.res.Processes++
		e.addLive(child)
	}
	e.tasks[child] = ct
	if e.rootDone && e.opts.Leftovers == LeftoversDetach && !ct.proc.filtered {
		ct.detaching = true
	}
	if e.killing.Load() {
		unix.Kill(child, unix.SIGKILL)
	}
	if _, ok := e.parked[child]; ok {
		delete(e.parked, child)
		e.resume(ct, 0)
	} else {
		ct.expectInit = true
	}
}

// parkedStop is the first stop of a task no event has named yet.
type parkedStop struct {
	ws unix.WaitStatus
	at time.Time
}

// adoptAfter is how long a parked stop waits for its parent's event before
// the parent is looked up in /proc instead.
const adoptAfter = time.Second

// adoptParked adopts parked tasks whose parent's event is overdue: the
// parent (or, for a thread, the thread group) is read from /proc. One with
// no known parent is detached, never left stopped.
func (e *engine) adoptParked(now time.Time) {
	wait := adoptAfter
	if e.opts.hooks.adoptAfter > 0 {
		wait = e.opts.hooks.adoptAfter
	}
	for pid, ps := range e.parked {
		if now.Sub(ps.at) < wait {
			continue
		}
		status, _ := readSmall(procPath(pid, "status"), e.statusBuf)
		tgid, _ := strconv.Atoi(statusField(status, "Tgid"))
		ppid, _ := strconv.Atoi(statusField(status, "PPid"))
		delete(e.deadEarly, pid)
		var parent *task
		if tgid != pid {
			for _, t := range e.tasks {
				if t.proc.tgid == tgid {
					parent = t
					break
				}
			}
		} else {
			parent = e.tasks[ppid]
		}
		switch {
		case parent != nil:
			e.addChild(parent, pid, tgid != pid)
		default:
			delete(e.parked, pid)
			ptDetach(pid, 0)
		}
	}
}

// cloneIsThread tells a new thread from a new process at a clone event by
// reading the flags the parent passed.
func (e *engine) cloneIsThread(t *task) bool {
	var r unix.PtraceRegs
	if err := ptGetRegs(t.tid, &r); err != nil {
		return false
	}
	flags := regsFirstArg(&r)
	if name := e.table.Name(int(regsNr(&r))); name == "clone3" {
		var b [8]byte
		if readMem(t.tid, flags, b[:]) != nil {
			return false
		}
		flags = *(*uint64)(unsafe.Pointer(&b[0]))
	}
	return flags&unix.CLONE_THREAD != 0
}

func (e *engine) onExec(t *task) {
	former, _ := ptEventMsg(t.tid)
	p := t.proc
	if int(former) != t.tid {
		// A non-leader thread exec'd and took over the leader's pid.
		delete(e.tasks, int(former))
	}
	t.inj, t.wantExit, t.expectInit = nil, false, false
	e.res.Execs++
	if p.inScope && !p.preExec {
		e.endImage(p, ExitStatus{}, true)
	}
	p.preExec = false
	exe, err := procExe(p.tgid)
	if err != nil {
		exe = "?"
	}
	exe = e.local(exe)
	p.exe = exe
	p.inScope, p.bin, p.rec, p.fds, p.cwd = false, nil, nil, nil, ""
	t.exit = exitAction{}
	var argv []string
	ident, in := e.scope(p.tgid, exe, &argv)
	opts := baseOpts
	if in {
		p.inScope = true
		if argv == nil {
			argv = procCmdline(p.tgid)
		}
		p.bin = e.binFor(p.tgid, ident)
		p.rec = p.bin.newProcess(Process{PID: p.tgid, PPID: p.ppid, Exe: ident.Path, Argv: argv})
		if n := procFDCount(p.tgid); n > p.rec.MaxFDs {
			p.rec.MaxFDs = n
		}
		if e.needPaths {
			e.seedFDs(t)
		}
		opts |= unix.PTRACE_O_TRACEEXIT
		// A script's interpreter mostly runs other programs; while every
		// syscall is recorded, a filter inherited by those children would
		// stop all of their syscalls too, so scripts take ptrace stops of
		// their own instead. Experiment runs filter only the targeted
		// syscalls, which stays cheap for children.
		recordingAll := e.opts.Record&RecordSyscalls != 0
		if e.useSeccomp && !p.filtered && !(ident.Interpreter != "" && recordingAll) {
			t.inj = &injection{}
		}
	}
	if opts != p.opts {
		if ptSetOptions(t.tid, opts) == nil {
			p.opts = opts
		}
	}
	e.resume(t, 0)
}

// local turns a path read from /proc/<tracee> into one loupe can use (see
// rootPrefix).
func (e *engine) local(p string) string {
	if e.rootPrefix == "" {
		return p
	}
	if p == e.rootPrefix {
		return "/"
	}
	if rest, ok := strings.CutPrefix(p, e.rootPrefix); ok && strings.HasPrefix(rest, "/") {
		return rest
	}
	return p
}

func (e *engine) procCwd(pid int) (string, error) {
	c, err := procCwd(pid)
	return e.local(c), err
}

// ids returns the tgid and the tid of t as t itself sees them: in a PID
// namespace they differ from loupe's.
func (e *engine) ids(t *task) (tgid, tid int) {
	if e.res.Containment != ContainPIDNamespace {
		return t.proc.tgid, t.tid
	}
	if t.nsTid == 0 {
		t.nsTid = nsPid(t.tid, e.statusBuf)
	}
	if t.proc.nsTgid == 0 {
		t.proc.nsTgid = nsPid(t.proc.tgid, e.statusBuf)
	}
	return t.proc.nsTgid, t.nsTid
}

// scope decides whether the image just exec'd is in scope. Deciding on the
// executable itself touches only a file the kernel has just exec'd. A script
// run by an interpreter is found among the first arguments, which name
// anything in the workload's world: that probe runs off the tracer loop,
// bounded by probeTimeout, so a FIFO, a terminal or a hung NFS server can
// never stop the suite.
func (e *engine) scope(pid int, exe string, argv *[]string) (Identity, bool) {
	wl := e.opts.Whitelist
	x := NewExe(exe, e.opts.Identities)
	if wl == nil || wl.Match(x) {
		return Identity{Path: exe}, true
	}
	*argv = procCmdline(pid)
	if len(*argv) < 2 {
		return Identity{}, false
	}
	args := *argv
	done := make(chan scriptProbe, 1)
	go func() { done <- e.probeScripts(pid, exe, args) }()
	timeout := probeTimeout
	if e.opts.hooks.probeTimeout > 0 {
		timeout = e.opts.hooks.probeTimeout
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-done:
		return r.id, r.in
	case <-t.C:
		e.res.Warnings = append(e.res.Warnings, fmt.Sprintf(
			"pid %d (%s): looking for a whitelisted script among %q took over %s; treated as out of scope",
			pid, exe, args[1:min(len(args), 4)], timeout))
		return Identity{}, false
	}
}

// probeTimeout bounds the script probe of one exec.
const probeTimeout = 5 * time.Second

type scriptProbe struct {
	id Identity
	in bool
}

// probeScripts looks for a whitelisted script among the first three
// arguments: the kernel (for #!) or the user put the script's path there.
// It may block on the file system, so it never runs on the tracer thread,
// and it touches only state that is safe for concurrent use.
func (e *engine) probeScripts(pid int, exe string, args []string) scriptProbe {
	if e.opts.hooks.probeDelay > 0 {
		time.Sleep(e.opts.hooks.probeDelay)
	}
	var cwd string
	for i := 1; i < len(args) && i <= 3; i++ {
		a := tracePath(pid, args[i])
		if a == "" || strings.HasPrefix(a, "-") {
			continue
		}
		if !filepath.IsAbs(a) {
			if cwd == "" {
				if cwd, _ = e.procCwd(pid); cwd == "" {
					return scriptProbe{}
				}
			}
			a = filepath.Join(cwd, a)
		}
		r, err := filepath.EvalSymlinks(a)
		if err != nil {
			continue
		}
		// ls, cat or grep given a script as argument do not run it: only
		// the interpreter its #! line names (or one of its family) does.
		if interp, ok := shebang(r); !ok || !interprets(exe, interp) {
			continue
		}
		if e.opts.Whitelist.Match(NewExe(r, e.opts.Identities)) {
			return scriptProbe{Identity{Path: r, Interpreter: exe}, true}
		}
	}
	return scriptProbe{}
}

// tracePath rewrites the paths that name the caller's own process
// (/proc/self/..., /dev/fd/N, /dev/std*) to the tracee's, so that the tracer
// never resolves them against its own file descriptors.
func tracePath(pid int, p string) string {
	for _, pre := range []string{"/proc/self/", "/proc/thread-self/"} {
		if rest, ok := strings.CutPrefix(p, pre); ok {
			return procPath(pid, rest)
		}
	}
	if rest, ok := strings.CutPrefix(p, "/dev/fd/"); ok {
		return procPath(pid, "fd/"+rest)
	}
	switch p {
	case "/dev/stdin":
		return procPath(pid, "fd/0")
	case "/dev/stdout":
		return procPath(pid, "fd/1")
	case "/dev/stderr":
		return procPath(pid, "fd/2")
	}
	return p
}

// shebang returns the interpreter that the #! line of path names (for
// "#!/usr/bin/env prog", prog), or false when path is not a regular file
// starting with "#!". It never opens anything but a regular file (see
// exeid.OpenRegular).
func shebang(path string) (string, bool) {
	f, _, err := exeid.OpenRegular(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	var b [256]byte
	n, _ := f.ReadAt(b[:], 0)
	line := string(b[:n])
	if !strings.HasPrefix(line, "#!") {
		return "", false
	}
	line, _, _ = strings.Cut(line[2:], "\n")
	words := strings.Fields(line)
	if len(words) == 0 {
		return "", true
	}
	interp := words[0]
	if filepath.Base(interp) == "env" {
		interp = ""
		for _, w := range words[1:] {
			if !strings.HasPrefix(w, "-") && !strings.Contains(w, "=") {
				interp = w
				break
			}
		}
	}
	return interp, true
}

// interprets reports whether the program exe can be running a script whose
// #! line names interp: the same program, or one of the same family
// (python3.11 for python3; bash for a /bin/sh script), since `bash -x
// script` and `python3 script` are common ways of running scripts.
func interprets(exe, interp string) bool {
	if interp == "" {
		return interpreterFamily(filepath.Base(exe)) != ""
	}
	if filepath.IsAbs(interp) {
		if r, err := filepath.EvalSymlinks(interp); err == nil && r == exe {
			return true
		}
	}
	f := interpreterFamily(filepath.Base(exe))
	return f != "" && f == interpreterFamily(filepath.Base(interp))
}

// interpreterFamily names the family of an interpreter's file name, with
// version suffixes stripped ("python3.11" -> "python"); the POSIX shells
// are one family. It returns "" for programs that are not interpreters.
func interpreterFamily(name string) string {
	name = strings.TrimRight(name, "0123456789.")
	switch name {
	case "sh", "bash", "dash", "ksh", "mksh", "pdksh", "zsh", "posh", "yash", "busybox":
		return "sh"
	case "python", "perl", "ruby", "tclsh", "wish", "expect", "node", "nodejs", "lua", "php", "awk", "gawk",
		"mawk", "make", "guile", "Rscript", "fish", "csh", "tcsh", "osh", "pwsh", "runghc", "escript":
		return name
	}
	return ""
}

// binFor returns the record of an in-scope executable, creating it (and
// computing its identity, through the cache) at its first exec.
func (e *engine) binFor(pid int, id Identity) *binRec {
	key := id.Path + "\x00" + id.Interpreter
	if b := e.bins[key]; b != nil {
		return b
	}
	src := procPath(pid, "exe") // the very inode that runs, even if replaced since
	if id.Interpreter != "" {
		src = id.Path
	}
	if s, err := e.opts.Identities.Sums(src); err == nil {
		id.BuildID, id.SHA256 = s.BuildID, s.SHA256
	}
	b := &binRec{b: &Binary{Identity: id}, counts: make([]uint64, e.table.Max()), other: map[string]uint64{},
		features: map[string]uint64{}, pseudo: map[string]uint64{}, hits: map[string]uint64{}}
	if e.opts.Record&RecordErrors != 0 {
		b.errs = make([]uint64, e.table.Max())
	}
	e.bins[key] = b
	e.binOrder = append(e.binOrder, b)
	return b
}

func (b *binRec) newProcess(p Process) *Process {
	rec := &p
	b.procs = append(b.procs, rec)
	return rec
}

// endImage closes the process record of p's current image.
func (e *engine) endImage(p *proc, st ExitStatus, replaced bool) {
	if p.rec == nil || p.bin == nil {
		return
	}
	p.rec.Exit, p.rec.Replaced = st, replaced
	p.rec = nil
}

func (e *engine) onExitEvent(t *task) {
	if rec := t.proc.rec; rec != nil {
		if v := procVmHWM(t.tid, e.statusBuf); v > rec.PeakRSSKB {
			rec.PeakRSSKB = v
		}
		if n := procFDCount(t.tid); n > rec.MaxFDs {
			rec.MaxFDs = n
		}
	}
	e.resume(t, 0)
}

func (e *engine) onDeath(pid int, t *task, ws unix.WaitStatus) {
	delete(e.parked, pid)
	if t == nil {
		e.deadEarly[pid] = true
		return
	}
	delete(e.tasks, pid)
	p := t.proc
	if pid == p.tgid {
		st := waitExit(ws)
		e.endImage(p, st, false)
		e.removeLive(pid)
		if e.rootDone {
			for _, l := range e.res.Leftovers {
				if l.PID == pid {
					goto done
				}
			}
			if pid != e.rootPid && !t.detaching {
				e.res.Leftovers = append(e.res.Leftovers, Leftover{PID: pid, Exe: p.exe})
			}
		done:
		}
	}
	if pid == e.rootPid {
		e.rootExit = waitExit(ws)
		e.res.Exit = e.rootExit
		now := time.Now()
		e.res.Wall = now.Sub(e.start)
		e.clk.freeze(now)
		e.rootDone = true
		e.onRootDone()
	}
}

// onRootDone starts leftover handling.
func (e *engine) onRootDone() {
	e.deadline = time.Now().Add(e.opts.Grace)
	e.hardStop = e.deadline.Add(10 * time.Second)
	if e.opts.Leftovers == LeftoversKill || e.killing.Load() {
		e.killAllTasks()
		// The init kills what the tracer does not know of.
		e.releaseInit()
		return
	}
	for _, t := range e.tasks {
		if t.proc.filtered || t.inj != nil {
			continue // cannot be detached safely: killed after the grace period
		}
		t.detaching = true
		ptInterrupt(t.tid)
	}
	// Parked children are handled when their parents' fork events arrive:
	// they inherit the decision (onNewChild).
}

// leftoverTick runs while polling after the root exited.
func (e *engine) leftoverTick() {
	now := time.Now()
	switch {
	case now.After(e.hardStop):
		// Nothing reports any more; our thread's exit will EXITKILL the rest.
		for tid := range e.tasks {
			delete(e.tasks, tid)
		}
		if e.initPid != 0 && !e.initDone {
			unix.Kill(e.initPid, unix.SIGKILL)
		}
	case now.After(e.deadline):
		e.killAllTasks()
		time.Sleep(time.Millisecond)
	default:
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *engine) killAllTasks() {
	seen := map[*proc]bool{}
	for _, t := range e.tasks {
		if !seen[t.proc] {
			seen[t.proc] = true
			e.killProc(t.proc)
		}
	}
	for pid := range e.parked {
		unix.Kill(pid, unix.SIGKILL)
	}
}

func (e *engine) killProc(p *proc) { unix.Kill(p.tgid, unix.SIGKILL) }

// killTree is called from another goroutine when the context ends.
func (e *engine) killTree() {
	e.killing.Store(true)
	e.releaseInit()
	e.liveMu.Lock()
	defer e.liveMu.Unlock()
	for pid := range e.live {
		unix.Kill(pid, unix.SIGKILL)
	}
}

func (e *engine) addLive(pid int) {
	if pid <= 0 {
		return // kill(0) and kill(-1) are not about one process
	}
	e.liveMu.Lock()
	e.live[pid] = true
	e.liveMu.Unlock()
	if e.killing.Load() {
		unix.Kill(pid, unix.SIGKILL)
	}
}

func (e *engine) removeLive(pid int) {
	e.liveMu.Lock()
	delete(e.live, pid)
	e.liveMu.Unlock()
}

// onSeccomp handles a SECCOMP_RET_TRACE stop: a syscall entry of a filtered
// process.
func (e *engine) onSeccomp(t *task) {
	var info syscallInfo
	if err := ptSyscallInfo(t.tid, &info); err != nil {
		e.resume(t, 0)
		return
	}
	if e.clearUntraced(t, &info) {
		e.resume(t, 0)
		return
	}
	if !t.proc.inScope {
		// An out-of-scope descendant of an in-scope process: it inherited the
		// filter, but nothing of it is recorded or changed.
		e.resume(t, 0)
		return
	}
	e.usedSeccomp = true
	e.onEntry(t, &info, true)
}

// clearUntraced makes a clone with CLONE_UNTRACED (or a clone3 with it in
// its struct) create a traced child, by clearing the flag before the call
// runs: such a child would escape the tracer, and with loupe's filter
// inherited and no tracer behind it, every filtered call of it would fail.
// Where clone3's struct cannot be written, the call fails with ENOSYS, as
// on a kernel without clone3, and libc retries with clone. It reports
// whether the call was refused.
func (e *engine) clearUntraced(t *task, info *syscallInfo) bool {
	if info.Arch != nativeAuditArch {
		return false
	}
	switch nr := int(info.Nr); {
	case nr == e.cloneNr && nr >= 0:
		if info.Args[0]&unix.CLONE_UNTRACED != 0 {
			info.Args[0] &^= unix.CLONE_UNTRACED
			ptPokeUser(t.tid, argRegOffsets[0], info.Args[0])
		}
	case nr == e.clone3Nr && nr >= 0:
		if info.Args[1] < 8 {
			return false // the kernel refuses it (EINVAL)
		}
		var b [8]byte
		if readMem(t.tid, info.Args[0], b[:]) != nil {
			return false // EFAULT for the call too
		}
		flags := binary.LittleEndian.Uint64(b[:])
		if flags&unix.CLONE_UNTRACED == 0 {
			return false
		}
		binary.LittleEndian.PutUint64(b[:], flags&^unix.CLONE_UNTRACED)
		if writeMem(t.tid, info.Args[0], b[:]) != nil {
			ptPokeUser(t.tid, offSyscallNr, ^uint64(0))
			enosys := -int64(unix.ENOSYS)
			ptPokeUser(t.tid, offRetval, uint64(enosys))
			return true
		}
	}
	return false
}

// onSyscallStop handles a PTRACE_SYSCALL stop (entry or exit).
func (e *engine) onSyscallStop(t *task) {
	var info syscallInfo
	if err := ptSyscallInfo(t.tid, &info); err != nil {
		e.resume(t, 0)
		return
	}
	if t.inj != nil {
		e.stepInjection(t, &info)
		return
	}
	switch info.Op {
	case unix.PTRACE_SYSCALL_INFO_ENTRY:
		if !t.proc.inScope || t.proc.filtered {
			e.resume(t, 0)
			return
		}
		e.usedPtrace = true
		if e.clearUntraced(t, &info) {
			e.resume(t, 0)
			return
		}
		e.onEntry(t, &info, false)
	case unix.PTRACE_SYSCALL_INFO_EXIT:
		t.wantExit = false
		if t.exit.pending() {
			e.onExitFeatures(t, &info)
		}
		if b := t.proc.bin; b != nil && b.errs != nil && info.isError() && t.lastNr >= 0 && t.lastNr < len(b.errs) {
			b.errs[t.lastNr]++
		}
		e.resume(t, 0)
	default:
		e.resume(t, 0)
	}
}

// onEntry records and intervenes at a syscall entry of an in-scope process.
func (e *engine) onEntry(t *task, info *syscallInfo, seccompStop bool) {
	p := t.proc
	nr := int(info.Nr)
	t.lastNr = -1
	if info.Arch != nativeAuditArch || nr&x32Bit != 0 {
		if e.opts.Record&RecordSyscalls != 0 && p.bin != nil {
			k := foreignArchName(info.Arch) + ":" + itoa(nr)
			if info.Arch == nativeAuditArch {
				k = "x32:" + itoa(nr&^x32Bit)
			}
			p.bin.other[k]++
		}
		e.resume(t, 0)
		return
	}
	if b := p.bin; b != nil && e.opts.Record&RecordSyscalls != 0 {
		if nr >= 0 && nr < len(b.counts) {
			b.counts[nr]++
		} else {
			b.other[e.table.Name(nr)]++
		}
	}
	if p.rec != nil && e.rules.isExec(nr) {
		if v := procVmHWM(t.tid, e.statusBuf); v > p.rec.PeakRSSKB {
			p.rec.PeakRSSKB = v
		}
	}
	if e.rules.killAll {
		e.res.RuleHits["*"]++
		unix.Kill(p.tgid, unix.SIGKILL)
		e.resume(t, 0)
		return
	}
	if nr == e.chdirNrs[0] || nr == e.chdirNrs[1] {
		p.cwd = ""
	}
	var d decision
	if e.sub != nil || e.needPaths {
		d = e.features(t, info)
	}
	if d.rule == nil {
		if r := e.rules.match(nr); r != nil {
			d = decision{rule: r, retval: r.retval(), skip: true}
		}
	}
	if r := d.rule; r != nil {
		e.res.RuleHits[r.Feature]++
		if p.bin != nil {
			p.bin.hits[r.Feature]++
		}
		if r.Action == Kill {
			unix.Kill(p.tgid, unix.SIGKILL)
			e.resume(t, 0)
			return
		}
		if d.skip {
			// Skip the call and set its return value.
			t.exit = exitAction{}
			ptPokeUser(t.tid, offSyscallNr, ^uint64(0))
			ptPokeUser(t.tid, offRetval, uint64(d.retval))
			e.resume(t, 0)
			return
		}
	}
	if seccompStop && e.opts.Record&RecordErrors != 0 {
		t.lastNr = nr
		t.wantExit = true
	} else if !seccompStop {
		t.lastNr = nr
	}
	e.resume(t, 0)
}

// finish builds the Result from the records.
func (e *engine) finish() {
	e.res.Usage = e.clk.usage(time.Now())
	e.res.LimitExceeded = e.limitHit.Load()
	if e.usedSeccomp && e.usedPtrace {
		e.res.Mechanism = "seccomp+ptrace"
	} else if e.usedSeccomp {
		e.res.Mechanism = "seccomp"
	} else if e.usedPtrace {
		e.res.Mechanism = "ptrace"
	}
	for _, b := range e.binOrder {
		out := b.b
		for nr, c := range b.counts {
			if c == 0 {
				continue
			}
			sc := SyscallCount{Number: nr, Name: e.table.Name(nr), Calls: c}
			if b.errs != nil {
				sc.Errors = b.errs[nr]
			}
			out.Syscalls = append(out.Syscalls, sc)
		}
		keys := make([]string, 0, len(b.other))
		for k := range b.other {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			nr := -1
			if n, ok := e.table.Number(k); ok {
				nr = n
			}
			out.Syscalls = append(out.Syscalls, SyscallCount{Number: nr, Name: k, Calls: b.other[k]})
		}
		sort.SliceStable(out.Syscalls, func(i, j int) bool {
			a, b := out.Syscalls[i], out.Syscalls[j]
			if (a.Number < 0) != (b.Number < 0) {
				return b.Number < 0
			}
			return a.Number < b.Number
		})
		out.Features = sortedCounts(b.features)
		out.PseudoFiles = sortedCounts(b.pseudo)
		if len(b.hits) > 0 {
			out.RuleHits = b.hits
		}
		for _, p := range b.procs {
			out.Processes = append(out.Processes, *p)
		}
		for _, p := range out.Processes {
			out.PeakRSSKB = max(out.PeakRSSKB, p.PeakRSSKB)
			out.MaxFDs = max(out.MaxFDs, p.MaxFDs)
		}
		e.res.Binaries = append(e.res.Binaries, out)
	}
	sort.Slice(e.res.Binaries, func(i, j int) bool {
		a, b := e.res.Binaries[i], e.res.Binaries[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Interpreter < b.Interpreter
	})
}

func sortedCounts(m map[string]uint64) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Key: k, Calls: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
