package tracer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/internal/exeid"
)

// Scope at a notification: what an exec of an untraced task will run, and
// whether it may be in scope, decided on the notifier without opening
// anything but regular files (notify.go has the design).

type scopeVerdict int

const (
	verdictOut       scopeVerdict = iota // out of scope: CONTINUE
	verdictMaybe                         // may be in scope (or cannot tell): seize
	verdictGone                          // the notification is no longer valid
	verdictProbe                         // execTarget: only a script probe can tell
	verdictAbandoned                     // decide: the watchdog took the exec over
)

// mayBeInScope decides an exec of an untraced task as the exec event would
// (exec.go: scope), from what the task is about to exec, on the tracer
// thread: the script probe is bounded as at an exec event. When unsure, it
// says maybe: a seized process found out of scope at its exec event is
// detached again.
func (e *engine) mayBeInScope(req *seccompNotif, lfd int) scopeVerdict {
	exe, argv, v := e.execTarget(req, lfd)
	if v != verdictProbe {
		return v
	}
	if r, ok := e.probeBounded(int(req.Pid), exe, argv); ok && !r.in {
		return verdictOut
	}
	return verdictMaybe // in, or the exec event's own probe decides, and warns
}

// execTarget works out what an exec of an untraced task will run, and
// decides it where that needs no script probe; with verdictProbe, it
// returns the executable and the argv the probe is to look at. It touches
// only state safe for concurrent use.
func (e *engine) execTarget(req *seccompNotif, lfd int) (string, []string, scopeVerdict) {
	tid := int(req.Pid)
	d := &req.Data
	if d.Arch != nativeAuditArch || d.Nr&x32Bit != 0 {
		return "", nil, verdictMaybe // 32-bit pointers: rare enough to seize
	}
	var dirfd int = unix.AT_FDCWD
	var pathArg, argvArg, flags uint64
	switch d.Nr {
	case execveNr:
		pathArg, argvArg = d.Args[0], d.Args[1]
	case execveatNr:
		dirfd, pathArg, argvArg, flags = int(int32(d.Args[0])), d.Args[1], d.Args[2], d.Args[4]
	default:
		return "", nil, verdictMaybe
	}
	raw, err := readString(tid, pathArg, 4096)
	if err != nil {
		return "", nil, verdictMaybe
	}
	argv := readArgv(tid, argvArg, 4)
	valid := func() bool {
		return ioctlPtr(lfd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&req.ID)) == nil
	}
	file, script, err := e.execFile(tid, dirfd, raw, flags&unix.AT_EMPTY_PATH != 0)
	if !valid() {
		return "", nil, verdictGone
	}
	switch {
	case errors.Is(err, errNoExec):
		return "", nil, verdictOut // the exec fails: nothing is run
	case err != nil:
		return "", nil, verdictMaybe
	}
	exe := file
	if script != nil {
		if script.nested || script.interp == "" {
			return "", nil, verdictMaybe
		}
		exe = script.interp
		// The kernel's argv: interpreter, its optional argument, the path
		// as given, then the original arguments after argv[0].
		kargv := []string{script.arg0}
		if script.optArg != "" {
			kargv = append(kargv, script.optArg)
		}
		kargv = append(kargv, raw)
		if dirfd != unix.AT_FDCWD && !strings.HasPrefix(raw, "/") {
			kargv[len(kargv)-1] = "/dev/fd/" + itoa(dirfd) + "/" + raw
		}
		if len(argv) > 1 {
			kargv = append(kargv, argv[1:]...)
		}
		argv = kargv
	}
	wl := e.opts.Whitelist
	if wl == nil || wl.Match(NewExe(exe, e.opts.Identities)) {
		return "", nil, verdictMaybe
	}
	if len(argv) < 2 {
		return "", nil, verdictOut
	}
	return exe, argv, verdictProbe
}

// errNoExec: the exec named no regular file; it will fail and run nothing.
var errNoExec = errors.New("not an executable file")

// scriptExec is what the kernel runs for a #! script.
type scriptExec struct {
	interp string // resolved, as the whitelist sees it; "" when it cannot be resolved
	arg0   string // as written after #!
	optArg string
	nested bool // the interpreter is itself a script
}

