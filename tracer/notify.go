package tracer

// Following the tree without stopping it (Options.Follow = FollowNotify).
//
// The exec stage (helper.go) installs, before it stops itself, a seccomp
// filter whose only non-ALLOW action is SECCOMP_RET_USER_NOTIF on execve
// and execveat (notifyFilter), with SECCOMP_FILTER_FLAG_NEW_LISTENER. The
// filter is inherited by the whole tree, clone(CLONE_UNTRACED) children
// included, and cannot be removed. Once it has seized the stopped helper,
// the tracer takes the listener with pidfd_getfd, and the helper closes its
// copy before it execs the command.
//
// A goroutine of its own, the notifier, receives every exec of the tree.
// For a task the tracer does not trace, it resolves the file as the kernel
// will (the path read with process_vm_readv, relative to /proc/pid/cwd or
// the execveat dirfd, symlinks resolved inside the task's root with
// openat2(RESOLVE_IN_ROOT), a #! script's interpreter and the argv the
// kernel will give it) and asks the whitelist exactly as the exec event
// does (scope, probeScripts), opening nothing but regular files. Out of
// scope, it answers SECCOMP_USER_NOTIF_FLAG_CONTINUE at once: the process
// never stops. When the file may be in scope (or the notifier cannot
// tell), it hands the notification to the tracer thread, which
// PTRACE_SEIZEs the task with the usual options before it answers
// CONTINUE; from its exec event on the process is handled as with ptrace
// (scope, filter, stops, rules), and one whose exec turns out out of scope
// after all is detached. Notifications of tasks the tracer traces (in-scope
// processes and their descendants) go to the tracer thread too.
//
// The script probe runs inline on the notifier (notifier.decide): handing
// it to a goroutine and back, as the exec event does, cost two Go
// scheduler wake-ups per exec, often across CPUs. A hung file system must
// still not hold an exec longer than probeTimeout, so a watchdog timer
// hands such an exec to the tracer thread (whose exec event probes, bounded,
// and warns) and starts a new worker on the listener; the stuck one ends,
// touching nothing, when its probe returns. Result.Notify counts the execs
// answered on the notifier, those handed over, the probes that timed out
// and the slowest hand-over.
//
// The tracer thread blocks in wait4, so the notifier wakes it through a
// waker: a process that the tracer thread forked and seized, and that
// sleeps in pause() (a 129-byte executable run from a memfd, wakerELF; or
// loupe's binary as a helper, roleWaker, where a memfd cannot be exec'd). The notifier queues the event and
// sends the waker a thread-directed SIGUSR1; the waker's signal-delivery
// stop wakes wait4, and the tracer drains the queue and suppresses the
// signal. A notification that needs no ptrace never involves the tracer
// thread.
//
// Precedence. SECCOMP_RET_USER_NOTIF outranks SECCOMP_RET_TRACE, so an
// in-scope process that carries loupe's filter takes no seccomp stop at
// execve or execveat: the notification stands in for it. It is counted and
// intervened in there (onEntry with t.notif set): a rule answers the
// notification with the rule's error or value instead of CONTINUE. With
// RecordErrors, a failed exec is known by the task's next stop not being
// its exec event (task.execPending). Processes that take PTRACE_SYSCALL
// stops see their syscall-entry stop before the filter runs, as before.
//
// The root. The root is released at its exec when out of scope: its exit
// status then comes from the init, which reports its child's wait status
// over the socket (contain.go), and the notifier passes it on.
//
// Leftovers. Notify needs containment, so leftovers are killed with the
// init. Once the listener is closed, an execve of a process still holding
// the filter fails with ENOSYS; none is left to try: the init kills them.
//
// no_new_privs. Installing a filter needs CAP_SYS_ADMIN in the caller's
// user namespace or no_new_privs. The exec stage has the capability as
// root, and in a Sandbox's user namespace until the command's exec; where
// it has not, FollowAuto falls back to ptrace rather than setting
// no_new_privs, which would take setuid from the whole tree. An explicit
// FollowNotify sets it.

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The user-notification ABI (include/uapi/linux/seccomp.h): x/sys v0.38
// has the ioctl numbers but not the structs.
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// SECCOMP_IOCTL_NOTIF_SET_FLAGS = SECCOMP_IOW(4, __u64)
// (include/uapi/linux/seccomp.h, Linux 6.6), absent from x/sys v0.38.
const seccompIoctlNotifSetFlags = 0x40082104

