package tracer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/tracer/exeid"
)

// The tests run real programs under real ptrace. The C fixture is compiled
// with gcc once per test binary; the README installs gcc, so a missing gcc
// fails the tests rather than skipping them.

var (
	fixtureOnce sync.Once
	fixturePath string
	fixtureErr  error
	fixtureDir  string
)

func TestMain(m *testing.M) {
	if how := os.Getenv("TRACER_TEST_RUN"); how != "" {
		// Re-executed by TestKill9LeavesNothing and the containment tests:
		// a loupe-like process that traces its arguments until it is
		// killed; "contain" and "subreaper" contain the run.
		opts := Options{Record: RecordSyscalls, Contain: how == "contain" || how == "subreaper"}
		opts.hooks.noPIDNS = how == "subreaper"
		if how == "zero-event-msg" || how == "zero-event-msg-limit" {
			opts.hooks.zeroEventMsgs = 1 << 20
		}
		if how == "zero-event-msg-limit" {
			opts.Limit = 2 * time.Second
		}
		res, err := Run(context.Background(), Command{Path: os.Args[1], Args: os.Args[1:]}, opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(res.Exit.ShellCode())
	}
	if tree := os.Getenv("TRACER_TEST_SANDBOX"); tree != "" {
		// Re-executed by TestSandboxUnprivileged as an unprivileged user.
		res, err := Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"sh", "-c", os.Args[1]}, Dir: tree},
			Options{Sandbox: &Sandbox{Overlay: []string{tree}, Scratch: os.Getenv("TRACER_TEST_SCRATCH"), PrivateNetwork: true}})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		os.Exit(res.Exit.ShellCode())
	}
	dir, err := os.MkdirTemp("", "loupe-tracer-test-")
	if err != nil {
		panic(err)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func fixture(t testing.TB) string {
	t.Helper()
	fixtureOnce.Do(func() {
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			fixtureErr = fmt.Errorf("gcc not found (make deps installs it): %w", err)
			return
		}
		fixturePath = filepath.Join(fixtureDir, "fixture")
		out, err := exec.Command(gcc, "-O1", "-pthread", "-o", fixturePath, "testdata/fixture.c").CombinedOutput()
		if err != nil {
			fixtureErr = fmt.Errorf("compile fixture: %v\n%s", err, out)
		}
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixturePath
}

func requirePtrace(t testing.TB) {
	t.Helper()
	// A quick real run tells whether this environment lets us trace.
	_, err := Run(context.Background(), Command{Path: "/bin/true"}, Options{})
	if errors.Is(err, ErrPtraceDenied) {
		t.Skipf("ptrace not permitted here: %v", err)
	}
}

type runOpt func(*Command, *Options)

func whitelist(paths ...string) runOpt {
	return func(_ *Command, o *Options) {
		m, err := MatchPath(paths...)
		if err != nil {
			panic(err)
		}
		o.Whitelist = m
	}
}

func rules(rs ...Rule) runOpt { return func(_ *Command, o *Options) { o.Rules = rs } }

func stdout(w *os.File) runOpt { return func(c *Command, _ *Options) { c.Stdout = w } }

// mechanisms runs a subtest with seccomp-accelerated and plain ptrace stops.
func mechanisms(t *testing.T, f func(t *testing.T, mech runOpt)) {
	t.Run("seccomp", func(t *testing.T) { f(t, func(*Command, *Options) {}) })
	t.Run("ptrace", func(t *testing.T) { f(t, func(_ *Command, o *Options) { o.NoSeccomp = true }) })
}

func run(t *testing.T, argv []string, opts ...runOpt) *Result {
	t.Helper()
	requirePtrace(t)
	cmd := Command{Path: argv[0], Args: argv}
	o := Options{Record: RecordSyscalls}
	for _, f := range opts {
		f(&cmd, &o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cmd, o)
	if err != nil {
		t.Fatalf("Run %v: %v", argv, err)
	}
	return res
}

// runOut runs argv and returns the result and the command's stdout.
func runOut(t *testing.T, argv []string, opts ...runOpt) (*Result, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { buf.ReadFrom(r); close(done) }()
	res := run(t, argv, append(opts, stdout(w))...)
	w.Close()
	<-done
	r.Close()
	return res, buf.String()
}

func binOf(res *Result, path string) *Binary {
	for _, b := range res.Binaries {
		if b.Path == path {
			return b
		}
	}
	return nil
}

func calls(b *Binary, name string) uint64 {
	if b == nil {
		return 0
	}
	for _, s := range b.Syscalls {
		if s.Name == name {
			return s.Calls
		}
	}
	return 0
}

func TestWhitelistScopesSyscalls(t *testing.T) {
	fx := fixture(t)
	mechanisms(t, func(t *testing.T, mech runOpt) {
		script := fmt.Sprintf("ls / >/dev/null; '%s' sysinfo; ls -a / >/dev/null", fx)
		res := run(t, []string{"/bin/sh", "-c", script}, whitelist(fx), mech)
		if !res.Exit.Success() {
			t.Fatalf("exit %v", res.Exit)
		}
		if len(res.Binaries) != 1 || res.Binaries[0].Path != fx {
			t.Fatalf("binaries %+v, want only %s", res.Binaries, fx)
		}
		b := res.Binaries[0]
		if calls(b, "sysinfo") != 1 {
			t.Errorf("sysinfo calls = %d, want 1", calls(b, "sysinfo"))
		}
		// ls lists directories with getdents64; the fixture never does.
		if calls(b, "getdents64") != 0 {
			t.Errorf("getdents64 of ls recorded for the fixture")
		}
		if res.Processes < 3 || res.Execs < 3 {
			t.Errorf("processes=%d execs=%d: the shell's children were not followed", res.Processes, res.Execs)
		}
		if b.BuildID == "" || len(b.SHA256) != 64 {
			t.Errorf("identity not recorded: %+v", b.Identity)
		}
		if len(b.Processes) != 1 || b.Processes[0].Argv[1] != "sysinfo" || b.Processes[0].PeakRSSKB == 0 || b.Processes[0].MaxFDs < 3 {
			t.Errorf("process record %+v", b.Processes)
		}
	})
}

func TestEverythingInScopeWithoutWhitelist(t *testing.T) {
	fx := fixture(t)
	res := run(t, []string{"/bin/sh", "-c", fmt.Sprintf("'%s' sysinfo && ls / >/dev/null", fx)})
	ls, _ := exec.LookPath("ls")
	ls, _ = filepath.EvalSymlinks(ls)
	if calls(binOf(res, fx), "sysinfo") != 1 || calls(binOf(res, ls), "getdents64") == 0 {
		t.Fatalf("without a whitelist every process is traced; binaries: %v", names(res))
	}
}

func names(res *Result) []string {
	var s []string
	for _, b := range res.Binaries {
		s = append(s, b.Path)
	}
	return s
}

func TestOutOfScopeProcessesTakeNoSyscallStops(t *testing.T) {
	fx := fixture(t)
	// The fixture makes 20000 syscalls but is not whitelisted.
	res := run(t, []string{fx, "getppid", "20000"}, whitelist("/bin/true"))
	if res.Stops > 50 {
		t.Fatalf("%d ptrace stops for an out-of-scope process making 20000 syscalls", res.Stops)
	}
	in := run(t, []string{fx, "getppid", "20000"}, whitelist(fx))
	if calls(binOf(in, fx), "getppid") != 20000 {
		t.Fatalf("in scope: getppid calls = %d", calls(binOf(in, fx), "getppid"))
	}
}

func TestThreadsForksAndExecs(t *testing.T) {
	fx := fixture(t)
	mechanisms(t, func(t *testing.T, mech runOpt) {
		tests := []struct {
			mode  string
			args  []string
			exit  int
			procs int // process images of the fixture
			check func(t *testing.T, b *Binary)
		}{
			{mode: "threads", args: []string{"4"}, procs: 1, check: func(t *testing.T, b *Binary) {
				if calls(b, "getppid") != 400 {
					t.Errorf("getppid from 4 threads = %d, want 400", calls(b, "getppid"))
				}
			}},
			// fixture -> sh -> fixture: the forked child (replaced by sh) and
			// the fixture that sh runs.
			{mode: "forkexec", procs: 3, check: func(t *testing.T, b *Binary) {
				var saw bool
				for _, p := range b.Processes {
					if len(p.Argv) == 3 && p.Argv[1] == "exit" && p.Exit.Code == 4 {
						saw = true
					}
				}
				if !saw {
					t.Errorf("grandchild fixture not recorded: %+v", b.Processes)
				}
			}},
			{mode: "spawn", procs: 3},
			// An exec from a non-leader thread takes over the leader's pid.
			{mode: "threadexec", exit: 5, procs: 2, check: func(t *testing.T, b *Binary) {
				if b.Processes[0].PID != b.Processes[1].PID || !b.Processes[0].Replaced || b.Processes[1].Exit.Code != 5 {
					t.Errorf("thread exec records %+v", b.Processes)
				}
			}},
			{mode: "signal", procs: 1},
			{mode: "jobctl", procs: 2},
		}
		for _, tt := range tests {
			t.Run(tt.mode, func(t *testing.T) {
				res := run(t, append([]string{fx, tt.mode}, tt.args...), whitelist(fx), mech)
				if res.Exit.Code != tt.exit || res.Exit.Signal != 0 {
					t.Fatalf("exit %v, want %d", res.Exit, tt.exit)
				}
				b := binOf(res, fx)
				if b == nil || len(b.Processes) != tt.procs {
					t.Fatalf("fixture images = %v, want %d", b, tt.procs)
				}
				if tt.check != nil {
					tt.check(t, b)
				}
			})
		}
	})
}

func TestExitStatusExact(t *testing.T) {
	fx := fixture(t)
	tests := []struct {
		argv []string
		want ExitStatus
	}{
		{[]string{fx, "exit", "42"}, ExitStatus{Code: 42}},
		{[]string{fx, "exit", "0"}, ExitStatus{}},
		{[]string{fx, "segv"}, ExitStatus{Signal: syscall.SIGSEGV}},
		{[]string{"/bin/sh", "-c", "kill -TERM $$"}, ExitStatus{Signal: syscall.SIGTERM}},
	}
	for _, tt := range tests {
		res := run(t, tt.argv, whitelist(fx))
		got := res.Exit
		got.CoreDumped = false
		if got != tt.want {
			t.Errorf("%v: exit %v, want %v", tt.argv, res.Exit, tt.want)
		}
	}
}

func TestArgvEnvCwdStdioUnchanged(t *testing.T) {
	fx := fixture(t)
	dir := t.TempDir()
	argv := []string{fx, "show", "a b", "", "-x", "ünïcode"}
	env := append(os.Environ(), "LOUPE_TEST_VAR=hello world")
	native := exec.Command(argv[0], argv[1:]...)
	native.Env, native.Dir = env, dir
	want, err := native.Output()
	if err != nil {
		t.Fatal(err)
	}
	_, got := runOut(t, argv, whitelist(fx), func(c *Command, _ *Options) { c.Env, c.Dir = env, dir })
	if got != string(want) {
		t.Fatalf("traced output\n%s\nnative output\n%s", got, want)
	}
	// The helper's own variable never reaches the command.
	_, envOut := runOut(t, []string{"/usr/bin/env"}, whitelist(fx))
	if strings.Contains(envOut, helperEnv) {
		t.Fatalf("%s leaked into the command's environment", helperEnv)
	}
}

func TestInheritedFDsPassThrough(t *testing.T) {
	// A make jobserver is a pair of inherited fds: they must survive.
	var p [2]int
	if err := unix.Pipe2(p[:], 0); err != nil {
		t.Fatal(err)
	}
	r := os.NewFile(uintptr(p[0]), "r")
	defer r.Close()
	script := fmt.Sprintf("echo through-fd >&%d", p[1])
	res := run(t, []string{"/bin/sh", "-c", script})
	unix.Close(p[1])
	line, _ := bufio.NewReader(r).ReadString('\n')
	if !res.Exit.Success() || line != "through-fd\n" {
		t.Fatalf("exit %v, read %q from inherited fd", res.Exit, line)
	}
}

func TestStubFakeErrno(t *testing.T) {
	fx := fixture(t)
	mechanisms(t, func(t *testing.T, mech runOpt) {
		t.Run("stub prlimit64", func(t *testing.T) {
			res, out := runOut(t, []string{fx, "rlimit"}, whitelist(fx), rules(Rule{Feature: "prlimit64", Action: Stub}), mech)
			if !strings.Contains(out, fmt.Sprintf("getrlimit=-1 errno=%d", unix.ENOSYS)) {
				t.Fatalf("stubbed getrlimit printed %q", out)
			}
			// glibc 2.36: ld.so also calls prlimit64 at start-up.
			if res.RuleHits["prlimit64"] < 1 {
				t.Fatalf("rule hits %v", res.RuleHits)
			}
		})
		t.Run("stub mkdir creates nothing", func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "made")
			_, out := runOut(t, []string{fx, "mkdir", d}, whitelist(fx), rules(Rule{Feature: "mkdir", Action: Stub}), mech)
			if !strings.Contains(out, fmt.Sprintf("mkdir=-1 errno=%d", unix.ENOSYS)) {
				t.Fatalf("output %q", out)
			}
			if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("stubbed mkdir created %s (stat: %v)", d, err)
			}
		})
		t.Run("fake mkdir creates nothing and succeeds", func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "made")
			_, out := runOut(t, []string{fx, "mkdir", d}, whitelist(fx), rules(Rule{Feature: "mkdir", Action: Fake}), mech)
			if !strings.Contains(out, "mkdir=0 errno=0") {
				t.Fatalf("output %q", out)
			}
			if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("faked mkdir created %s", d)
			}
		})
		t.Run("errno", func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "made")
			_, out := runOut(t, []string{fx, "mkdir", d}, whitelist(fx), rules(Rule{Feature: "mkdir", Action: Errno, Errno: int(unix.EACCES)}), mech)
			if !strings.Contains(out, fmt.Sprintf("mkdir=-1 errno=%d", unix.EACCES)) {
				t.Fatalf("output %q", out)
			}
		})
		t.Run("fake prctl returns 0 and changes nothing", func(t *testing.T) {
			_, out := runOut(t, []string{fx, "prctl"}, whitelist(fx), rules(Rule{Feature: "prctl", Action: Fake}), mech)
			// PR_SET_NAME would rename the process; faked, /proc/self/comm
			// still shows the original name.
			if !strings.Contains(out, "keepcaps=0 name=0 comm=fixture") {
				t.Fatalf("output %q", out)
			}
			_, real := runOut(t, []string{fx, "prctl"}, whitelist(fx), mech)
			if !strings.Contains(real, "comm=loupe-renamed") {
				t.Fatalf("untouched run printed %q", real)
			}
		})
	})
}

