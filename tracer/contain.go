package tracer

// Containment: nothing a run creates outlives it.
//
// ptrace follows the children it is told about, and a process can create a
// child it is not told about: clone(CLONE_UNTRACED). Such a child escapes
// the tracer, the rules and the leftover handling, and can outlive loupe.
// A contained run (Options.Contain, and every Sandbox run) is kept whole by
// three layers:
//
//  (a) In every process that takes syscall stops (in-scope processes, and
//      everything that inherited loupe's seccomp filter), clone with
//      CLONE_UNTRACED and clone3 stop, and the tracer clears the flag (in
//      the register, or in clone3's struct in the tracee's memory) before
//      the call runs: the child is traced like any other, and is not
//      crippled by an inherited filter with no tracer behind it. This layer
//      applies to every run, contained or not.
//  (b) A PID namespace whose init is loupe's own helper (roleInit below):
//      the command runs as its child, orphans are reparented to it and
//      reaped, and when it dies (loupe ends the run, or dies: the init has
//      PR_SET_PDEATHSIG=SIGKILL and watches a socket whose other end loupe
//      holds) the kernel kills everything left in the namespace, traced or
//      not. The namespace gets its own /proc, so pids read there match
//      getpid(). Used wherever the namespaces can be created without
//      changing what the command sees beyond pids: as root (also in a
//      chroot, and as root in a user namespace such as sbuild's), and
//      unprivileged when the run has a user namespace anyway (Sandbox).
//  (c) Everywhere else (unprivileged without a Sandbox, or where the PID
//      namespace cannot be made, e.g. an unprivileged user in a chroot, or a
//      container that masks /proc), the init is a child subreaper
//      (PR_SET_CHILD_SUBREAPER) instead: orphans are reparented to it, not
//      to the system's init. When loupe ends the run or dies (the socket
//      reads EOF), it kills every remaining descendant (pidfds, checked
//      against their parent, so no reused pid is hit) and reaps them before
//      it exits. What escapes (c): a process that kills the init itself
//      (same uid), since nothing is left to sweep.
//
// An unprivileged run without a Sandbox does not get a user namespace just
// for (b): in one, the files of other users show as owned by nobody and the
// supplementary groups are gone, which a trace must not change.
//
// The init keeps the command's signal semantics: it stays in loupe's
// process group and catches (never ignores: an ignored disposition would
// be inherited) the signals a terminal or a workload sends to a group, so a
// Ctrl-C reaches the command once, as without loupe, and never kills the
// init. The command is its child: inside a PID namespace getppid() is 1.
//
// The init also locks the Sandbox's mounts (defect: a workload running as
// root could `umount -l` the overlay and write the real tree). It mounts
// the overlays, then, when loupe is root, starts the command in a new user
// namespace (identity-mapped over every id the init has, so root stays root
// with its capabilities over the run's own namespaces) with a new mount
// namespace: the mounts it inherits from a more privileged namespace are
// locked by the kernel and cannot be unmounted, nor bind-mounted without
// their submounts. A chrooted process may not create a user namespace, so
// in a chroot the init first returns to its mount namespace's root (root
// may: it has CAP_SYS_CHROOT), creates the command's namespace there, and
// the command chroots back before anything of it runs. Unprivileged runs
// need nothing: the command has no capability over the sandbox's mounts.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Containment names the layer that contained a run (Result.Containment).
const (
	ContainPIDNamespace = "pid-namespace"
	ContainSubreaper    = "subreaper"
)

type initConfig struct {
	// PIDNS: pid 1 of a new PID namespace (mounts its /proc); otherwise a
	// child subreaper.
	PIDNS bool `json:"pidns"`
	// MountNS: in a new mount namespace, made private first.
	MountNS bool           `json:"mountns"`
	Sandbox *helperSandbox `json:"sandbox,omitempty"`
	// Lock: start the exec stage in a new user and mount namespace, so that
	// the sandbox's mounts are locked.
	Lock    bool `json:"lock"`
	NewPgrp bool `json:"new_pgrp"`
	// SyncFD is the init's end of the socket to loupe: the init sends the
	// exec stage's pid on it once that has stopped itself, and reads EOF
	// when the run is over.
	SyncFD int `json:"sync_fd"`
	// ReportExit: the init also sends the exec stage's wait status ("exit
	// <status>") when it reaps it; notify mode, where loupe does not trace
	// the root to its end (notify.go).
	ReportExit bool         `json:"report_exit,omitempty"`
	Exec       helperConfig `json:"exec"`
}

