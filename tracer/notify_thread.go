package tracer

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The tracer thread's side of following with seccomp notify: the waker
// that wakes it, the execs the notifier hands over, and the release of
// processes an exec left out of scope (notify.go has the design).

// startWaker forks and seizes the waker: the tiny executable of
// wakerELF, run from a memfd, or loupe's own binary as a helper where that
// cannot be had (memfd exec forbidden, vm.memfd_noexec).
// Precondition: called on the tracer thread (the waker is its child).
func (e *engine) startWaker() (int, error) {
	pid, err := forkTinyWaker()
	if err != nil {
		self, err := os.Executable()
		if err != nil {
			return 0, fmt.Errorf("tracer: find own executable: %w", err)
		}
		cfg := helperConfig{Role: roleWaker}
		if pid, err = forkHelper(self, &cfg); err != nil {
			return 0, fmt.Errorf("tracer: start the waker: %w", err)
		}
	}
	if err := ptSeize(pid, unix.PTRACE_O_EXITKILL); err != nil {
		sendSignal(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WALL, nil)
		return 0, fmt.Errorf("tracer: seize the waker: %w", err)
	}
	return pid, nil
}

// forkTinyWaker starts wakerELF from a memfd, as a child of the calling
// thread that dies with it.
func forkTinyWaker() (int, error) {
	fd, err := unix.MemfdCreate("loupe-waker", unix.MFD_CLOEXEC)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, wakerELF()); err != nil {
		return 0, err
	}
	return syscall.ForkExec(procPath(os.Getpid(), "fd/"+itoa(fd)), []string{"loupe-waker"}, &syscall.ProcAttr{
		Env: []string{},
		Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
}

// onNotifEvents drains what the notifier queued; called at a stop of the
// waker.
// Precondition: called on the tracer thread.
func (e *engine) onNotifEvents() {
	n := e.nt
	n.mu.Lock()
	q := n.queue
	n.queue = nil
	n.mu.Unlock()
	for i := range q {
		ev := &q[i]
		if !ev.at.IsZero() {
			n.slowest = max(n.slowest, time.Since(ev.at))
		}
		if ev.rootExit != nil {
			if !e.rootDone {
				e.rootExited(*ev.rootExit)
			}
			continue
		}
		tid := int(ev.req.Pid)
		if t := e.tasks[tid]; t != nil {
			e.onTracedExec(t, &ev.req)
			continue
		}
		n.execs.Add(1)
		if !ev.seize {
			// It was traced when it asked, and is not any more.
			switch e.mayBeInScope(&ev.req, n.fd) {
			case verdictOut:
				n.answer(ev.req.ID, 0, false)
				continue
			case verdictGone:
				continue
			}
		}
		e.seizeForExec(&ev.req)
	}
}

// onTracedExec answers the exec of a task the tracer traces. For a process
// that carries loupe's filter, the notification stands in for the seccomp
// stop that SECCOMP_RET_USER_NOTIF's precedence took away.
func (e *engine) onTracedExec(t *task, req *seccompNotif) {
	n := e.nt
	p := t.proc
	if !p.inScope || !p.filtered {
		n.answer(req.ID, 0, false)
		return
	}
	d := &req.Data
	info := syscallInfo{Op: unix.PTRACE_SYSCALL_INFO_SECCOMP, Arch: d.Arch, IP: d.IP, Nr: uint64(uint32(d.Nr)), Args: d.Args}
	if t.execPending != 0 {
		// Another exec without an exec event: the last one failed.
		e.execFailed(t)
		t.execPending = 0
	}
	pn := &pendingNotif{id: req.ID}
	t.notif = pn
	e.onEntry(t, &info, true)
	t.notif = nil
	if !pn.answered {
		if pn.wantErr {
			t.execPending = int(uint32(d.Nr)) + 1
		}
		n.answer(req.ID, 0, false)
	}
}

// execFailed counts the failure of t's exec answered at its notification.
func (e *engine) execFailed(t *task) {
	if b, nr := t.proc.bin, t.execPending-1; b != nil && b.errs != nil && nr >= 0 && nr < len(b.errs) {
		b.errs[nr]++
	}
}

// answerEntry answers t's pending notification with a syscall result.
func (e *engine) answerEntry(t *task, rv int64) {
	t.notif.answered = true
	e.nt.answer(t.notif.id, rv, true)
}

// seizeForExec traces a task whose exec may be in scope, before letting
// the exec run: its exec event then decides, as with ptrace.
// Precondition: called on the tracer thread.
func (e *engine) seizeForExec(req *seccompNotif) {
	n := e.nt
	tid := int(req.Pid)
	status, _ := readSmall(procPath(tid, "status"), e.statusBuf)
	tgid := atoiOr(statusField(status, "Tgid"), tid)
	ppid := atoiOr(statusField(status, "PPid"), 0)
	tids := []int{tid}
	if ents, err := os.ReadDir(procPath(tgid, "task")); err == nil {
		for _, d := range ents {
			if th := atoiOr(d.Name(), 0); th > 0 && th != tid {
				tids = append(tids, th)
			}
		}
	}
	var seized []int
	for _, th := range tids {
		if err := ptSeize(th, baseOpts); err == nil {
			seized = append(seized, th)
		} else if th == tid {
			for _, s := range seized {
				ptDetach(s, 0)
			}
			if n.idValid(req.ID) {
				exe, _ := procExe(tid)
				n.warn(fmt.Sprintf("pid %d (%s) execs a file that may be in scope, but cannot be traced (%v); it runs untraced", tid, exe, err))
				n.answer(req.ID, 0, false)
			}
			return
		}
	}
	if !n.idValid(req.ID) {
		// Died (and its pid maybe reused) meanwhile: let it go.
		for _, s := range seized {
			ptDetach(s, 0)
		}
		return
	}
	exe, _ := procExe(tgid)
	p := &proc{tgid: tgid, ppid: ppid, opts: baseOpts, exe: e.local(exe)}
	for _, th := range seized {
		e.tasks[th] = &task{tid: th, proc: p}
		n.setTraced(th, true)
	}
	e.addLive(tgid)
	e.res.Processes++
	n.answer(req.ID, 0, false)
}

// releaseOutOfScope detaches a process whose exec left it out of scope, in
// notify mode: it needs no ptrace, and nothing of it is recorded. Not for
// processes that carry loupe's filter, which need their tracer. It reports
// whether t was released.
// Precondition: called on the tracer thread, at t's exec event.
func (e *engine) releaseOutOfScope(t *task) bool {
	if e.nt == nil || t.proc.filtered || t.inj != nil {
		return false
	}
	if ptDetach(t.tid, 0) != nil {
		return false
	}
	delete(e.tasks, t.tid)
	e.nt.setTraced(t.tid, false)
	e.removeLive(t.proc.tgid)
	if t.tid == e.rootPid {
		e.rootReleased = true
	}
	return true
}

func atoiOr(s string, def int) int {
	var v int
	if _, err := fmt.Sscan(s, &v); err != nil {
		return def
	}
	return v
}