func TestInterventionsNeverReachOutOfScope(t *testing.T) {
	fx := fixture(t)
	dir := t.TempDir()
	script := fmt.Sprintf("mkdir '%s/by-coreutils' && '%s' mkdir '%s/by-fixture'", dir, fx, dir)
	_, out := runOut(t, []string{"/bin/sh", "-c", script}, whitelist(fx), rules(Rule{Feature: "mkdir", Action: Stub}))
	if _, err := os.Stat(filepath.Join(dir, "by-coreutils")); err != nil {
		t.Fatalf("mkdir(1), out of scope, was stubbed too: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "by-fixture")); err == nil || !strings.Contains(out, "mkdir=-1") {
		t.Fatalf("the whitelisted fixture was not stubbed: %q", out)
	}
}

func TestUnknownSyscallNumbersAreRecorded(t *testing.T) {
	fx := fixture(t)
	res, _ := runOut(t, []string{fx, "unknown"}, whitelist(fx))
	if calls(binOf(res, fx), "syscall_1000") != 1 {
		t.Fatalf("syscall 1000 not recorded as syscall_1000: %+v", binOf(res, fx).Syscalls)
	}
}

func TestScriptsMatchByScriptPath(t *testing.T) {
	requirePtrace(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "tool.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat /proc/self/status >/dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{script}, {"/bin/sh", script}, {"/bin/sh", "-e", script}, {"/bin/bash", "-x", script}} {
		res := run(t, argv, whitelist(script))
		b := binOf(res, script)
		if b == nil || b.Interpreter == "" || len(b.Syscalls) == 0 || len(b.SHA256) != 64 {
			t.Errorf("%v: script not in scope: %+v", argv, res.Binaries)
		}
	}
	// A data file named on the command line is not a script.
	data := filepath.Join(dir, "data.txt")
	os.WriteFile(data, []byte("x\n"), 0o644)
	res, _ := runOut(t, []string{"/bin/cat", data}, whitelist(data))
	if len(res.Binaries) != 0 {
		t.Errorf("cat of a whitelisted data file put cat in scope: %v", names(res))
	}
	// Programs given the script as an argument do not run it: only an
	// interpreter does (libtool's wrappers run `ls -ld ./prog`).
	for _, argv := range [][]string{{"/bin/ls", "-ld", script}, {"/bin/cat", script}, {"/bin/grep", "-q", "cat", script}} {
		res, _ := runOut(t, argv, whitelist(script))
		if len(res.Binaries) != 0 {
			t.Errorf("%v: recorded as a run of the script: %v", argv, names(res))
		}
	}
	// #!/usr/bin/env names the interpreter through its argument.
	envScript := filepath.Join(dir, "env.sh")
	os.WriteFile(envScript, []byte("#!/usr/bin/env -S sh -e\ntrue\n"), 0o755)
	if b := binOf(run(t, []string{envScript}, whitelist(envScript)), envScript); b == nil {
		t.Errorf("a #!/usr/bin/env script run directly is not in scope")
	}
}

func TestIdentityHashedOncePerFile(t *testing.T) {
	fx := fixture(t)
	cache := exeid.NewCache()
	script := "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done"
	m, _ := MatchPath(fx)
	res := run(t, []string{"/bin/sh", "-c", script}, func(_ *Command, o *Options) {
		o.Whitelist = MatchAny(m, MatchSHA256("00"))
		o.Identities = cache
	})
	if res.Execs < 11 {
		t.Fatalf("execs %d", res.Execs)
	}
	// sh and true are each hashed once, although true ran ten times.
	if h := cache.Hashed(); h < 2 || h > 3 {
		t.Fatalf("hashed %d files for 11 execs of 2 distinct files", h)
	}
}

func TestLeftoversAreDetachedOrKilled(t *testing.T) {
	fx := fixture(t)
	pidfile := filepath.Join(t.TempDir(), "pids")
	// A leftover `sleep 1000 &`, out of scope: detached, and still running
	// unstopped after Run returns, as without loupe.
	start := time.Now()
	res := run(t, []string{"/bin/sh", "-c", fmt.Sprintf("sleep 1000 & echo $! > '%s'; '%s' sysinfo", pidfile, fx)}, whitelist(fx))
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Run took %v with a detachable leftover", d)
	}
	pid := readPid(t, pidfile)
	defer unix.Kill(pid, unix.SIGKILL)
	if len(res.Leftovers) != 1 || res.Leftovers[0].PID != pid || !res.Leftovers[0].Detached {
		t.Fatalf("leftovers %+v, want sleep %d detached", res.Leftovers, pid)
	}
	st := procState(pid)
	if st == "" || strings.ContainsAny(st, "tTZ") {
		t.Fatalf("detached sleep state %q (want running or sleeping)", st)
	}
	if tp := procStatusField(pid, "TracerPid", make([]byte, 4096)); tp != "0" {
		t.Fatalf("detached sleep still traced by %s", tp)
	}

	// An in-scope leftover carries loupe's filter and cannot be detached:
	// it is killed after the grace period, and Run does not hang.
	start = time.Now()
	res = run(t, []string{"/bin/sh", "-c", fmt.Sprintf("'%s' daemon", fx)}, whitelist(fx), func(_ *Command, o *Options) { o.Grace = 300 * time.Millisecond })
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v", d)
	}
	if len(res.Leftovers) != 1 || res.Leftovers[0].Detached {
		t.Fatalf("leftovers %+v, want one killed fixture", res.Leftovers)
	}
	if err := unix.Kill(res.Leftovers[0].PID, 0); err == nil && !strings.Contains(procState(res.Leftovers[0].PID), "Z") {
		t.Fatalf("killed leftover %d still alive (%s)", res.Leftovers[0].PID, procState(res.Leftovers[0].PID))
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.Split(string(b), "\n")[0]))
	if err != nil {
		t.Fatalf("pid file %q", b)
	}
	return pid
}

