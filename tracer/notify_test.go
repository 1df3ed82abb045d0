package tracer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func followNotify(_ *Command, o *Options) { o.Follow = FollowNotify }
func followPtrace(_ *Command, o *Options) { o.Follow = FollowPtrace }

func TestNotifyBasics(t *testing.T) {
	fx := fixture(t)
	script := fmt.Sprintf("ls / >/dev/null; '%s' sysinfo; /bin/true; exit 3", fx)
	res := run(t, []string{"/bin/sh", "-c", script}, whitelist(fx), followNotify)
	t.Logf("follow=%s note=%q exit=%v procs=%d execs=%d stops=%d warn=%v", res.Follow, res.FollowNote, res.Exit, res.Processes, res.Execs, res.Stops, res.Warnings)
	if res.Follow != FollowNotify {
		t.Fatalf("follow %s (%s)", res.Follow, res.FollowNote)
	}
	if res.Exit.Code != 3 {
		t.Fatalf("exit %v", res.Exit)
	}
	if calls(binOf(res, fx), "sysinfo") != 1 {
		t.Fatalf("binaries %v", names(res))
	}
}

// TestSuiteOnEveryFollowMode runs every test of the package again with
// FollowNotify: the guarantees the tests check hold on both paths. (The
// tests of uncontained semantics, detached leftovers and an untraced child
// outliving the run, choose ptrace themselves.)
func TestSuiteOnEveryFollowMode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite again: not with -short")
	}
	if suiteFollow != FollowPtrace {
		t.Skip("already the second run")
	}
	requireNotify(t)
	self, _ := os.Executable()
	args := []string{"-test.count=1", "-test.skip=TestSuiteOnEveryFollowMode"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), "LOUPE_TRACER_TEST_FOLLOW="+string(FollowNotify))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the suite with --follow notify failed: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}

// requireNotify skips where user notification cannot be had.
func requireNotify(t *testing.T) {
	t.Helper()
	requirePtrace(t)
	res, err := Run(context.Background(), Command{Path: "/bin/true"}, Options{Follow: FollowNotify})
	if err != nil {
		t.Skipf("--follow notify unavailable here: %v", err)
	}
	if res.Follow != FollowNotify {
		t.Fatalf("Follow notify ran with %s", res.Follow)
	}
}

// The filter notifies execve and execveat in every ABI, nothing else.
func TestNotifyFilter(t *testing.T) {
	prog := notifyFilter()
	tests := []struct {
		arch, nr uint32
		want     uint32
	}{
		{nativeAuditArch, execveNr, unix.SECCOMP_RET_USER_NOTIF},
		{nativeAuditArch, execveatNr, unix.SECCOMP_RET_USER_NOTIF},
		{nativeAuditArch, x32Bit | x32ExecveNr, unix.SECCOMP_RET_USER_NOTIF},
		{nativeAuditArch, x32Bit | x32ExecveatNr, unix.SECCOMP_RET_USER_NOTIF},
		{compatAuditArch, compatExecveNr, unix.SECCOMP_RET_USER_NOTIF},
		{compatAuditArch, compatExecveatNr, unix.SECCOMP_RET_USER_NOTIF},
		{nativeAuditArch, unix.SYS_CLONE, unix.SECCOMP_RET_ALLOW},
		{nativeAuditArch, unix.SYS_FORK, unix.SECCOMP_RET_ALLOW},
		{nativeAuditArch, x32ExecveNr, unix.SECCOMP_RET_ALLOW}, // without the x32 bit: rt_sigaction... of x32? no: 520 is unused natively
		{compatAuditArch, execveNr, unix.SECCOMP_RET_ALLOW},    // 59 is not execve in i386
		{nativeAuditArch, 0xffffffff, unix.SECCOMP_RET_ALLOW},  // a call a tracer skipped
	}
	for _, tt := range tests {
		if got := runBPF(t, prog, tt.arch, tt.nr, 0); got != tt.want {
			t.Errorf("arch %#x nr %#x: %#x, want %#x", tt.arch, tt.nr, got, tt.want)
		}
	}
}