// The helper's notify modes (helperConfig.Notify).
const (
	notifyTry  = "try"  // FollowAuto: install if that needs no no_new_privs, else report why
	notifyMust = "must" // FollowNotify: install, with no_new_privs if needed
)

// notifyFilter is the filter of the whole tree: SECCOMP_RET_USER_NOTIF on
// execve and execveat in every ABI (native, x32, i386), ALLOW otherwise.
func notifyFilter() []unix.SockFilter {
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	notif := bpfStmt(ret, unix.SECCOMP_RET_USER_NOTIF)
	allow := bpfStmt(ret, unix.SECCOMP_RET_ALLOW)
	return []unix.SockFilter{
		bpfStmt(ld, seccompDataArch),
		bpfJump(jeq, nativeAuditArch, 0, 7),
		bpfStmt(ld, seccompDataNr),
		bpfJump(jeq, execveNr, 4, 0),
		bpfJump(jeq, execveatNr, 3, 0),
		bpfJump(jeq, x32Bit|x32ExecveNr, 2, 0),
		bpfJump(jeq, x32Bit|x32ExecveatNr, 1, 0),
		allow,
		notif,
		bpfJump(jeq, compatAuditArch, 0, 4),
		bpfStmt(ld, seccompDataNr),
		bpfJump(jeq, compatExecveNr, 1, 0),
		bpfJump(jeq, compatExecveatNr, 0, 1),
		notif,
		allow,
	}
}

// installNotifyFilter installs notifyFilter in the calling thread and
// returns the listener. Helper side.
func installNotifyFilter(mode string) (int, error) {
	prog := notifyFilter()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	install := func() (int, error) {
		fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
			unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
		if errno != 0 {
			return -1, errno
		}
		return int(fd), nil
	}
	fd, err := install()
	if err == unix.EACCES {
		if mode != notifyMust {
			return -1, errors.New("the filter would need no_new_privs here (no CAP_SYS_ADMIN), which would take setuid from the whole tree")
		}
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return -1, fmt.Errorf("set no_new_privs: %w", err)
		}
		fd, err = install()
	}
	switch err {
	case nil:
		return fd, nil
	case unix.EBUSY:
		return -1, errors.New("a filter of an ancestor already has a listener (a container runtime using seccomp notify?): EBUSY")
	case unix.EINVAL, unix.ENOSYS:
		return -1, fmt.Errorf("this kernel has no seccomp user notification: %v", err)
	}
	return -1, fmt.Errorf("install the exec filter: %w", err)
}

// kernelAtLeast reports whether the running kernel is at least maj.min.
func kernelAtLeast(maj, min int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var a, b int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &a, &b)
	return a > maj || a == maj && b >= min
}

// planFollow decides, before the start, whether the helper is to try the
// filter; the helper's outcome decides the rest (startFollow).
func (e *engine) planFollow() error {
	e.res.Follow = FollowPtrace
	var why string
	switch e.opts.Follow {
	case FollowPtrace:
		return nil
	case FollowNotify:
		e.notifyMode = notifyMust
		// Without ptrace on the tree, only the init contains it.
		e.opts.Contain, e.opts.Leftovers = true, LeftoversKill
	case FollowAuto, "":
		e.notifyMode = notifyTry
		switch {
		case !e.contained():
			why = "the run is not contained (notify needs Options.Contain)"
		case e.opts.Whitelist == nil:
			why = "everything is in scope: every process is traced anyway"
		}
	default:
		return fmt.Errorf("tracer: unknown Follow %q", e.opts.Follow)
	}
	if why == "" && !kernelAtLeast(5, 6) {
		why = "the kernel is older than 5.6 (SECCOMP_USER_NOTIF_FLAG_CONTINUE, pidfd_getfd)"
	}
	if why != "" {
		if e.notifyMode == notifyMust {
			return fmt.Errorf("tracer: follow notify: %s", why)
		}
		e.notifyMode, e.res.FollowNote = "", why
	}
	return nil
}

