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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	if f := os.Getenv("LOUPE_TRACER_TEST_FOLLOW"); f != "" {
		// TestSuiteOnEveryFollowMode runs the package's tests again with
		// this follow mode.
		suiteFollow = Follow(f)
	}
	if os.Getenv("TRACER_TEST_LISTENER") != "" {
		// Re-executed by TestNotifyFallsBackUnderAListener: hold a listener
		// filter, as a container runtime would, over a child that runs
		// loupe.
		os.Unsetenv("TRACER_TEST_LISTENER")
		os.Exit(underListener())
	}
	if how := os.Getenv("TRACER_TEST_RUN"); how != "" {
		// Re-executed by TestKill9LeavesNothing and the containment tests:
		// a loupe-like process that traces its arguments until it is
		// killed; "contain" and "subreaper" contain the run, "auto"
		// contains it and prints how the tree was followed; the
		// "zero-event-msg" runs follow with ptrace, uncontained (they are
		// about fork events).
		opts := Options{Record: RecordSyscalls, Contain: how != "1", Follow: suiteFollow}
		if how == "auto" {
			opts.Follow = FollowAuto
			opts.Whitelist, _ = MatchPath("/bin/true")
		}
		// Notify implies containment; a subreaper keeps the pids the
		// tests read from the command's pid files.
		opts.hooks.noPIDNS = how == "subreaper" || how == "1"
		if how == "zero-event-msg" || how == "zero-event-msg-limit" {
			opts.Contain, opts.Follow = false, FollowPtrace
			opts.hooks.zeroEventMsgs = 1 << 20
		}
		if how == "zero-event-msg-limit" {
			opts.Limit = 2 * time.Second
		}
		if d, err := time.ParseDuration(os.Getenv("TRACER_TEST_PROBE_DELAY")); err == nil {
			opts.hooks.probeDelay = d
			opts.Whitelist, _ = MatchPath("/bin/true")
		}
		res, err := Run(context.Background(), Command{Path: os.Args[1], Args: os.Args[1:]}, opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if how == "auto" {
			fmt.Printf("follow=%s note=%s\n", res.Follow, res.FollowNote)
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

// suiteFollow is the follow mode the tests' runs use (run); the suite runs
// once with FollowPtrace and once with FollowNotify.
var suiteFollow = FollowPtrace

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
	o := Options{Record: RecordSyscalls, Follow: suiteFollow}
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
		// With notify, out-of-scope processes are not followed: only execs
		// are seen.
		if res.Execs < 3 || (res.Follow == FollowPtrace && res.Processes < 3) {
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

// withContained runs f with both mechanisms and in a contained run (a PID
// namespace as root: the command's pids differ from loupe's).
func withContained(t *testing.T, f func(t *testing.T, mech runOpt)) {
	mechanisms(t, f)
	t.Run("contained", func(t *testing.T) { f(t, func(_ *Command, o *Options) { o.Contain = true }) })
}
