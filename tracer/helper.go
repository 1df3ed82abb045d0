package tracer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The helpers are loupe's own binary re-executed in a special mode: Go
// cannot run code between fork and exec, and PTRACE_SEIZE (needed for
// correct job-control stops) must attach to a process that is not yet
// running the command. There are two roles.
//
// The exec stage (roleExec) becomes the command:
//
//  1. under an init (below), it chroots back into the chroot the init left
//     to create its user namespace, and clears the capabilities the init
//     needed; then it changes to the command's directory;
//  2. it stops itself with SIGSTOP, so that the tracer can PTRACE_SEIZE it;
//  3. once resumed, it clears the parent-death signal (the tracer's
//     PTRACE_O_EXITKILL covers that from now on) and execs the command.
//
// The init (roleInit, contain.go) contains a run: it is the parent of the
// exec stage and sets up the namespaces it needs; see contain.go.
//
// A run without Sandbox or Contain forks the exec stage directly, exactly
// as the command would be forked. Otherwise the tracer forks the init,
// which forks the exec stage.
//
// The configuration travels in helperEnv, which is removed before the
// exec, so the command sees its environment unchanged. Setup errors go to
// helperConfig.ErrFile, prefixed with their kind ("sandbox:", "contain:",
// "start:", "exec ...:"), and the helper exits with helperExitSetup.

const helperEnv = "LOUPE_TRACER_HELPER"

// helperExitSetup is the helper's exit status when it could not set up or
// exec; the reason is written to helperConfig.ErrFile.
const helperExitSetup = 127

const (
	roleExec  = "exec"
	roleInit  = "init"
	roleWaker = "waker" // notify.go: stops when the notifier signals it
)

type helperConfig struct {
	Role    string `json:"role,omitempty"` // roleExec by default
	Path    string `json:"path"`
	Dir     string `json:"dir,omitempty"`
	ErrFile string `json:"err_file"`

	// Exec stage under an init.
	RootPath string `json:"root_path,omitempty"` // the chroot to return to, seen from the namespace's root
	DropCaps bool   `json:"drop_caps,omitempty"` // clear the ambient capabilities first
	// Notify: install the exec filter of notify mode (notifyTry,
	// notifyMust) before stopping; see notify.go.
	Notify string `json:"notify,omitempty"`

	// Init.
	Init *initConfig `json:"init,omitempty"`
}

type helperSandbox struct {
	Overlays   []overlay `json:"overlays"`
	UserNS     bool      `json:"userns"`
	PrivateNet bool      `json:"private_net"`
}

type overlay struct {
	Dir, Upper, Work string
}

// helperEnvFor returns env plus cfg, encoded for the helper.
func helperEnvFor(env []string, cfg *helperConfig) []string {
	raw, _ := json.Marshal(cfg)
	return append(withoutHelperEnv(env), helperEnv+"="+base64.StdEncoding.EncodeToString(raw))
}

// decodeHelperConfig reads back what helperEnvFor encoded.
func decodeHelperConfig(v string) (*helperConfig, error) {
	var cfg helperConfig
	raw, err := base64.StdEncoding.DecodeString(v)
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	return &cfg, err
}

// withoutHelperEnv returns env without the helper's configuration: the
// command sees its environment unchanged.
func withoutHelperEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		if !strings.HasPrefix(e, helperEnv+"=") {
			out = append(out, e)
		}
	}
	return out
}

// setupErrFile is the file through which the helpers report a setup error
// to the tracer: the helper writes "kind: message" (fail) and exits with
// helperExitSetup; the tracer reads it back (read) when the helper ended
// before the command's exec. Empty, a helper writes to its stderr instead.
type setupErrFile string

// newSetupErrFile creates an empty one in dir ("": the default temporary
// directory).
func newSetupErrFile(dir string) (setupErrFile, error) {
	f, err := os.CreateTemp(dir, "loupe-helper-err-*")
	if err != nil {
		return "", err
	}
	f.Close()
	return setupErrFile(f.Name()), nil
}

// fail reports a setup error and exits. Helper side; it never returns.
func (f setupErrFile) fail(kind string, err error) {
	msg := kind + ": " + err.Error()
	if f != "" {
		os.WriteFile(string(f), []byte(msg), 0o600)
	} else {
		fmt.Fprintln(os.Stderr, "loupe:", msg)
	}
	os.Exit(helperExitSetup)
}

// note reports why the helper did without something, and goes on.
func (f setupErrFile) note(kind string, err error) {
	if f != "" {
		os.WriteFile(string(f), []byte(kind+": "+err.Error()), 0o600)
	}
}

// read returns what a helper reported, or "".
func (f setupErrFile) read() string {
	if f == "" {
		return ""
	}
	msg, _ := os.ReadFile(string(f))
	return strings.TrimSpace(string(msg))
}

// clear empties the file for another attempt.
func (f setupErrFile) clear() {
	if f != "" {
		os.WriteFile(string(f), nil, 0o600)
	}
}

