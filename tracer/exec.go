package tracer

// Exec and scope: at every PTRACE_EVENT_EXEC the image is checked against
// the whitelist (the executable, or a script among the first arguments of
// an interpreter); an in-scope image gets a record (result.go), the exit
// event, and the seccomp filter's injection (seccomp.go); anything else
// runs on with PTRACE_CONT and no syscall stop.

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/internal/exeid"
)

func (e *engine) onExec(t *task) {
	former, _ := ptEventMsg(t.tid)
	p := t.proc
	if int(former) != t.tid {
		// A non-leader thread exec'd and took over the leader's pid.
		delete(e.tasks, int(former))
	}
	t.inj, t.wantExit, t.expectInit = nil, false, false
	e.res.Execs++
	if p.inScope && !p.preExec {
		e.endImage(p, ExitStatus{}, true)
	}
	p.preExec = false
	exe, err := procExe(p.tgid)
	if err != nil {
		exe = "?"
	}
	exe = e.local(exe)
	p.exe = exe
	p.inScope, p.bin, p.rec, p.fds, p.cwd = false, nil, nil, nil, ""
	t.exit = exitAction{}
	var argv []string
	ident, in := e.scope(p.tgid, exe, &argv)
	if !in && e.releaseOutOfScope(t) {
		return
	}
	opts := baseOpts
	if in {
		p.inScope = true
		if argv == nil {
			argv = procCmdline(p.tgid)
		}
		p.bin = e.binFor(p.tgid, ident)
		p.rec = p.bin.newProcess(Process{PID: p.tgid, PPID: p.ppid, Exe: ident.Path, Argv: argv})
		if n := procFDCount(p.tgid); n > p.rec.MaxFDs {
			p.rec.MaxFDs = n
		}
		if e.needPaths {
			e.seedFDs(t)
		}
		opts |= unix.PTRACE_O_TRACEEXIT
		// A script's interpreter mostly runs other programs; while every
		// syscall is recorded, a filter inherited by those children would
		// stop all of their syscalls too, so scripts take ptrace stops of
		// their own instead. Experiment runs filter only the targeted
		// syscalls, which stays cheap for children.
		recordingAll := e.opts.Record&RecordSyscalls != 0
		if e.useSeccomp && !p.filtered && !(ident.Interpreter != "" && recordingAll) {
			t.inj = &injection{}
		} else if e.seenPlan != nil && p.filtered {
			// Counts seen: the inherited filter was made for another
			// executable and may let through what this one was never seen
			// to use; this image's filter is stacked on it (seen.go).
			t.inj = &injection{}
		}
	}
	if opts != p.opts {
		if ptSetOptions(t.tid, opts) == nil {
			p.opts = opts
		}
	}
	e.resume(t, 0)
}

// scope decides whether the image just exec'd is in scope. Deciding on the
// executable itself touches only a file the kernel has just exec'd. A script
// run by an interpreter is found among the first arguments, which name
// anything in the workload's world: that probe runs off the tracer loop,
// bounded by probeTimeout, so a FIFO, a terminal or a hung NFS server can
// never stop the suite.
func (e *engine) scope(pid int, exe string, argv *[]string) (Identity, bool) {
	wl := e.opts.Whitelist
	x := NewExe(exe, e.opts.Identities)
	if wl == nil || wl.Match(x) {
		return Identity{Path: exe}, true
	}
	*argv = procCmdline(pid)
	if len(*argv) < 2 {
		return Identity{}, false
	}
	args := *argv
	r, ok := e.probeBounded(pid, exe, args)
	if !ok {
		e.res.Warnings = append(e.res.Warnings, fmt.Sprintf(
			"pid %d (%s): looking for a whitelisted script among %q took over %s; treated as out of scope",
			pid, exe, args[1:min(len(args), 4)], e.probeTimeout()))
		return Identity{}, false
	}
	return r.id, r.in
}

// probeTimeout bounds the script probe of one exec.
const probeTimeout = 5 * time.Second

func (e *engine) probeTimeout() time.Duration {
	if e.opts.hooks.probeTimeout > 0 {
		return e.opts.hooks.probeTimeout
	}
	return probeTimeout
}

// probeBounded runs probeScripts on a goroutine of its own and waits for it
// at most probeTimeout; false when it took longer (it is left to finish
// alone, and touches nothing of the run's).
func (e *engine) probeBounded(pid int, exe string, args []string) (scriptProbe, bool) {
	done := make(chan scriptProbe, 1)
	go func() { done <- e.probeScripts(pid, exe, args) }()
	t := time.NewTimer(e.probeTimeout())
	defer t.Stop()
	select {
	case r := <-done:
		return r, true
	case <-t.C:
		return scriptProbe{}, false
	}
}