// A CLONE_UNTRACED child of an out-of-scope process (which no ptrace
// follows in notify mode anyway) inherits the exec filter, and dies with
// the run.
func TestNotifyCloneUntracedContained(t *testing.T) {
	requireNotify(t)
	fx := fixture(t)
	for _, mode := range []string{"untraced", "untraced3"} {
		t.Run(mode, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "marker")
			res := run(t, []string{fx, mode, marker, "300"}, whitelist("/bin/true"), followNotify)
			if !res.Exit.Success() || res.Follow != FollowNotify || res.Containment == "" {
				t.Fatalf("exit %v, follow %s, containment %q", res.Exit, res.Follow, res.Containment)
			}
			if waitFile(marker, 800*time.Millisecond) {
				t.Fatal("the untraced child outlived the run")
			}
		})
	}
	// And it is followed: its exec of a whitelisted program is caught.
	script := fmt.Sprintf("'%s' untraced-wait >/dev/null; '%s' sysinfo", fx, fx)
	res := run(t, []string{"/bin/sh", "-c", script}, whitelist(fx), followNotify)
	if calls(binOf(res, fx), "sysinfo") != 1 {
		t.Fatalf("binaries %v", names(res))
	}
}

// kill -9 of loupe while an exec waits for its answer leaves nothing: the
// exec fails with ENOSYS once the listener is gone, and the init ends the
// tree. The script probe is slowed down so that the exec is pending.
func TestNotifyKill9WhilePending(t *testing.T) {
	requireNotify(t)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "pids")
	self, _ := os.Executable()
	// sh's pid, then an exec with arguments (probed, slowly).
	script := fmt.Sprintf("echo $$ > '%s'; /bin/sh -c : probe-me; sleep 100", pidfile)
	cmd := exec.Command(self, "/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), "TRACER_TEST_RUN=subreaper", "LOUPE_TRACER_TEST_FOLLOW=notify", "TRACER_TEST_PROBE_DELAY=20s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFile(pidfile, 10*time.Second) {
		cmd.Process.Kill()
		t.Fatal("the tree did not start")
	}
	pid := readPid(t, pidfile)
	time.Sleep(300 * time.Millisecond) // the exec is pending by now
	if st := procState(pid); st == "" {
		cmd.Process.Kill()
		t.Fatal("sh ended before loupe was killed: the exec was not pending")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if st := awaitGone(pid); st != "" {
		unix.Kill(pid, unix.SIGKILL)
		t.Fatalf("sh %d is still there (%s) after loupe's SIGKILL", pid, st)
	}
}

// A whitelisted script exec'd by an out-of-scope shell is caught, whether
// the kernel runs it (#!) or the shell is given it, by an absolute or a
// relative path.
func TestNotifyWhitelistedScriptFromOutOfScopeShell(t *testing.T) {
	requireNotify(t)
	fx := fixture(t)
	dir := t.TempDir()
	sc := filepath.Join(dir, "t.sh")
	if err := os.WriteFile(sc, []byte(fmt.Sprintf("#!/bin/sh\n'%s' sysinfo\n", fx)), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"'" + sc + "'", "./t.sh", "sh ./t.sh", "/bin/sh -e t.sh"} {
		t.Run(how, func(t *testing.T) {
			res := run(t, []string{"/bin/sh", "-c", "true; " + how + "; true"}, whitelist(sc), followNotify,
				func(c *Command, _ *Options) { c.Dir = dir })
			b := binOf(res, sc)
			if b == nil || b.Interpreter == "" || len(b.Processes) == 0 {
				t.Fatalf("script not caught: binaries %v (follow %s) %+v", names(res), res.Follow, b)
			}
			// The script's own syscalls are recorded (its interpreter's), not
			// the fixture's: that is out of scope.
			if calls(b, "execve") == 0 || calls(b, "sysinfo") != 0 {
				t.Fatalf("script record %+v", b.Syscalls)
			}
		})
	}
}

// An in-scope process's exec of something out of scope (a shell, which
// carries loupe's filter and stays traced) and back (the fixture again):
// both fixture images are recorded, and the counts equal ptrace's.
func TestNotifyOutOfScopeExecFromInScope(t *testing.T) {
	requireNotify(t)
	fx := fixture(t)
	for _, mode := range []string{"forkexec", "spawn"} {
		var got [2]*Result
		for i, f := range []runOpt{followPtrace, followNotify} {
			got[i] = run(t, []string{fx, mode}, whitelist(fx), f)
			if !got[i].Exit.Success() {
				t.Fatalf("%s: exit %v", mode, got[i].Exit)
			}
		}
		// The fork's child, then the fixture again after sh.
		if b, c := binOf(got[0], fx), binOf(got[1], fx); b == nil || c == nil || len(b.Processes) < 2 || len(c.Processes) != len(b.Processes) {
			t.Fatalf("%s: ptrace %+v, notify %+v", mode, b, c)
		}
		for _, name := range []string{"execve", "execveat", "sysinfo", "wait4", "clone", "clone3", "vfork"} {
			p, n := calls(binOf(got[0], fx), name), calls(binOf(got[1], fx), name)
			if p != n {
				t.Errorf("%s: %s calls ptrace %d, notify %d", mode, name, p, n)
			}
		}
	}
}

// A filtered in-scope process execs through the notification, not a
// seccomp stop (USER_NOTIF outranks TRACE): its execve calls and errors
// are counted there, exactly as with ptrace, and a rule on execve is
// applied there.
func TestNotifyInScopeExecCountsAndRules(t *testing.T) {
	requireNotify(t)
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	env, err := filepath.EvalSymlinks("/usr/bin/env")
	if err != nil {
		t.Fatal(err)
	}
	// env's PATH search (execvp): failed execve calls, then a successful one.
	script := "PATH=/nonexistent1:/nonexistent2:/usr/bin:/bin; env true; x=$(env true); env loupe-no-such-command 2>/dev/null; echo done"
	errs := func(o *Options) { o.Record = RecordSyscalls | RecordErrors }
	var res [2]*Result
	for i, f := range []runOpt{followPtrace, followNotify} {
		r, out := runOut(t, []string{sh, "-c", script}, whitelist(sh, env), f, func(_ *Command, o *Options) { errs(o) })
		if out != "done\n" || r.Exit.Code != 0 {
			t.Fatalf("%s: exit %v, output %q", r.Follow, r.Exit, out)
		}
		res[i] = r
	}
	if res[1].Follow != FollowNotify {
		t.Fatalf("follow %s", res[1].Follow)
	}
	count := func(r *Result, name string) (uint64, uint64) {
		for _, s := range binOf(r, env).Syscalls {
			if s.Name == name {
				return s.Calls, s.Errors
			}
		}
		return 0, 0
	}
	pc, pe := count(res[0], "execve")
	nc, ne := count(res[1], "execve")
	if pc == 0 || pe == 0 || pc != nc || pe != ne {
		t.Fatalf("execve calls/errors: ptrace %d/%d, notify %d/%d", pc, pe, nc, ne)
	}

	// A rule on execve answers the notification instead.
	for _, rule := range []Rule{{Feature: "execve", Action: Stub}, {Feature: "execve", Action: Errno, Errno: int(unix.EPERM)}} {
		var outs [2]string
		var hits [2]uint64
		for i, f := range []runOpt{followPtrace, followNotify} {
			r, out := runOut(t, []string{sh, "-c", "/bin/true; echo status=$?"}, whitelist(sh), f, rules(rule))
			outs[i], hits[i] = out, r.RuleHits["execve"]
		}
		want := "status=126\n"
		if outs[0] != want || outs[1] != outs[0] || hits[0] == 0 || hits[1] != hits[0] {
			t.Errorf("%v: ptrace %q (%d hits), notify %q (%d hits)", rule, outs[0], hits[0], outs[1], hits[1])
		}
	}
}

// Where an ancestor's filter already has a listener (a container runtime
// using seccomp notify), a new one gets EBUSY: auto falls back to ptrace
// and says why.
func TestNotifyFallsBackUnderAListener(t *testing.T) {
	requireNotify(t)
	self, _ := os.Executable()
	cmd := exec.Command(self, "/bin/true")
	cmd.Env = append(os.Environ(), "TRACER_TEST_LISTENER=1", "TRACER_TEST_RUN=auto")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "follow=ptrace") || !strings.Contains(string(out), "EBUSY") {
		t.Fatalf("under a listener: %s", out)
	}
	// And without one, auto follows with notify.
	cmd = exec.Command(self, "/bin/true")
	cmd.Env = append(os.Environ(), "TRACER_TEST_RUN=auto")
	if out, err = cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "follow=notify") {
		t.Fatalf("without a listener: %v: %s", err, out)
	}
}

