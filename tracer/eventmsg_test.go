package tracer

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestForkEventWithoutPid: a fork event whose message is 0 (the kernel's
// answer when the new task's pid is not visible in the tracer's PID
// namespace; seen analysing stunnel4 in sbuild) must not be taken for a
// child with pid 0. Tracked, it was killed with the tree when the run hit
// its limit: kill(0, SIGKILL), loupe's own process group, which in a build
// is dpkg-buildpackage, make and dh. The tracing process runs in a process
// group of its own here, so that such a kill ends it (and only it). The
// children, named by no event, are adopted from /proc: a run that ends
// ends as its command did, and a run that hangs is ended at its limit.
func TestForkEventWithoutPid(t *testing.T) {
	requirePtrace(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, how, script string
		code              int
	}{
		{"ends", "zero-event-msg", "/bin/true; (exit 3); sleep 0.1 & wait; exit 7", 7},
		// The limit (2 s) kills the tree: the shell dies of SIGKILL.
		{"hangs", "zero-event-msg-limit", "sleep 1000 & wait", 128 + int(syscall.SIGKILL)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(self, "/bin/sh", "-c", tc.script)
			cmd.Env = append(os.Environ(), "TRACER_TEST_RUN="+tc.how)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
				t.Fatal("the traced run did not end within 60 s")
			}
			var ee *exec.ExitError
			switch {
			case err == nil && tc.code == 0:
			case errors.As(err, &ee) && ee.ExitCode() == tc.code:
			case errors.As(err, &ee):
				t.Fatalf("the tracing process ended with %v, want exit %d (killed: the tracer signalled pid 0, its own process group)", ee.ProcessState, tc.code)
			default:
				t.Fatalf("the tracing process ended with %v, want exit %d", err, tc.code)
			}
		})
	}
}