// runInit is the init's body; it never returns.
func runInit(cfg *helperConfig) {
	ic := cfg.Init
	fail := setupErrFile(cfg.ErrFile).fail
	unix.FcntlInt(uintptr(ic.SyncFD), unix.F_SETFD, unix.FD_CLOEXEC)
	kind := "contain"
	if ic.Sandbox != nil {
		kind = "sandbox"
	}
	chrooted := false
	if ic.MountNS {
		var err error
		// Nothing we mount may propagate back to the host's namespace.
		if chrooted, err = makePrivate(); err != nil {
			fail(kind, fmt.Errorf("make mounts private: %w", err))
		}
	}
	if ic.Sandbox != nil {
		if err := mountSandbox(ic.Sandbox); err != nil {
			fail("sandbox", err)
		}
	}
	if ic.PIDNS {
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			fail("contain", fmt.Errorf("mount /proc for the PID namespace: %w", err))
		}
	} else if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fail("contain", fmt.Errorf("become a child subreaper: %w", err))
	}
	catchGroupSignals()

	ex := ic.Exec
	ex.Role = roleExec
	attr := &syscall.SysProcAttr{Setpgid: ic.NewPgrp}
	rootFD := -1
	if ic.Lock {
		if err := lockAttr(attr); err != nil {
			fail("sandbox", err)
		}
		if chrooted {
			// (The exec stage is exec'd through /proc/self/exe all the same: the
			// magic link names our own file, wherever the root is.)
			var err error
			if rootFD, err = escapeRoot(); err != nil {
				fail("sandbox", fmt.Errorf("leave the chroot to create a user namespace: %w", err))
			}
			root, err := dirFDPath(rootFD)
			if err == nil {
				// ForkExec writes the child's id maps through /proc/<pid>: it
				// must be a /proc of our PID namespace, which the one out here
				// need not be. This mount is in our private namespace, out of
				// the chroot's sight.
				err = unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
			}
			if err != nil {
				enterRoot(rootFD)
				fail("sandbox", fmt.Errorf("prepare the user namespace outside the chroot: %w", err))
			}
			ex.RootPath = root
		}
	}
	files, _ := childFiles([3]uintptr{0, 1, 2})
	pid, err := syscall.ForkExec("/proc/self/exe", os.Args, &syscall.ProcAttr{Env: helperEnvFor(os.Environ(), &ex), Files: files, Sys: attr})
	if rootFD >= 0 {
		if rerr := enterRoot(rootFD); rerr != nil {
			if err == nil {
				sendSignal(pid, unix.SIGKILL)
			}
			fail("sandbox", fmt.Errorf("return into the chroot: %w", rerr))
		}
	}
	if err != nil {
		if ic.Lock {
			fail("sandbox", fmt.Errorf("create the user namespace that locks the mounts: %w", err))
		}
		fail("start", err)
	}
	// The command may be root in its namespace: it must not read or trace
	// this process, which sees the mounts unlocked.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	// This process keeps none of the command's stdio open: a reader waiting
	// for EOF must get it when the command's tree is gone.
	if null, err := unix.Open("/dev/null", unix.O_RDWR, 0); err == nil {
		for fd := 0; fd < 3; fd++ {
			unix.Dup2(null, fd)
		}
		if null > 2 {
			unix.Close(null)
		}
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, unix.WUNTRACED|unix.WALL, nil)
		if err != unix.EINTR {
			break
		}
	}
	if !ws.Stopped() {
		os.Exit(helperExitSetup) // the exec stage wrote why
	}
	if err := sendReady(ic.SyncFD, pid, ic.PIDNS); err != nil {
		sendSignal(pid, unix.SIGKILL)
		os.Exit(helperExitSetup)
	}
	var onReap func(int, unix.WaitStatus)
	if ic.ReportExit {
		onReap = func(p int, ws unix.WaitStatus) {
			if p == pid {
				unix.Sendmsg(ic.SyncFD, []byte("exit "+strconv.FormatUint(uint64(ws), 10)), nil, nil, unix.MSG_NOSIGNAL)
			}
		}
	}
	reapUntilReleased(ic.SyncFD, ic.PIDNS, onReap)
}

// catchGroupSignals keeps the init alive through the signals sent to a
// whole process group: the command gets its own copy. Signals ignored when
// loupe started stay ignored, so that the command inherits that.
func catchGroupSignals() {
	ch := make(chan os.Signal, 16)
	for _, s := range []syscall.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1,
		unix.SIGUSR2, unix.SIGPIPE, unix.SIGALRM, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGVTALRM,
		unix.SIGPROF, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGIO, unix.SIGPWR, unix.SIGWINCH, unix.SIGURG} {
		if !signal.Ignored(s) {
			signal.Notify(ch, s)
		}
	}
	go func() {
		for range ch {
		}
	}()
}

