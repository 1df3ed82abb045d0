package tracer

// The end of a run: leftovers, a cancelled context, a loupe killed with -9.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestLeftoversAreDetachedOrKilled(t *testing.T) {
	fx := fixture(t)
	pidfile := filepath.Join(t.TempDir(), "pids")
	// A leftover `sleep 1000 &`, out of scope: detached, and still running
	// unstopped after Run returns, as without loupe.
	start := time.Now()
	// Leftovers are detached only when following with ptrace: notify
	// implies containment, which kills them (TestNotifyLeftoversKilled).
	res := run(t, []string{"/bin/sh", "-c", fmt.Sprintf("sleep 1000 & echo $! > '%s'; '%s' sysinfo", pidfile, fx)}, whitelist(fx), followPtrace)
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
	res = run(t, []string{"/bin/sh", "-c", fmt.Sprintf("'%s' daemon", fx)}, whitelist(fx), followPtrace, func(_ *Command, o *Options) { o.Grace = 300 * time.Millisecond })
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
		if st := awaitGone(pid); st != "" {
			t.Fatalf("process %d survived (state %s)", pid, st)
		}
	}
}

// awaitGone waits up to 3 s for pid to exit (gone, or a zombie) and
// returns "" then, or the state it is still in.
func awaitGone(pid int) string {
	deadline := time.Now().Add(3 * time.Second)
	for {
		st := procState(pid)
		if st == "" || strings.HasPrefix(st, "Z") {
			return ""
		}
		if time.Now().After(deadline) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
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