// execFile resolves the file an exec names, as the kernel will, inside
// the task's root; it returns the path as the whitelist sees it (local)
// and, for a #! script, its interpreter. It never opens anything but
// regular files and O_PATH descriptors.
func (e *engine) execFile(tid, dirfd int, raw string, emptyPath bool) (string, *scriptExec, error) {
	rootLink, err := os.Readlink(procPath(tid, "root"))
	if err != nil {
		return "", nil, err
	}
	var full string // in loupe's view
	switch {
	case raw == "" && emptyPath:
		full = procPath(tid, "fd/"+itoa(dirfd))
	case raw == "":
		return "", nil, errNoExec
	case strings.HasPrefix(raw, "/"):
		full = filepath.Join(rootLink, raw)
	default:
		dir := "cwd"
		if dirfd != unix.AT_FDCWD {
			dir = "fd/" + itoa(dirfd)
		}
		d, err := os.Readlink(procPath(tid, dir))
		if err != nil {
			return "", nil, err
		}
		full = filepath.Join(d, raw)
	}
	rootfd, err := unix.Open(procPath(tid, "root"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	defer unix.Close(rootfd)
	resolved, err := resolveIn(rootfd, rootLink, full)
	if err != nil {
		return "", nil, err
	}
	sc, err := readShebang(resolved)
	if err != nil || sc == nil {
		return e.local(resolved), nil, err
	}
	if strings.HasPrefix(sc.arg0, "/") {
		if ip, err := resolveIn(rootfd, rootLink, filepath.Join(rootLink, sc.arg0)); err == nil {
			sc.interp = e.local(ip)
			if inner, _ := readShebang(ip); inner != nil {
				sc.nested = true
			}
		}
	}
	return e.local(resolved), sc, nil
}

// resolveIn resolves full (a path in loupe's view under rootLink, the
// task's root) with symlinks taken inside that root, and returns the
// resolved path in loupe's view. errNoExec: it is not a regular file.
func resolveIn(rootfd int, rootLink, full string) (string, error) {
	var fd int
	var err error
	if strings.HasPrefix(full, "/proc/") {
		// An fd of the task (AT_EMPTY_PATH): the magic link is the file.
		fd, err = unix.Open(full, unix.O_PATH|unix.O_CLOEXEC, 0)
	} else {
		rel := strings.TrimPrefix(full, rootLink)
		if rootLink == "/" {
			rel = full
		}
		fd, err = unix.Openat2(rootfd, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	}
	if err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP {
		return "", errNoExec
	}
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", errNoExec
	}
	p, err := os.Readlink("/proc/self/fd/" + itoa(fd))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(p, " (deleted)"), nil
}

// readShebang parses a #! line as the kernel does (the interpreter, and
// the rest of the line as one argument); nil for anything else. Only
// regular files are opened (exeid.OpenRegular).
func readShebang(path string) (*scriptExec, error) {
	f, _, err := exeid.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b [256]byte
	k, _ := f.ReadAt(b[:], 0)
	line := string(b[:k])
	if !strings.HasPrefix(line, "#!") {
		return nil, nil
	}
	line, _, _ = strings.Cut(line[2:], "\n")
	line = strings.TrimLeft(line, " \t")
	arg0, rest, _ := strings.Cut(strings.TrimRight(line, " \t"), " ")
	if a, r, ok := strings.Cut(arg0, "\t"); ok {
		arg0, rest = a, r
	}
	return &scriptExec{arg0: arg0, optArg: strings.TrimSpace(rest)}, nil
}

// readArgv reads up to max arguments of an argv array in tid's memory.
func readArgv(tid int, addr uint64, max int) []string {
	var out []string
	for i := 0; i < max && addr != 0; i++ {
		p, err := readUint64(tid, addr+uint64(8*i))
		if err != nil || p == 0 {
			break
		}
		s, err := readString(tid, p, 4096)
		if err != nil {
			break
		}
		out = append(out, s)
	}
	return out
}