// sendReady tells loupe which process to seize. In a PID namespace the pid
// travels as SCM_CREDENTIALS, which the kernel translates into loupe's
// namespace (the init may name its child: it has CAP_SYS_ADMIN over the
// namespace).
func sendReady(fd, pid int, pidns bool) error {
	if !pidns {
		return unix.Sendmsg(fd, []byte("same "+strconv.Itoa(pid)), nil, nil, 0)
	}
	oob := unix.UnixCredentials(&unix.Ucred{Pid: int32(pid), Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())})
	return unix.Sendmsg(fd, []byte("pidns"), oob, nil, 0)
}

// recvReady returns the exec stage's pid in loupe's namespace, or 0 when
// the init ended without sending it.
func recvReady(fd int) (int, error) {
	buf := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
		msg := string(buf[:n])
		if p, ok := strings.CutPrefix(msg, "same "); ok {
			return strconv.Atoi(p)
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) == 0 {
			return 0, fmt.Errorf("no credentials in the init's message %q", msg)
		}
		cred, err := unix.ParseUnixCredentials(&msgs[0])
		if err != nil {
			return 0, err
		}
		return int(cred.Pid), nil
	}
}

// reapUntilReleased reaps the init's children, its orphans included, until
// loupe releases it (or dies), then ends the run's tree and exits.
func reapUntilReleased(syncFD int, pidns bool, onReap func(int, unix.WaitStatus)) {
	eof := make(chan struct{})
	go func() {
		var b [64]byte
		for {
			n, err := unix.Read(syncFD, b[:])
			if err == unix.EINTR {
				continue
			}
			if n <= 0 {
				break
			}
		}
		close(eof)
	}()
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, unix.SIGCHLD)
	for {
		reapAll(onReap)
		select {
		case <-chld:
		case <-eof:
			if pidns {
				// The kernel kills whatever is left in the namespace.
				os.Exit(0)
			}
			sweep()
			os.Exit(0)
		}
	}
}

// reapAll reaps every child that has ended, telling onReap (if set); it
// reports whether no child is left at all.
func reapAll(onReap func(int, unix.WaitStatus)) bool {
	var ws unix.WaitStatus
	for {
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG|unix.WALL, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECHILD:
			return true
		case err != nil || pid <= 0:
			return false
		}
		if onReap != nil {
			onReap(pid, ws)
		}
	}
}