func procState(pid int) string {
	return procStatusField(pid, "State", make([]byte, 4096))
}

func TestContextCancelKillsTree(t *testing.T) {
	requirePtrace(t)
	fx := fixture(t)
	pidfile := filepath.Join(t.TempDir(), "pids")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	script := fmt.Sprintf("'%s' pidfile '%s' & '%s' pidfile '%s'; wait", fx, pidfile, fx, pidfile)
	m, _ := MatchPath(fx)
	start := time.Now()
	res, err := Run(ctx, Command{Path: "/bin/sh", Args: []string{"sh", "-c", script}}, Options{Whitelist: m})
	if !errors.Is(err, context.DeadlineExceeded) || res == nil {
		t.Fatalf("err %v, res %v", err, res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	assertAllGone(t, pidfile)
}

func assertAllGone(t *testing.T, pidfile string) {
	t.Helper()
	b, _ := os.ReadFile(pidfile)
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		deadline := time.Now().Add(3 * time.Second)
		for {
			st := procState(pid)
			if st == "" || strings.HasPrefix(st, "Z") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d survived (state %s)", pid, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestKill9LeavesNothing(t *testing.T) {
	requirePtrace(t)
	fx := fixture(t)
	pidfile := filepath.Join(t.TempDir(), "pids")
	self, _ := os.Executable()
	script := fmt.Sprintf("sleep 1000 & echo $! >> '%s'; echo $$ >> '%s'; '%s' pidfile '%s' & '%s' threads 2; wait", pidfile, pidfile, fx, pidfile, fx)
	cmd := exec.Command(self, "/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), "TRACER_TEST_RUN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the tree is up: sleep, sh and the pidfile fixture.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(pidfile)
		if len(strings.Fields(string(b))) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tree did not start: %q", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	assertAllGone(t, pidfile)
}

func TestSandboxKeepsWritesPrivate(t *testing.T) {
	requirePtrace(t)
	tree := t.TempDir()
	os.WriteFile(filepath.Join(tree, "existing"), []byte("orig\n"), 0o644)
	scratch := t.TempDir()
	// /proc/net/dev lists the interfaces of the caller's network namespace.
	script := "echo new > created; echo changed > existing; cat created existing; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"
	res, out := runOut(t, []string{"/bin/sh", "-c", script}, func(c *Command, o *Options) {
		c.Dir = tree
		o.Sandbox = &Sandbox{Overlay: []string{tree}, Scratch: scratch, PrivateNetwork: true}
	})
	if !res.Exit.Success() {
		t.Fatalf("exit %v, output %q", res.Exit, out)
	}
	if out != "new\nchanged\nlo\n" {
		t.Fatalf("inside the sandbox: %q (want the writes visible and only lo)", out)
	}
	if _, err := os.Stat(filepath.Join(tree, "created")); err == nil {
		t.Fatal("a write escaped into the real tree")
	}
	if b, _ := os.ReadFile(filepath.Join(tree, "existing")); string(b) != "orig\n" {
		t.Fatalf("real file modified: %q", b)
	}
}

func TestStartErrors(t *testing.T) {
	_, err := Run(context.Background(), Command{Path: "/nonexistent/prog"}, Options{})
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("err %v, want StartError", err)
	}
	_, err = Run(context.Background(), Command{Path: "true"}, Options{Rules: []Rule{{Feature: "getrlimt", Action: Stub}}})
	if err == nil || !strings.Contains(err.Error(), `did you mean "getrlimit"`) {
		t.Fatalf("err %v", err)
	}
	_, err = Run(context.Background(), Command{Path: "true"}, Options{Rules: []Rule{{Feature: "read", Action: Errno, Errno: 512}}})
	if err == nil {
		t.Fatal("ERESTARTSYS accepted as an errno")
	}
}

// NewProcessGroup puts the command in its own process group (pgid = its
// pid); by default it stays in loupe's, as without loupe.
func TestNewProcessGroup(t *testing.T) {
	requirePtrace(t)
	// Fields 1 and 5 of /proc/self/stat are the pid and the pgid.
	script := "read -r pid comm state ppid pgrp rest < /proc/$$/stat; echo $pid $pgrp"
	for _, newPgrp := range []bool{false, true} {
		res, out := runOut(t, []string{"/bin/sh", "-c", script}, func(_ *Command, o *Options) { o.NewProcessGroup = newPgrp })
		if !res.Exit.Success() {
			t.Fatalf("exit %v", res.Exit)
		}
		var pid, pgrp int
		fmt.Sscan(out, &pid, &pgrp)
		if own := pid == pgrp; own != newPgrp {
			t.Errorf("NewProcessGroup=%v: pid %d pgrp %d (ours %d)", newPgrp, pid, pgrp, syscall.Getpgrp())
		}
	}
}

// seedNextPids remembers deaths of the next pids the kernel will hand out,
// as a stale record would after pid_max wraps: the children of the run
// below are born with pids the tracer believes dead.
func seedNextPids(t *testing.T) func(*Command, *Options) {
	b, err := os.ReadFile("/proc/sys/kernel/ns_last_pid")
	if err != nil {
		t.Skipf("cannot read the next pid: %v", err)
	}
	mb, _ := os.ReadFile("/proc/sys/kernel/pid_max")
	last, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	max, _ := strconv.Atoi(strings.TrimSpace(string(mb)))
	if max <= 0 {
		max = 32768
	}
	var pids []int
	for i := 1; i <= 20000 && i < max; i++ {
		if p := (last + i) % max; p > 300 {
			pids = append(pids, p)
		}
	}
	return func(_ *Command, o *Options) { o.hooks.seedDeadEarly = pids }
}

// A remembered early death whose pid is reused by a new child must not
// leave that child stopped forever (it hung sed's make check).
func TestReusedPidOfEarlyDeath(t *testing.T) {
	script := "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done; echo done"
	mechanisms(t, func(t *testing.T, mech runOpt) {
		res, out := runOut(t, []string{"/bin/sh", "-c", script}, seedNextPids(t), mech,
			func(_ *Command, o *Options) { o.hooks.adoptAfter = time.Hour })
		if !res.Exit.Success() || out != "done\n" {
			t.Fatalf("exit %v, output %q", res.Exit, out)
		}
		if res.Processes < 11 {
			t.Errorf("%d processes followed, want the shell and its 10 children", res.Processes)
		}
	})
}

// A parked first stop whose parent's event never names it is adopted from
// /proc (here the event is ignored by trusting the stale death records).
func TestParkedStopAdopted(t *testing.T) {
	script := "for i in 1 2 3; do /bin/true; done; echo done"
	res, out := runOut(t, []string{"/bin/sh", "-c", script}, seedNextPids(t),
		func(_ *Command, o *Options) {
			o.hooks.trustDeadEarly, o.hooks.adoptAfter = true, 20*time.Millisecond
		})
	if !res.Exit.Success() || out != "done\n" {
		t.Fatalf("exit %v, output %q", res.Exit, out)
	}
	if res.Processes < 4 {
		t.Errorf("%d processes followed, want the shell and its 3 children adopted", res.Processes)
	}
}

// A failed exec inside a sandbox that overlays /tmp is still reported: the
// helper's error file must not land in the private /tmp.
func TestSandboxStartError(t *testing.T) {
	requirePtrace(t)
	base := varTmpDir(t, "loupe-sb-err-")
	// Only the helper's exec can tell that the interpreter is missing.
	script := filepath.Join(base, "script")
	os.WriteFile(script, []byte("#!/nonexistent/interpreter\n"), 0o755)
	scratch := filepath.Join(base, "scratch")
	os.Mkdir(scratch, 0o755)
	_, err := Run(context.Background(), Command{Path: script},
		Options{Sandbox: &Sandbox{Overlay: []string{os.TempDir()}, Scratch: scratch}})
	if errors.Is(err, ErrSandboxUnavailable) {
		t.Skipf("sandbox unavailable here: %v", err)
	}
	var se *StartError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err %v, want a StartError naming the missing file", err)
	}
}

// The sandbox as a normal build user gets it: through a user namespace.
func TestSandboxUnprivileged(t *testing.T) {
	requirePtrace(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user for the test")
	}
	base := varTmpDir(t, "loupe-userns-")
	tree, scratch := filepath.Join(base, "tree"), filepath.Join(base, "scratch")
	for _, d := range []string{base, tree, scratch} {
		os.MkdirAll(d, 0o755)
		os.Chown(d, 65534, 65534)
	}
	os.WriteFile(filepath.Join(tree, "existing"), []byte("orig\n"), 0o644)
	os.Chown(filepath.Join(tree, "existing"), 65534, 65534)
	self, _ := os.Executable()
	// The test binary must be readable by nobody.
	exe := filepath.Join(base, "tracer.test")
	if b, err := os.ReadFile(self); err == nil {
		os.WriteFile(exe, b, 0o755)
	}
	script := "echo new > created && echo changed > existing && cat created existing && id -u && grep CapEff /proc/self/status | cut -f2"
	cmd := exec.Command(exe, script)
	cmd.Env = append(os.Environ(), "TRACER_TEST_SANDBOX="+tree, "TRACER_TEST_SCRATCH="+scratch)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "sandbox unavailable") {
		t.Skipf("user namespaces unavailable here: %s", out)
	}
	// Same uid as outside, and no capabilities left from the helper.
	if err != nil || string(out) != "new\nchanged\n65534\n0000000000000000\n" {
		t.Fatalf("unprivileged sandbox run: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(tree, "created")); err == nil {
		t.Fatal("a write escaped into the real tree")
	}
	if b, _ := os.ReadFile(filepath.Join(tree, "existing")); string(b) != "orig\n" {
		t.Fatalf("real file modified: %q", b)
	}
}

func counts(cs []Count) map[string]uint64 {
	m := map[string]uint64{}
	for _, c := range cs {
		m[c.Key] = c.Calls
	}
	return m
}

func recordAll(_ *Command, o *Options) {
	o.Record = RecordSyscalls | RecordFeatures | RecordPseudoFiles
}

func TestSubFeaturesRecordedAndTargeted(t *testing.T) {
	fx := fixture(t)
	mechanisms(t, func(t *testing.T, mech runOpt) {
		res, _ := runOut(t, []string{fx, "fcntl"}, whitelist(fx), recordAll, mech)
		f := counts(binOf(res, fx).Features)
		for _, k := range []string{"fcntl:F_SETFD", "fcntl:F_SETFL", "fcntl:F_GETFL", "socket:AF_INET+SOCK_STREAM", "arch_prctl:ARCH_SET_FS"} {
			if f[k] == 0 {
				t.Errorf("feature %s not recorded; got %v", k, f)
			}
		}
		// Stubbing one command leaves the others of the same syscall alone.
		_, out := runOut(t, []string{fx, "fcntl"}, whitelist(fx), rules(Rule{Feature: "fcntl:F_SETFD", Action: Stub}), mech)
		if out != "setfd=-1 setfl=0\n" {
			t.Errorf("fcntl:F_SETFD stubbed: %q", out)
		}
		// prctl(PR_SET_KEEPCAPS) faked returns 0 and the setting, read back
		// with a real PR_GET_KEEPCAPS, is unchanged.
		_, out = runOut(t, []string{fx, "keepcaps"}, whitelist(fx), rules(Rule{Feature: "prctl:PR_SET_KEEPCAPS", Action: Fake}), mech)
		if out != "set=0 get=0\n" {
			t.Errorf("prctl:PR_SET_KEEPCAPS faked: %q", out)
		}
		_, out = runOut(t, []string{fx, "keepcaps"}, whitelist(fx), mech)
		if out != "set=0 get=1\n" {
			t.Errorf("untouched keepcaps: %q", out)
		}
		// Masked flag fields: MAP_POPULATE on both mappings does not hide
		// that one is anonymous and private, the other file-backed and
		// shared (ld.so's own private file mappings are not touched either).
		res, out = runOut(t, []string{fx, "mmap"}, whitelist(fx), rules(Rule{Feature: "mmap:file+shared", Action: Stub}), mech)
		if out != "anon=ok file=failed\n" || res.RuleHits["mmap:file+shared"] != 1 {
			t.Errorf("mmap:file+shared stubbed: %q, hits %v", out, res.RuleHits)
		}
	})
}

// withContained runs f with both mechanisms and in a contained run (a PID
// namespace as root: the command's pids differ from loupe's).
func withContained(t *testing.T, f func(t *testing.T, mech runOpt)) {
	mechanisms(t, f)
	t.Run("contained", func(t *testing.T) { f(t, func(_ *Command, o *Options) { o.Contain = true }) })
}

func TestPseudoFiles(t *testing.T) {
	fx := fixture(t)
	withContained(t, func(t *testing.T, mech runOpt) {
		res, out := runOut(t, []string{fx, "procstatus"}, whitelist(fx), recordAll, mech)
		pf := counts(binOf(res, fx).PseudoFiles)
		// open + 2 reads + close through the fd.
		if pf["/proc/self/status"] != 4 || !strings.HasPrefix(out, "read=") {
			t.Errorf("/proc/self/status uses = %d (want 4: open, read, read, close); all %v; out %q", pf["/proc/self/status"], pf, out)
		}
		res, _ = runOut(t, []string{fx, "procdir"}, whitelist(fx), recordAll, mech)
		pf = counts(binOf(res, fx).PseudoFiles)
		if pf["/proc/self"] == 0 || pf["/proc/self/stat"] < 2 {
			t.Errorf("dirfd-relative open not followed: %v", pf)
		}

		_, out = runOut(t, []string{fx, "procstatus"}, whitelist(fx), rules(Rule{Feature: "/proc/self/status", Action: Stub}), mech)
		if out != fmt.Sprintf("open errno=%d\n", unix.ENOENT) {
			t.Errorf("stubbed /proc/self/status: %q", out)
		}
		_, out = runOut(t, []string{fx, "procstatus"}, whitelist(fx), rules(Rule{Feature: "/proc/self/status", Action: Fake}), mech)
		if out != "read=0+0\n" {
			t.Errorf("faked /proc/self/status: %q (want an empty file)", out)
		}
		_, out = runOut(t, []string{fx, "pseudostat", "/proc/self"}, whitelist(fx), rules(Rule{Feature: "/proc/self", Action: Fake}), mech)
		if out != "stat=0 errno=0 dir=1 size=0\n" && !strings.HasPrefix(out, "stat=0 errno=0 dir=1") {
			t.Errorf("faked /proc/self as a directory: %q", out)
		}
		_, out = runOut(t, []string{fx, "pseudostat", "/proc/self/status"}, whitelist(fx), rules(Rule{Feature: "/proc/self", Action: Fake}), mech)
		if out != fmt.Sprintf("stat=-1 errno=%d dir=-1 size=-1\n", unix.ENOENT) {
			t.Errorf("descendant of a faked directory: %q", out)
		}
	})
}

// TestPseudoFileIDsNormalised: paths spelt with this run's real ids are
// recorded under their normalised keys: the caller's pid is self, another
// process's is [pid], thread ids are [tid] (also a thread naming its own
// /proc/<tid>), pseudo-terminal numbers are [n]. Normalize's table tests use
// made-up ids; this checks the tracer hands it the caller's real ones.
func TestPseudoFileIDsNormalised(t *testing.T) {
	fx := fixture(t)
	withContained(t, func(t *testing.T, mech runOpt) {
		res, out := runOut(t, []string{fx, "procids"}, whitelist(fx), recordAll, mech)
		pf := counts(binOf(res, fx).PseudoFiles)
		want := []string{"/proc/self/stat", "/proc/[pid]/status", "/proc/self/task/[tid]/comm",
			"/proc/self/task/[tid]/stat", "/proc/self/task/[tid]/status"}
		if strings.HasPrefix(out, "pts=unavailable") {
			t.Logf("no pseudo-terminal here (%s): /dev/pts/[n] not checked", strings.TrimSpace(out))
		} else if !strings.Contains(out, "open=1") {
			t.Errorf("fixture could not open its pseudo-terminal: %q", out)
		} else {
			want = append(want, "/dev/ptmx", "/dev/pts/[n]")
		}
		for _, k := range want {
			if pf[k] == 0 {
				t.Errorf("%s not recorded; got %v", k, pf)
			}
		}
		for k := range pf {
			if strings.HasPrefix(k, "/proc/") && strings.ContainsAny(strings.SplitN(k[len("/proc/"):], "/", 2)[0], "0123456789") ||
				strings.Contains(k, "/task/") && !strings.Contains(k, "/task/[tid]") ||
				strings.HasPrefix(k, "/dev/pts/") && k != "/dev/pts/[n]" && k != "/dev/pts/ptmx" {
				t.Errorf("key %q keeps a run-specific id", k)
			}
		}
	})
}

// The tracer looks for whitelisted scripts among the arguments of every
// out-of-scope exec. Those arguments name anything in the workload's world:
// none of them may block the tracer or take data from the workload. The
// first case hung `make check` of a GNU package for ever.
func TestScriptProbeNeverBlocksOnWorkloadFiles(t *testing.T) {
	requirePtrace(t)
	dir := t.TempDir()
	// It starts with "#!", so a probe that read it would take it for a script.
	data := "#!--- /dev/null\n+++ f\n@@ -0,0 +1 @@\n+f\n"
	if err := os.WriteFile(filepath.Join(dir, "data"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	ptn, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, script string
		wantOut      bool
	}{
		{"fifo whose writer is stopped at its exec", `mkfifo f1; cat data > f1 & cat f1 > out; wait`, true},
		{"fifo holding data", fmt.Sprintf(`mkfifo f2; exec 3<>f2; cat data >&3; head -c %d f2 > out`, len(data)), true},
		{"a pipe named /dev/fd/N", fmt.Sprintf(`mkfifo f3; exec 4<>f3; cat data >&4; head -c %d /dev/fd/4 > out`, len(data)), true},
		{"a terminal", fmt.Sprintf(`stat -L /dev/pts/%d /dev/tty >/dev/null 2>&1; true`, ptn), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(filepath.Join(dir, "out"))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			wl, _ := MatchPath("/bin/true")
			res, err := Run(ctx, Command{Path: "/bin/sh", Args: []string{"sh", "-c", c.script}, Dir: dir},
				Options{Whitelist: wl, Record: RecordSyscalls, Leftovers: LeftoversKill})
			if err != nil {
				t.Fatalf("the tracer did not finish the workload: %v", err)
			}
			if !res.Exit.Success() {
				t.Fatalf("exit %v", res.Exit)
			}
			if !c.wantOut {
				return
			}
			got, err := os.ReadFile(filepath.Join(dir, "out"))
			if err != nil || string(got) != data {
				t.Fatalf("the workload read %q (%v), want every byte of %q", got, err, data)
			}
		})
	}
}

// A script probe that takes longer than its bound (a hung file system) gives
// up: the process counts as out of scope, the run goes on, and the result
// says so.
func TestScriptProbeIsBounded(t *testing.T) {
	requirePtrace(t)
	script := filepath.Join(t.TempDir(), "tool.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	slow := func(_ *Command, o *Options) {
		o.hooks.probeDelay, o.hooks.probeTimeout = 2*time.Second, 100*time.Millisecond
	}
	res := run(t, []string{"/bin/sh", script}, whitelist(script), slow)
	if !res.Exit.Success() || binOf(res, script) != nil {
		t.Fatalf("exit %v, binaries %v: want success with the script out of scope", res.Exit, names(res))
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "treated as out of scope") {
		t.Fatalf("warnings %q", res.Warnings)
	}
}
