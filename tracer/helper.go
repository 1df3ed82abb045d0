package tracer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The helper is loupe's own binary re-executed in a special mode. Go cannot
// run code between fork and exec, and PTRACE_SEIZE (needed for correct
// job-control stops) must attach to a process that is not yet running the
// command, so the helper:
//
//  1. sets up the sandbox, if any (mounts inside the namespaces the fork
//     created), and changes to the command's directory;
//  2. stops itself with SIGSTOP, so that the tracer can PTRACE_SEIZE it;
//  3. once resumed, clears the parent-death signal (the tracer's
//     PTRACE_O_EXITKILL covers that from now on) and execs the command.
//
// Its environment carries the configuration in helperEnv, which is removed
// before the exec, so the command sees its environment unchanged.

const helperEnv = "LOUPE_TRACER_HELPER"

// helperExitSetup is the helper's exit status when it could not set up or
// exec; the reason is written to helperConfig.ErrFile.
const helperExitSetup = 127

type helperConfig struct {
	Path    string         `json:"path"`
	Dir     string         `json:"dir,omitempty"`
	ErrFile string         `json:"err_file"`
	Sandbox *helperSandbox `json:"sandbox,omitempty"`
}

type helperSandbox struct {
	Overlays   []overlay `json:"overlays"`
	UserNS     bool      `json:"userns"`
	PrivateNet bool      `json:"private_net"`
}

type overlay struct {
	Dir, Upper, Work string
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
	var cfg helperConfig
	raw, err := base64.StdEncoding.DecodeString(v)
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loupe: bad %s: %v\n", helperEnv, err)
		os.Exit(helperExitSetup)
	}
	fail := func(kind string, err error) {
		msg := kind + ": " + err.Error()
		if cfg.ErrFile != "" {
			os.WriteFile(cfg.ErrFile, []byte(msg), 0o600)
		} else {
			fmt.Fprintln(os.Stderr, "loupe:", msg)
		}
		os.Exit(helperExitSetup)
	}
	if cfg.Sandbox != nil {
		if err := setupSandbox(cfg.Sandbox); err != nil {
			fail("sandbox", err)
		}
	}
	if cfg.Dir != "" {
		if err := os.Chdir(cfg.Dir); err != nil {
			fail("start", err)
		}
	}
	env := make([]string, 0, len(os.Environ()))
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, helperEnv+"=") {
			env = append(env, e)
		}
	}
	argv := os.Args[1:]
	if err := unix.Kill(unix.Getpid(), unix.SIGSTOP); err != nil {
		fail("start", err)
	}
	unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0)
	err = unix.Exec(cfg.Path, argv, env)
	fail("exec "+cfg.Path, err)
}

// setupSandbox runs in the helper, inside the new mount (and user, network)
// namespaces. Mounts must be made before the exec: exec'ing a program as a
// non-root uid drops the capabilities the user namespace gave us.
func setupSandbox(sb *helperSandbox) error {
	// Nothing we mount may propagate back to the host's namespace.
	if err := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	for _, o := range sb.Overlays {
		opts := "lowerdir=" + escapeOverlay(o.Dir) + ",upperdir=" + escapeOverlay(o.Upper) +
			",workdir=" + escapeOverlay(o.Work)
		if sb.UserNS {
			// trusted.* xattrs are out of reach in a user namespace.
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
	if sb.UserNS {
		// The command runs without the capabilities the helper needed.
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
			return fmt.Errorf("drop capabilities: %w", err)
		}
	}
	return nil
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
// created here (no user namespaces, a seccomp profile forbidding mount...).
// Callers fall back to other isolation.
var ErrSandboxUnavailable = errors.New("sandbox unavailable")

// helperAttr builds the fork attributes of the helper.
func helperAttr(cmd *Command, sb *helperSandbox, newPgrp bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: newPgrp}
	if sb != nil {
		a.Cloneflags = syscall.CLONE_NEWNS
		if sb.PrivateNet {
			a.Cloneflags |= syscall.CLONE_NEWNET
		}
		if sb.UserNS {
			a.Cloneflags |= syscall.CLONE_NEWUSER
			uid, gid := os.Getuid(), os.Getgid()
			a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
			a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
			a.GidMappingsEnableSetgroups = false
			// The helper is exec'd as the same non-root uid, which would drop
			// the capabilities the new namespace grants; it keeps the ones it
			// needs as ambient capabilities and clears them before the
			// command: SYS_ADMIN to mount, DAC_OVERRIDE because overlayfs
			// works in its work dir (mode 0) with the mounter's credentials,
			// NET_ADMIN to bring up lo.
			a.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_DAC_OVERRIDE, unix.CAP_NET_ADMIN}
		}
	}
	return a
}