// sweep kills every descendant of this subreaper and reaps them. Killed
// processes' children are reparented here, so it repeats until no child is
// left. Traced children are released to us only once loupe has seen their
// deaths, which loupe's loop does while it waits for us.
func sweep() {
	self := os.Getpid()
	for {
		for _, p := range descendants(self) {
			killChild(p.pid, p.ppid)
		}
		if reapAll(nil) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type procLink struct{ pid, ppid int }

// descendants lists the live descendants of root from /proc.
func descendants(root int) []procLink {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	kids := map[int][]int{}
	buf := make([]byte, 1024)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, state, ok := procStat(pid, buf); ok && state != 'Z' && state != 'X' {
			kids[ppid] = append(kids[ppid], pid)
		}
	}
	var out []procLink
	queue := []int{root}
	seen := map[int]bool{root: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range kids[p] {
			if !seen[c] {
				seen[c] = true
				out = append(out, procLink{c, p})
				queue = append(queue, c)
			}
		}
	}
	return out
}

// procStat returns the parent and the state of pid.
func procStat(pid int, buf []byte) (ppid int, state byte, ok bool) {
	b, err := readSmall(procPath(pid, "stat"), buf)
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) S ppid ...": comm may hold anything, so parse after the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+4 >= len(b) {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}

// killChild SIGKILLs pid if it is still the child of ppid: the pidfd pins
// the process, so a pid reused after the check cannot be hit.
func killChild(pid, ppid int) {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(pfd)
	if got, _, ok := procStat(pid, make([]byte, 1024)); !ok || got != ppid {
		return
	}
	unix.PidfdSendSignal(pfd, unix.SIGKILL, nil, 0)
}

// makePrivate makes every mount of the (new) mount namespace private. In a
// chroot whose root is not a mount point, "/" cannot be changed: the
// process then steps out to the namespace's root to do it, and back. It
// reports whether the process is chrooted.
func makePrivate() (bool, error) {
	err := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	if err != unix.EINVAL {
		return false, err
	}
	fd, err := escapeRoot()
	if err != nil {
		return true, fmt.Errorf("/ is not a mount point (a chroot) and it cannot be left: %w", err)
	}
	perr := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	if err := enterRoot(fd); err != nil {
		return true, fmt.Errorf("return into the chroot: %w", err)
	}
	return true, perr
}

// escapeRoot moves the process's root to the root of its mount namespace
// and returns an fd of the former root, for enterRoot. It needs
// CAP_SYS_CHROOT; a chroot is no barrier to a process that has it.
func escapeRoot() (int, error) {
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Chdir("/"); err != nil {
		unix.Close(fd)
		return -1, err
	}
	// Chrooting into a directory below the working directory leaves that
	// outside the root, from where ".." climbs to the namespace's root.
	err = errors.New("no directory to chroot into")
	for _, d := range []string{"/proc", "/dev", "/tmp"} {
		if err = unix.Chroot(d); err == nil {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	for i := 0; ; i++ {
		var here, up unix.Stat_t
		if err := unix.Stat(".", &here); err != nil {
			return -1, errors.Join(err, enterRoot(fd))
		}
		if err := unix.Stat("..", &up); err != nil {
			return -1, errors.Join(err, enterRoot(fd))
		}
		if here.Dev == up.Dev && here.Ino == up.Ino {
			break
		}
		if i > 4096 {
			return -1, errors.Join(errors.New("the namespace's root is out of reach"), enterRoot(fd))
		}
		if err := unix.Chdir(".."); err != nil {
			return -1, errors.Join(err, enterRoot(fd))
		}
	}
	if err := unix.Chroot("."); err != nil {
		return -1, errors.Join(err, enterRoot(fd))
	}
	return fd, nil
}

// enterRoot makes the directory of fd the process's root and working
// directory, and closes fd.
func enterRoot(fd int) error {
	defer unix.Close(fd)
	if err := unix.Fchdir(fd); err != nil {
		return err
	}
	return unix.Chroot(".")
}

// dirFDPath returns the path of a directory fd as seen from the current root.
func dirFDPath(fd int) (string, error) {
	if err := unix.Fchdir(fd); err != nil {
		return "", err
	}
	defer unix.Chdir("/")
	return unix.Getwd()
}

// enterRootPath is the exec stage's way back into the chroot the init left.
func enterRootPath(path string) error {
	if err := unix.Chroot(path); err != nil {
		return err
	}
	return unix.Chdir("/")
}

// mountSandbox mounts the overlays and brings up lo, inside the init's
// namespaces.
func mountSandbox(sb *helperSandbox) error {
	// trusted.* xattrs are out of reach outside the initial user namespace
	// (loupe's own, or sbuild's).
	userxattr := sb.UserNS || !inInitialUserNS()
	for _, o := range sb.Overlays {
		opts := "lowerdir=" + escapeOverlay(o.Dir) + ",upperdir=" + escapeOverlay(o.Upper) +
			",workdir=" + escapeOverlay(o.Work)
		if userxattr {
			opts += ",userxattr"
		}
		if err := unix.Mount("overlay", o.Dir, "overlay", 0, opts); err != nil {
			return fmt.Errorf("overlay on %s: %w", o.Dir, err)
		}
	}
	if sb.PrivateNet {
		if err := loopbackUp(); err != nil {
			return fmt.Errorf("bring up lo: %w", err)
		}
	}
	return nil
}

// inInitialUserNS reports whether the process is in the initial user
// namespace, whose uid map is the identity over every id.
func inInitialUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	return err == nil && strings.Join(strings.Fields(string(b)), " ") == "0 0 4294967295"
}

// lockAttr makes the child start in a new user namespace mapping every id
// of ours to itself, and a new mount namespace owned by it, whose copies
// of our mounts the kernel locks.
func lockAttr(a *syscall.SysProcAttr) error {
	u, err := identityMap("/proc/self/uid_map")
	if err != nil {
		return err
	}
	g, err := identityMap("/proc/self/gid_map")
	if err != nil {
		return err
	}
	a.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
	a.UidMappings, a.GidMappings = u, g
	// setgroups stays as it is here: a namespace that denies it (one made
	// by `unshare -r`, say) cannot have a child that allows it.
	sg, err := os.ReadFile("/proc/self/setgroups")
	a.GidMappingsEnableSetgroups = err != nil || strings.TrimSpace(string(sg)) == "allow"
	return nil
}

func identityMap(file string) ([]syscall.SysProcIDMap, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var m []syscall.SysProcIDMap
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.Atoi(f[0])
		n, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: bad line %q", file, line)
		}
		m = append(m, syscall.SysProcIDMap{ContainerID: in, HostID: in, Size: n})
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%s is empty", file)
	}
	return m, nil
}

// rootIsMountPoint reports whether the process's root directory is a mount
// point; it is not in the chroots of sbuild, pbuilder and the like.
func rootIsMountPoint() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/" {
			return true
		}
	}
	return false
}
