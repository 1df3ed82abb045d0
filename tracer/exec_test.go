package tracer

// Exec and scope: scripts run by interpreters, identities, the script
// probe that must never block the tracer.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/internal/exeid"
)

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