func (f setupErrFile) remove() {
	if f != "" {
		os.Remove(string(f))
	}
}

func init() {
	if v, ok := os.LookupEnv(helperEnv); ok {
		runHelper(v)
	}
}

// runHelper never returns.
func runHelper(v string) {
	// init runs on the main thread with the main goroutine locked to it, so
	// the exec below happens on the thread whose tid is the pid that the
	// tracer seized.
	runtime.LockOSThread()
	cfg, err := decodeHelperConfig(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loupe: bad %s: %v\n", helperEnv, err)
		os.Exit(helperExitSetup)
	}
	fail := setupErrFile(cfg.ErrFile).fail
	if cfg.Role == roleInit {
		runInit(cfg)
	}
	if cfg.Role == roleWaker {
		for {
			unix.Pause()
		}
	}
	if cfg.RootPath != "" {
		// The init left its chroot to create our user namespace (a chrooted
		// process may not); go back into it.
		if err := enterRootPath(cfg.RootPath); err != nil {
			fail("sandbox", fmt.Errorf("return into the chroot: %w", err))
		}
	}
	if cfg.DropCaps {
		// The command runs without the capabilities the init needed.
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
			fail("sandbox", fmt.Errorf("drop capabilities: %w", err))
		}
	}
	if cfg.Dir != "" {
		if err := os.Chdir(cfg.Dir); err != nil {
			fail("start", err)
		}
	}
	env := withoutHelperEnv(os.Environ())
	argv := os.Args[1:]
	lfd := -1
	if cfg.Notify != "" {
		// Last, so that the capabilities it may need are still there; the
		// tracer takes the listener while we are stopped.
		if lfd, err = installNotifyFilter(cfg.Notify); err != nil {
			if cfg.Notify == notifyMust {
				fail("follow", err)
			}
			setupErrFile(cfg.ErrFile).note("follow", err)
		}
	}
	if err := unix.Kill(unix.Getpid(), unix.SIGSTOP); err != nil {
		fail("start", err)
	}
	if lfd >= 0 {
		unix.Close(lfd)
	}
	unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0)
	err = unix.Exec(cfg.Path, argv, env)
	fail("exec "+cfg.Path, err)
}

func escapeOverlay(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`)
	return r.Replace(p)
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// ErrSandboxUnavailable means the namespaces a Sandbox needs cannot be
// created here (no user namespaces, a chroot, a seccomp profile forbidding
// mount...). The error says why, and what would make them available.
// Callers fall back to other isolation.
var ErrSandboxUnavailable = errors.New("sandbox unavailable")

// forkHelper starts loupe's binary as a helper with cfg and no fds, as a
// child of the calling thread that dies with it.
func forkHelper(self string, cfg *helperConfig) (int, error) {
	return syscall.ForkExec("/proc/self/exe", []string{self}, &syscall.ProcAttr{
		Env: helperEnvFor(os.Environ(), cfg),
		Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
}

// childFiles lays out the fds of a helper for syscall.ForkExec: stdio at
// 0-2, the fds this process inherited without close-on-exec (a make
// jobserver, say) at their own numbers, so they reach the command
// unchanged, and extra at the first numbers above those, which are
// returned. Every other fd is close-on-exec here (Go opens everything so),
// so closing it in the child changes nothing.
func childFiles(stdio [3]uintptr, extra ...int) ([]uintptr, []int) {
	keep := map[int]bool{}
	top := 3
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, e := range ents {
			fd, err := strconv.Atoi(e.Name())
			if err != nil || fd < 3 {
				continue
			}
			if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && fl&unix.FD_CLOEXEC == 0 {
				keep[fd] = true
				top = max(top, fd+1)
			}
		}
	}
	files := append([]uintptr{}, stdio[:]...)
	for fd := 3; fd < top; fd++ {
		if keep[fd] {
			files = append(files, uintptr(fd))
		} else {
			files = append(files, ^uintptr(0)) // -1: closed in the child
		}
	}
	at := make([]int, len(extra))
	for i, fd := range extra {
		at[i] = len(files)
		files = append(files, uintptr(fd))
	}
	return files, at
}

// userNSAttr arranges that the child gets a new user namespace in which it
// runs with the caller's uid and gid, keeping the capabilities it needs
// until the command's exec (see helperConfig.DropCaps).
func userNSAttr(a *syscall.SysProcAttr) {
	a.Cloneflags |= syscall.CLONE_NEWUSER
	uid, gid := os.Getuid(), os.Getgid()
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	a.GidMappingsEnableSetgroups = false
	// The helper is exec'd as the same non-root uid, which would drop the
	// capabilities the new namespace grants; it keeps the ones it needs as
	// ambient capabilities and the exec stage clears them before the
	// command: SYS_ADMIN to mount, DAC_OVERRIDE because overlayfs works in
	// its work dir (mode 0) with the mounter's credentials, NET_ADMIN to
	// bring up lo.
	a.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_DAC_OVERRIDE, unix.CAP_NET_ADMIN}
}