type scriptProbe struct {
	id Identity
	in bool
}

// probeScripts looks for a whitelisted script among the first three
// arguments: the kernel (for #!) or the user put the script's path there.
// It may block on the file system, so it never runs on the tracer thread,
// and it touches only state that is safe for concurrent use.
func (e *engine) probeScripts(pid int, exe string, args []string) scriptProbe {
	if e.opts.hooks.probeDelay > 0 {
		time.Sleep(e.opts.hooks.probeDelay)
	}
	var cwd string
	for i := 1; i < len(args) && i <= 3; i++ {
		a := tracePath(pid, args[i])
		if a == "" || strings.HasPrefix(a, "-") {
			continue
		}
		if !filepath.IsAbs(a) {
			if cwd == "" {
				if cwd, _ = e.procCwd(pid); cwd == "" {
					return scriptProbe{}
				}
			}
			a = filepath.Join(cwd, a)
		}
		r, err := filepath.EvalSymlinks(a)
		if err != nil {
			continue
		}
		// ls, cat or grep given a script as argument do not run it: only
		// the interpreter its #! line names (or one of its family) does.
		if interp, ok := shebang(r); !ok || !interprets(exe, interp) {
			continue
		}
		if e.opts.Whitelist.Match(NewExe(r, e.opts.Identities)) {
			return scriptProbe{Identity{Path: r, Interpreter: exe}, true}
		}
	}
	return scriptProbe{}
}

// tracePath rewrites the paths that name the caller's own process
// (/proc/self/..., /dev/fd/N, /dev/std*) to the tracee's, so that the tracer
// never resolves them against its own file descriptors.
func tracePath(pid int, p string) string {
	for _, pre := range []string{"/proc/self/", "/proc/thread-self/"} {
		if rest, ok := strings.CutPrefix(p, pre); ok {
			return procPath(pid, rest)
		}
	}
	if rest, ok := strings.CutPrefix(p, "/dev/fd/"); ok {
		return procPath(pid, "fd/"+rest)
	}
	switch p {
	case "/dev/stdin":
		return procPath(pid, "fd/0")
	case "/dev/stdout":
		return procPath(pid, "fd/1")
	case "/dev/stderr":
		return procPath(pid, "fd/2")
	}
	return p
}

// shebang returns the interpreter that the #! line of path names (for
// "#!/usr/bin/env prog", prog), or false when path is not a regular file
// starting with "#!". It never opens anything but a regular file (see
// exeid.OpenRegular).
func shebang(path string) (string, bool) {
	f, _, err := exeid.OpenRegular(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	var b [256]byte
	n, _ := f.ReadAt(b[:], 0)
	line := string(b[:n])
	if !strings.HasPrefix(line, "#!") {
		return "", false
	}
	line, _, _ = strings.Cut(line[2:], "\n")
	words := strings.Fields(line)
	if len(words) == 0 {
		return "", true
	}
	interp := words[0]
	if filepath.Base(interp) == "env" {
		interp = ""
		for _, w := range words[1:] {
			if !strings.HasPrefix(w, "-") && !strings.Contains(w, "=") {
				interp = w
				break
			}
		}
	}
	return interp, true
}

// interprets reports whether the program exe can be running a script whose
// #! line names interp: the same program, or one of the same family
// (python3.11 for python3; bash for a /bin/sh script), since `bash -x
// script` and `python3 script` are common ways of running scripts.
func interprets(exe, interp string) bool {
	if interp == "" {
		return interpreterFamily(filepath.Base(exe)) != ""
	}
	if filepath.IsAbs(interp) {
		if r, err := filepath.EvalSymlinks(interp); err == nil && r == exe {
			return true
		}
	}
	f := interpreterFamily(filepath.Base(exe))
	return f != "" && f == interpreterFamily(filepath.Base(interp))
}

// interpreterFamily names the family of an interpreter's file name, with
// version suffixes stripped ("python3.11" -> "python"); the POSIX shells
// are one family. It returns "" for programs that are not interpreters.
func interpreterFamily(name string) string {
	name = strings.TrimRight(name, "0123456789.")
	switch name {
	case "sh", "bash", "dash", "ksh", "mksh", "pdksh", "zsh", "posh", "yash", "busybox":
		return "sh"
	case "python", "perl", "ruby", "tclsh", "wish", "expect", "node", "nodejs", "lua", "php", "awk", "gawk",
		"mawk", "make", "guile", "Rscript", "fish", "csh", "tcsh", "osh", "pwsh", "runghc", "escript":
		return name
	}
	return ""
}
