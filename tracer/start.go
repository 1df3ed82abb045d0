package tracer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// startHelper starts the command's process (the exec stage, helper.go),
// directly or under an init (contain.go), and seizes it once it has
// stopped itself. It returns its pid.
// Precondition: called on the tracer thread.
func (e *engine) startHelper() (int, error) {
	// The helpers report setup errors through this file. Under a sandbox
	// /tmp is overlaid, so the file lives in the scratch directory, which
	// the helpers see unchanged.
	errDir := ""
	if sb := e.opts.Sandbox; sb != nil && sb.Scratch != "" {
		errDir = sb.Scratch
		if err := os.MkdirAll(errDir, 0o700); err != nil {
			return 0, &StartError{Path: e.cmd.Path, Err: fmt.Errorf("%w: %v", ErrSandboxUnavailable, err)}
		}
	}
	ef, err := newSetupErrFile(errDir)
	if err != nil {
		return 0, fmt.Errorf("tracer: %w", err)
	}
	e.errFile = ef

	cfg := helperConfig{Path: e.cmd.Path, Dir: e.cmd.Dir, ErrFile: string(e.errFile), Notify: e.notifyMode}
	stdio := [3]uintptr{0, 1, 2}
	for i, f := range []*os.File{e.cmd.Stdin, e.cmd.Stdout, e.cmd.Stderr} {
		if f != nil {
			stdio[i] = f.Fd()
		}
	}
	self, err := os.Executable()
	if err != nil {
		e.errFile.remove()
		return 0, fmt.Errorf("tracer: find own executable: %w", err)
	}
	argv := append([]string{self}, e.cmd.Args...)
	var pid int
	if e.contained() {
		pid, err = e.startInit(cfg, stdio, argv)
	} else {
		pid, err = e.startDirect(cfg, stdio, argv)
	}
	if err != nil {
		e.errFile.remove()
		return 0, err
	}
	if err := e.startFollow(pid); err != nil {
		sendSignal(pid, unix.SIGKILL)
		e.releaseInit()
		e.reapInit()
		e.errFile.remove()
		return 0, err
	}
	return pid, nil
}

// contained reports whether the run needs an init: a Sandbox, or Contain.
func (e *engine) contained() bool { return e.opts.Contain || e.opts.Sandbox != nil }

// startDirect forks the exec stage as the tracer's own child.
func (e *engine) startDirect(cfg helperConfig, stdio [3]uintptr, argv []string) (int, error) {
	files, _ := childFiles(stdio)
	pid, err := syscall.ForkExec("/proc/self/exe", argv, &syscall.ProcAttr{
		Env:   helperEnvFor(e.cmd.Env, &cfg),
		Files: files,
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: e.opts.NewProcessGroup},
	})
	if err != nil {
		return 0, fmt.Errorf("tracer: start helper: %w", err)
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, unix.WUNTRACED|unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("tracer: wait for helper: %w", err)
		}
		break
	}
	if !ws.Stopped() {
		return 0, e.helperError(fmt.Sprintf("helper ended before exec (%v)", waitExit(ws)))
	}
	if err := e.seize(pid); err != nil {
		sendSignal(pid, unix.SIGKILL)
		unix.Wait4(pid, &ws, unix.WALL, nil)
		return 0, err
	}
	return pid, nil
}

func (e *engine) seize(pid int) error {
	err := ptSeize(pid, baseOpts)
	if err == unix.EPERM {
		return fmt.Errorf("%w: PTRACE_SEIZE: %v (check kernel.yama.ptrace_scope, or a container seccomp profile blocking ptrace; run with CAP_SYS_PTRACE or --privileged)", ErrPtraceDenied, err)
	}
	if err != nil {
		return fmt.Errorf("tracer: PTRACE_SEIZE: %w", err)
	}
	return nil
}

// helperError turns what a helper wrote to the error file (or fallback,
// when it wrote nothing) into a StartError; sandbox failures wrap
// ErrSandboxUnavailable, with what would make the sandbox available.
func (e *engine) helperError(fallback string) error {
	s := e.errFile.read()
	if s == "" {
		s = fallback
	}
	err := errors.New(s)
	switch {
	case strings.HasPrefix(s, "sandbox:"):
		err = fmt.Errorf("%w: %s%s", ErrSandboxUnavailable, s, sandboxHint())
	case strings.HasPrefix(s, "contain:"):
		err = &containError{s}
	}
	return &StartError{Path: e.cmd.Path, Err: err}
}

// containError: the PID namespace could not be set up; the run is retried
// with a subreaper.
type containError struct{ msg string }

func (e *containError) Error() string { return e.msg }

// sandboxHint says what would make namespaces available, from what can be
// seen from here.
func sandboxHint() string {
	uid := os.Geteuid()
	switch {
	case uid != 0 && !rootIsMountPoint():
		return fmt.Sprintf(" (loupe runs as uid %d inside a chroot: the kernel refuses user namespaces to a process whose root directory is not its mount namespace's root, "+
			"and only root may set up mounts without one; run loupe as root there, root inside the build's user namespace will do, or outside the chroot)", uid)
	case uid != 0:
		return " (user namespaces are unavailable to this user: check /proc/sys/user/max_user_namespaces, kernel.apparmor_restrict_unprivileged_userns, " +
			"or the seccomp profile of the container; or run loupe as root)"
	}
	return " (namespaces cannot be created or mounts made here: check /proc/sys/user/max_mnt_namespaces and the container's seccomp profile)"
}

