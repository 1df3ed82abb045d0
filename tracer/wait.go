package tracer

// The wait loop: every stop and death a tracee reports comes through
// loop, and handle sends it to the room that deals with it; resume is the
// one place that decides how a stopped task runs on (PTRACE_CONT, or
// PTRACE_SYSCALL where it needs syscall stops).
// Precondition for everything here: called on the tracer thread.

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// waitExit is how a process ended, from its wait status.
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
			if e.rootReleased && !e.rootDone {
				// Its report of the root never came: the tree was killed.
				e.rootExited(unix.WaitStatus(unix.SIGKILL))
			}
		}
		return
	}
	if n := e.nt; n != nil && pid == n.waker {
		// The notifier woke us (notify.go).
		if ws.Stopped() {
			ptCont(pid, 0)
			e.onNotifEvents()
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
	if t.execPending != 0 {
		// An exec answered at its notification: any stop but its exec
		// event means that it failed.
		if !(sig == unix.SIGTRAP && ev == unix.PTRACE_EVENT_EXEC) {
			e.execFailed(t)
		}
		t.execPending = 0
	}
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
	// An error is ESRCH: the task died meanwhile (SIGKILL); wait4 will
	// report its death.
	if t.inj != nil || t.wantExit || t.exit.pending() || (t.proc.inScope && !t.proc.filtered && e.needStops) {
		ptSyscall(t.tid, sig)
	} else {
		ptCont(t.tid, sig)
	}
}

func (e *engine) detach(t *task, sig int) {
	if err := ptDetach(t.tid, sig); err != nil {
		return
	}
	delete(e.tasks, t.tid)
	e.nt.setTraced(t.tid, false)
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
