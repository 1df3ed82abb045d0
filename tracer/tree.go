package tracer

// How the tree is followed, with ptrace: PTRACE_O_TRACEFORK, VFORK and
// CLONE attach every new task, and the wait loop reports their stops and
// deaths. This room keeps the tree (task, proc, the parked stops of tasks no
// event has named yet, deaths seen early, the live pids the context watcher
// kills) and answers the wait loop's events: onNewChild, onDeath,
// adoptParked. It hands a task to exec.go at its exec and to end.go when the
// root dies. Another way of following the tree (one that does not stop
// out-of-scope processes at all) would sit beside this file and keep these
// entry points.

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// tree is the process tree as ptrace shows it.
type tree struct {
	tasks     map[int]*task      // every traced task, by tid
	parked    map[int]parkedStop // first stops of tasks no event has named yet
	deadEarly map[int]bool       // deaths reported before the parent's event
	liveMu    sync.Mutex         // live is read by killTree, on another goroutine
	live      map[int]bool       // the tgids alive, for killTree
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
	// notif: a notification of this task being answered (notify.go);
	// execPending: 1+ the exec syscall whose failure is still to be
	// counted (RecordErrors in notify mode).
	notif       *pendingNotif
	execPending int
	nsTid       int // the tid as the task sees it (PID namespace); 0: not read yet
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
	e.nt.setTraced(child, true)
	if e.rootDone && e.opts.Leftovers == LeftoversDetach && !ct.proc.filtered {
		ct.detaching = true
	}
	if e.killing.Load() {
		sendSignal(child, unix.SIGKILL)
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
		v, err := readUint64(t.tid, flags)
		if err != nil {
			return false
		}
		flags = v
	}
	return flags&unix.CLONE_THREAD != 0
}

func (e *engine) onDeath(pid int, t *task, ws unix.WaitStatus) {
	delete(e.parked, pid)
	if t == nil {
		e.deadEarly[pid] = true
		return
	}
	delete(e.tasks, pid)
	e.nt.setTraced(pid, false)
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
		e.rootExited(ws)
	}
}

// rootExited ends the run's command: from its death as a tracee, or (notify
// mode, after the root was released) as the init reports it.
func (e *engine) rootExited(ws unix.WaitStatus) {
	e.res.Exit = waitExit(ws)
	now := time.Now()
	e.res.Wall = now.Sub(e.start)
	e.clk.freeze(now)
	e.rootDone = true
	e.removeLive(e.rootPid)
	e.onRootDone()
}

func (e *engine) addLive(pid int) {
	if pid <= 0 {
		return // kill(0) and kill(-1) are not about one process
	}
	e.liveMu.Lock()
	e.live[pid] = true
	e.liveMu.Unlock()
	if e.killing.Load() {
		sendSignal(pid, unix.SIGKILL)
	}
}

func (e *engine) removeLive(pid int) {
	e.liveMu.Lock()
	delete(e.live, pid)
	e.liveMu.Unlock()
}