// startInit forks the init, which forks the exec stage, and seizes the
// latter. It tries a PID namespace first where one can be had, and falls
// back to a subreaper (contain.go).
func (e *engine) startInit(cfg helperConfig, stdio [3]uintptr, argv []string) (int, error) {
	var hs *helperSandbox
	if sb := e.opts.Sandbox; sb != nil {
		var err error
		if hs, err = prepareSandbox(sb); err != nil {
			return 0, &StartError{Path: e.cmd.Path, Err: fmt.Errorf("%w: %v", ErrSandboxUnavailable, err)}
		}
	}
	// Unprivileged, a PID namespace needs a user namespace, which only a
	// sandbox run has anyway.
	tries := []bool{true, false}
	if (os.Geteuid() != 0 && hs == nil) || e.opts.hooks.noPIDNS {
		tries = []bool{false}
	}
	var err error
	for _, pidns := range tries {
		var pid int
		pid, err = e.tryInit(cfg, hs, pidns, stdio, argv)
		var ce *containError
		if err == nil {
			e.res.Containment = ContainSubreaper
			if pidns {
				e.res.Containment = ContainPIDNamespace
			}
			return pid, nil
		}
		if !errors.As(err, &ce) {
			return 0, err
		}
		e.errFile.clear()
	}
	return 0, err
}

// tryInit makes one attempt of startInit.
func (e *engine) tryInit(cfg helperConfig, hs *helperSandbox, pidns bool, stdio [3]uintptr, argv []string) (int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("tracer: %w", err)
	}
	mine, theirs := fds[0], fds[1]
	if err := unix.SetsockoptInt(mine, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(mine)
		unix.Close(theirs)
		return 0, fmt.Errorf("tracer: %w", err)
	}
	files, at := childFiles(stdio, theirs)
	ic := &initConfig{PIDNS: pidns, MountNS: pidns || hs != nil, Sandbox: hs, NewPgrp: e.opts.NewProcessGroup,
		SyncFD: at[0], Exec: cfg, ReportExit: cfg.Notify != ""}
	ic.Lock = hs != nil && os.Geteuid() == 0
	ic.Exec.DropCaps = hs != nil && hs.UserNS
	icfg := cfg
	icfg.Role, icfg.Init = roleInit, ic
	attr := &syscall.SysProcAttr{}
	if pidns {
		// With the tracer thread dies the init, and with it the namespace.
		attr.Cloneflags |= syscall.CLONE_NEWPID | syscall.CLONE_NEWNS
		attr.Pdeathsig = syscall.SIGKILL
	}
	if hs != nil {
		attr.Cloneflags |= syscall.CLONE_NEWNS
		if hs.PrivateNet {
			attr.Cloneflags |= syscall.CLONE_NEWNET
		}
		if hs.UserNS {
			userNSAttr(attr)
		}
	}
	pid, err := syscall.ForkExec("/proc/self/exe", argv, &syscall.ProcAttr{Env: helperEnvFor(e.cmd.Env, &icfg), Files: files, Sys: attr})
	unix.Close(theirs)
	if err != nil {
		unix.Close(mine)
		nsErr := errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EUSERS)
		switch {
		case nsErr && hs != nil && !pidns:
			return 0, &StartError{Path: e.cmd.Path, Err: fmt.Errorf("%w: create namespaces: %v%s", ErrSandboxUnavailable, err, sandboxHint())}
		case nsErr && pidns:
			return 0, &StartError{Path: e.cmd.Path, Err: &containError{fmt.Sprintf("contain: create a PID namespace: %v", err)}}
		}
		return 0, fmt.Errorf("tracer: start helper: %w", err)
	}
	wpid, rerr := recvReady(mine)
	if rerr != nil || wpid <= 0 {
		unix.Close(mine)
		var ws unix.WaitStatus
		sendSignal(pid, unix.SIGKILL)
		for {
			if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != unix.EINTR {
				break
			}
		}
		fallback := "the init ended before the command started"
		if rerr != nil {
			fallback += ": " + rerr.Error()
		}
		return 0, e.helperError(fallback)
	}
	e.initPid, e.sync = pid, mine
	if err := e.seize(wpid); err != nil {
		sendSignal(wpid, unix.SIGKILL)
		e.releaseInit()
		e.reapInit()
		return 0, err
	}
	// In its own mount namespace, the command's root is not loupe's: in a
	// chroot, /proc shows its paths with the chroot's own path before them.
	if root, err := os.Readlink(procPath(wpid, "root")); err == nil && root != "/" {
		e.rootPrefix = root
	}
	return wpid, nil
}

// releaseInit tells the init that the run is over: it ends whatever is left
// of the tree and exits. Safe to call from any goroutine, more than once.
func (e *engine) releaseInit() {
	e.syncOnce.Do(func() {
		if e.sync > 0 {
			// shutdown, not only close: the notifier holds a dup of it.
			unix.Shutdown(e.sync, unix.SHUT_RDWR)
			unix.Close(e.sync)
		}
	})
}

// reapInit waits until the init has exited, reaping tracees meanwhile: the
// init waits for them, and they are released to it only once the tracer
// has seen their deaths.
// Precondition: called on the tracer thread.
func (e *engine) reapInit() {
	if e.initPid == 0 || e.initDone {
		return
	}
	var ws unix.WaitStatus
	for !e.initDone {
		pid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD, nil)
		switch {
		case err == unix.EINTR:
		case err != nil:
			return
		case pid == e.initPid && (ws.Exited() || ws.Signaled()):
			e.initDone = true
		case ws.Stopped():
			// A tracee still reporting: let it run to its death.
			ptCont(pid, 0)
		}
	}
}

// LookPath resolves a command as execvp would, with the PATH of env (a
// default PATH when env has none) and relative entries taken from dir: how
// Run finds Command.Path. A name with a slash is checked, not searched. The
// error is exec.ErrNotFound when no PATH entry has it. Commands that run a
// workload without tracing it use it too, so that both find the same
// program.
func LookPath(file string, env []string, dir string) (string, error) {
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
