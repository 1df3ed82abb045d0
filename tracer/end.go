package tracer

// The end of a run: when the root exits, leftovers are detached where
// that is safe and killed after the grace period (or at once with
// LeftoversKill); a cancelled context kills the whole tree from another
// goroutine (killTree).

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

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
			sendSignal(e.initPid, unix.SIGKILL)
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
		sendSignal(pid, unix.SIGKILL)
	}
}

func (e *engine) killProc(p *proc) { sendSignal(p.tgid, unix.SIGKILL) }

// killTree is called from another goroutine when the context ends.
func (e *engine) killTree() {
	e.killing.Store(true)
	e.releaseInit()
	e.liveMu.Lock()
	defer e.liveMu.Unlock()
	for pid := range e.live {
		sendSignal(pid, unix.SIGKILL)
	}
}

// sendSignal sends sig to the process pid. It refuses pid ≤ 0, which
// kill(2) takes for a process group (0: the caller's own, -1: every process
// the caller may signal): a pid of 0 once reached a kill from a fork event's
// message, and loupe killed the build around it (TestForkEventWithoutPid).
// Every signal the tracer sends to another process goes through here.
func sendSignal(pid int, sig unix.Signal) error {
	if pid <= 0 {
		return fmt.Errorf("tracer: refusing to signal pid %d (a process group, not a process)", pid)
	}
	return unix.Kill(pid, sig)
}