// notifier receives the tree's execs (see the top of this file). Its
// fields are its own, except queue (under mu) and the waker's pid, which
// the tracer thread sets before starting it.
type notifier struct {
	e     *engine
	fd    int // the listener
	sync  int // a dup of the init's socket, -1 once it has ended
	stopR int
	stopW int
	waker int
	done  chan struct{} // closed by the worker serving the listener when it ends
	execs atomic.Uint64
	// What Result.Notify reports: counted by the workers, except slowest
	// (the tracer thread's).
	answered, handedOver, probeTimeouts atomic.Uint64
	slowest                             time.Duration
	mu                                  sync.Mutex
	queue                               []notifEvent
	warns                               []string
	traced                              map[int]bool // under mu: the tids the tracer traces (a hint)
}

// notifWorker is the goroutine serving the listener. There is one at a
// time: when a script probe outlasts its bound (a hung file system), a
// watchdog hands that exec to the tracer thread, marks the worker
// abandoned and starts another; the abandoned one, when its probe
// returns, ends without touching anything of the run's.
type notifWorker struct{ abandoned atomic.Bool }

// notifEvent is what the notifier hands the tracer thread.
type notifEvent struct {
	at       time.Time // when the notifier received it
	req      seccompNotif
	seize    bool             // the file may be in scope: seize the task
	rootExit *unix.WaitStatus // the init reports the root's end
}

// pendingNotif is a notification being answered on the tracer thread
// (task.notif): onEntry answers it instead of resuming the task.
type pendingNotif struct {
	id       uint64
	answered bool
	wantErr  bool // RecordErrors: count the exec if it fails
}

// startFollow takes the listener from the stopped helper and starts the
// notifier and the waker; without a listener the run follows with ptrace.
// Precondition: called on the tracer thread.
func (e *engine) startFollow(pid int) error {
	if e.notifyMode == "" {
		return nil
	}
	lfd, err := takeListener(pid)
	if err != nil {
		return fmt.Errorf("tracer: take the exec listener: %w", err)
	}
	if lfd < 0 {
		why := strings.TrimPrefix(e.errFile.read(), "follow: ")
		e.errFile.clear()
		if why == "" {
			why = "the helper installed no filter"
		}
		e.res.FollowNote = why
		return nil
	}
	// Linux 6.6+: the exec'ing task and the notifier hand over on one CPU,
	// which saves a cross-CPU wake-up each way (costly in VMs). Older
	// kernels refuse it (EINVAL, ENOTTY): the notifier works without.
	flags := uint64(unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	ioctlPtr(lfd, seccompIoctlNotifSetFlags, unsafe.Pointer(&flags))
	n := &notifier{e: e, fd: lfd, sync: -1, done: make(chan struct{}), traced: map[int]bool{pid: true}}
	if e.sync > 0 {
		// Close-on-exec, like every fd loupe makes: childFiles passes
		// every fd without it to the helpers it starts, so a plain dup
		// here reached the inits of concurrent runs of an analysis, and
		// once closed (and its number reused, e.g. by ForkExec's status
		// pipe) made their start fail with EBADF, or hang.
		if n.sync, err = unix.FcntlInt(uintptr(e.sync), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			unix.Close(lfd)
			return fmt.Errorf("tracer: %w", err)
		}
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		n.closeFDs()
		return fmt.Errorf("tracer: %w", err)
	}
	n.stopR, n.stopW = p[0], p[1]
	if n.waker, err = e.startWaker(); err != nil {
		n.closeFDs()
		unix.Close(n.stopR)
		unix.Close(n.stopW)
		return err
	}
	e.nt = n
	e.res.Follow = FollowNotify
	go n.run(&notifWorker{})
	return nil
}

// takeListener finds the helper's listener among its fds and copies it
// with pidfd_getfd; -1 when the helper has none.
func takeListener(pid int) (int, error) {
	ents, err := os.ReadDir(procPath(pid, "fd"))
	if err != nil {
		return -1, err
	}
	for _, d := range ents {
		l, err := os.Readlink(procPath(pid, "fd/"+d.Name()))
		if err != nil || l != "anon_inode:seccomp notify" {
			continue
		}
		var fd int
		fmt.Sscan(d.Name(), &fd)
		pfd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			return -1, err
		}
		defer unix.Close(pfd)
		return unix.PidfdGetfd(pfd, fd, 0)
	}
	return -1, nil
}