// underListener installs a filter with a listener (on acct, which nothing
// here calls) and runs this test binary again below it, keeping the
// listener open as a container runtime would.
func underListener() int {
	runtime.LockOSThread()
	prog := []unix.SockFilter{
		bpfStmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, seccompDataNr),
		bpfJump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, unix.SYS_ACCT, 0, 1),
		bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_USER_NOTIF),
		bpfStmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		fmt.Println("install the listener:", errno)
		return 1
	}
	defer unix.Close(int(fd))
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

// The execs of out-of-scope processes are decided on the notifier, script
// probe included (arguments that are files, scripts, not files), and never
// wait for the tracer thread or a probe's bound; the execs that may be in
// scope (the whitelisted script, run both ways) are handed over and taken
// up well within that bound. This is what a stall of a real suite would
// break: a probe running into its timeout, or a hand-over waiting for a
// wake-up that was lost.
func TestNotifyDecidesWithoutStalls(t *testing.T) {
	requireNotify(t)
	dir := t.TempDir()
	sc := filepath.Join(dir, "t.sh")
	other := filepath.Join(dir, "other.sh")
	for _, f := range []string{sc, other} {
		if err := os.WriteFile(f, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const n = 40
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do /bin/true a b; /bin/cat ./other.sh >/dev/null; ./other.sh x; sh other.sh; /bin/ls t.sh nothing >/dev/null 2>&1; i=$((i+1)); done; ./t.sh; sh ./t.sh`, n)
	res := run(t, []string{"/bin/sh", "-c", script}, whitelist(sc), followNotify,
		func(c *Command, _ *Options) { c.Dir = dir })
	st := res.Notify
	t.Logf("notify %+v execs %d warnings %q", st, res.Execs, res.Warnings)
	if res.Follow != FollowNotify || !res.Exit.Success() {
		t.Fatalf("follow %s exit %v", res.Follow, res.Exit)
	}
	if b := binOf(res, sc); b == nil || len(b.Processes) != 2 {
		t.Fatalf("the whitelisted script: %+v", b)
	}
	if st.ProbeTimeouts != 0 || len(res.Warnings) != 0 {
		t.Fatalf("%d script probes timed out (warnings %q)", st.ProbeTimeouts, res.Warnings)
	}
	// Each round: true, cat, other.sh (#!, its sh), sh, ls; out of scope.
	if st.Answered < 5*n {
		t.Fatalf("the notifier answered %d execs, want at least %d", st.Answered, 5*n)
	}
	// ./t.sh and sh ./t.sh, plus the execs of the traced script, if any.
	if st.HandedOver < 2 || st.HandedOver > 4 {
		t.Fatalf("%d execs handed to the tracer thread, want the script's 2", st.HandedOver)
	}
	if st.SlowestHandover >= probeTimeout {
		t.Fatalf("an exec waited %v for the tracer thread", st.SlowestHandover)
	}
}

// A probe that outlasts its bound (a hung file system) holds its exec for
// the bound only: the watchdog hands it to the tracer thread, whose exec
// event decides (bounded too, and warns), and a new worker serves the
// tree's other execs.
func TestNotifyProbeWatchdog(t *testing.T) {
	requireNotify(t)
	dir := t.TempDir()
	other := filepath.Join(dir, "other.sh")
	if err := os.WriteFile(other, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	slow := func(_ *Command, o *Options) {
		o.hooks.probeDelay, o.hooks.probeTimeout = 300*time.Millisecond, 50*time.Millisecond
	}
	fx := fixture(t)
	res := run(t, []string{"/bin/sh", "-c", "sh ./other.sh; sh ./other.sh; /bin/true; '" + fx + "' sysinfo"}, whitelist(fx), followNotify, slow,
		func(c *Command, _ *Options) { c.Dir = dir })
	t.Logf("notify %+v warnings %q", res.Notify, res.Warnings)
	if !res.Exit.Success() || calls(binOf(res, fx), "sysinfo") != 1 {
		t.Fatalf("exit %v binaries %v", res.Exit, names(res))
	}
	// The root's exec is its exec event's (the exec stage is traced): its
	// probe times out there, and warns, as the two execs of sh do.
	if res.Notify.ProbeTimeouts != 2 || len(res.Warnings) != 3 {
		t.Fatalf("probe timeouts %d, warnings %q: want 2 timeouts on the notifier and 3 warnings", res.Notify.ProbeTimeouts, res.Warnings)
	}
}

// The waker is the tiny executable (not loupe's binary): it runs, and
// sleeps in pause() until the tracer's signal stops it.
func TestTinyWaker(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, err := forkTinyWaker()
	if err != nil {
		t.Skipf("a memfd cannot be exec'd here (the Go helper is the waker then): %v", err)
	}
	defer func() {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
	}()
	exe, _ := os.Readlink(procPath(pid, "exe"))
	var state byte
	for i := 0; i < 200 && state != 'S'; i++ {
		time.Sleep(5 * time.Millisecond)
		_, state, _ = procStat(pid, make([]byte, 1024))
	}
	if !strings.Contains(exe, "loupe-waker") || state != 'S' {
		t.Fatalf("waker exe %q state %c: want the memfd's loupe-waker, asleep", exe, state)
	}
}

// childFiles hands every fd of loupe's process that lacks close-on-exec to
// the helpers it starts, so that a workload inherits what loupe inherited
// (make's jobserver pipes). So the tracer must never hold such an fd of its
// own during a run: a plain dup of the init's socket by the notifier once
// reached the inits of an analysis's concurrent runs, whose starts then
// failed with EBADF once it was closed, or hung when its number was reused
// by ForkExec's status pipe.
func TestNoInheritableFDsDuringNotifyRun(t *testing.T) {
	requireNotify(t)
	before := inheritableFDs(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	type out struct {
		res *Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		m, _ := MatchPath("/nonexistent")
		res, err := Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"/bin/sh", "-c", "/bin/true; read x < fifo"}, Dir: dir},
			Options{Follow: FollowNotify, Whitelist: m})
		done <- out{res, err}
	}()
	// Opening the FIFO for writing waits for the workload's reader: the
	// run, its notifier and its waker are all set up by then.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	during := inheritableFDs(t)
	w.WriteString("x\n")
	w.Close()
	o := <-done
	if o.err != nil || o.res.Follow != FollowNotify || !o.res.Exit.Success() {
		t.Fatalf("run: %v (follow %s, exit %v)", o.err, o.res.Follow, o.res.Exit)
	}
	for fd, what := range during {
		if _, ok := before[fd]; !ok {
			t.Errorf("fd %d (%s) has no close-on-exec during a run: helpers of concurrent runs inherit it", fd, what)
		}
	}
}

// inheritableFDs lists this process's fds above 2 without close-on-exec.
func inheritableFDs(t *testing.T) map[int]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && fl&unix.FD_CLOEXEC == 0 {
			out[fd], _ = os.Readlink("/proc/self/fd/" + e.Name())
		}
	}
	return out
}