// stopFollow ends the notifier and the waker at the end of the run.
// Precondition: called on the tracer thread.
func (e *engine) stopFollow() {
	n := e.nt
	if n == nil {
		return
	}
	unix.Write(n.stopW, []byte{0})
	<-n.done
	unix.Close(n.stopW)
	unix.Close(n.stopR)
	sendSignal(n.waker, unix.SIGKILL)
	var ws unix.WaitStatus
	for {
		if _, err := unix.Wait4(n.waker, &ws, unix.WALL, nil); err != unix.EINTR {
			break
		}
	}
	e.res.Execs += int(n.execs.Load())
	e.res.Notify = NotifyStats{Answered: int(n.answered.Load()), HandedOver: int(n.handedOver.Load()),
		ProbeTimeouts: int(n.probeTimeouts.Load()), SlowestHandover: n.slowest}
	n.mu.Lock()
	e.res.Warnings = append(e.res.Warnings, n.warns...)
	n.mu.Unlock()
}

func (n *notifier) closeFDs() {
	unix.Close(n.fd)
	if n.sync >= 0 {
		unix.Close(n.sync)
	}
}

// run is the body of a worker of the notifier.
func (n *notifier) run(w *notifWorker) {
	// The worker keeps its thread: after each poll it goes on where it
	// was, instead of the scheduler moving it to another thread (and CPU)
	// between the notification and the answer. Measured on case f:
	// about 7 % less CPU, fewer context switches. The thread ends with it.
	runtime.LockOSThread()
	defer func() {
		if !w.abandoned.Load() {
			n.closeFDs()
			close(n.done)
		}
	}()
	listening := true
	for {
		pfd := []unix.PollFd{{Fd: int32(n.stopR), Events: unix.POLLIN}, {Fd: -1}, {Fd: -1}}
		if listening {
			pfd[1] = unix.PollFd{Fd: int32(n.fd), Events: unix.POLLIN}
		}
		if n.sync >= 0 {
			pfd[2] = unix.PollFd{Fd: int32(n.sync), Events: unix.POLLIN}
		}
		if _, err := unix.Poll(pfd, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if pfd[0].Revents != 0 {
			return
		}
		if pfd[2].Revents != 0 {
			n.readInit()
		}
		if pfd[1].Revents&unix.POLLIN != 0 {
			var req seccompNotif
			if err := ioctlPtr(n.fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err == nil {
				if !n.onNotif(w, &req) {
					return // abandoned
				}
			}
		} else if pfd[1].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
			listening = false // no process holds the filter any more
		}
	}
}

// readInit reads one message of the init: "exit <wait status>" of the root.
func (n *notifier) readInit() {
	var b [64]byte
	k, err := unix.Read(n.sync, b[:])
	if err == unix.EINTR || err == unix.EAGAIN {
		return
	}
	if k <= 0 {
		unix.Close(n.sync)
		n.sync = -1
		return
	}
	var ws uint32
	if _, err := fmt.Sscanf(string(b[:k]), "exit %d", &ws); err == nil {
		w := unix.WaitStatus(ws)
		n.forward(notifEvent{rootExit: &w})
	}
}

// forward hands an event to the tracer thread and wakes it.
func (n *notifier) forward(ev notifEvent) {
	n.mu.Lock()
	n.queue = append(n.queue, ev)
	n.mu.Unlock()
	unix.Tgkill(n.waker, n.waker, unix.SIGUSR1)
}

func (n *notifier) isTraced(tid int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.traced[tid]
}

// setTraced keeps the notifier's hint of the traced tids. A tid must be
// marked before the task can exec (so a traced task is never answered
// without the tracer); a stale mark costs only a trip to the tracer thread.
func (n *notifier) setTraced(tid int, on bool) {
	if n == nil {
		return
	}
	n.mu.Lock()
	if on {
		n.traced[tid] = true
	} else {
		delete(n.traced, tid)
	}
	n.mu.Unlock()
}

func (n *notifier) warn(s string) {
	n.mu.Lock()
	n.warns = append(n.warns, s)
	n.mu.Unlock()
}

// onNotif handles one exec on worker w; false when w was abandoned
// meanwhile (the exec is the tracer thread's now).
func (n *notifier) onNotif(w *notifWorker, req *seccompNotif) bool {
	at := time.Now()
	if n.isTraced(int(req.Pid)) {
		n.handedOver.Add(1)
		n.forward(notifEvent{at: at, req: *req})
		return true
	}
	n.execs.Add(1)
	v := n.decide(w, req, at)
	switch v {
	case verdictOut:
		n.answered.Add(1)
		n.answer(req.ID, 0, false)
	case verdictMaybe:
		n.handedOver.Add(1)
		n.forward(notifEvent{at: at, req: *req, seize: true})
	}
	// verdictGone: the task died meanwhile; nothing to answer.
	return v != verdictAbandoned
}

// decide is mayBeInScope on the notifier: the script probe runs inline,
// since handing it to another goroutine and back costs two wake-ups of
// the Go scheduler, often across CPUs (100 µs to 1 ms each exec on a
// 2-CPU VM, most of the notify cost of a real suite). Its bound is kept
// by a watchdog: past probeTimeout, the exec goes to the tracer thread,
// whose exec event probes (bounded) and warns, and another worker takes
// over the listener.
func (n *notifier) decide(w *notifWorker, req *seccompNotif, at time.Time) scopeVerdict {
	e := n.e
	exe, argv, v := e.execTarget(req, n.fd)
	if v != verdictProbe {
		return v
	}
	var claimed atomic.Bool
	wd := time.AfterFunc(e.probeTimeout(), func() {
		if claimed.CompareAndSwap(false, true) {
			w.abandoned.Store(true)
			n.probeTimeouts.Add(1)
			n.handedOver.Add(1)
			n.forward(notifEvent{at: at, req: *req, seize: true})
			go n.run(&notifWorker{})
		}
	})
	r := e.probeScripts(int(req.Pid), exe, argv)
	wd.Stop()
	if !claimed.CompareAndSwap(false, true) {
		return verdictAbandoned
	}
	if r.in {
		return verdictMaybe
	}
	return verdictOut
}

// answer replies to a notification: CONTINUE, or the syscall's result.
func (n *notifier) answer(id uint64, rv int64, result bool) {
	resp := seccompNotifResp{ID: id}
	switch {
	case !result:
		resp.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	case rv < 0:
		resp.Error = int32(rv)
	default:
		resp.Val = rv
	}
	// ENOENT: the task died or was interrupted meanwhile.
	ioctlPtr(n.fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
}

func (n *notifier) idValid(id uint64) bool {
	return ioctlPtr(n.fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return errno
		}
		return nil
	}
}
