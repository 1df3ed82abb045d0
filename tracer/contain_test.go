package tracer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/chroottest"
)

// The containment layers of contain.go, each against a real
// clone(CLONE_UNTRACED) child of the C fixture.

// containments runs f with each containment this environment offers: a
// PID namespace (root) and a subreaper (forced for root, natural
// unprivileged).
func containments(t *testing.T, f func(t *testing.T, want string, opt runOpt)) {
	if os.Geteuid() == 0 {
		t.Run("pidns", func(t *testing.T) {
			f(t, ContainPIDNamespace, func(_ *Command, o *Options) { o.Contain = true })
		})
	}
	t.Run("subreaper", func(t *testing.T) {
		f(t, ContainSubreaper, func(_ *Command, o *Options) { o.Contain = true; o.hooks.noPIDNS = true })
	})
}

// Layer (a): in a process that takes syscall stops, a child cloned with
// CLONE_UNTRACED (by clone or clone3) is traced anyway, and works: without
// the flag cleared it would be missing from the result, and under the
// seccomp filter it inherited with no tracer behind it, its write would
// fail.
func TestCloneUntracedStaysTraced(t *testing.T) {
	fx := fixture(t)
	experiment := func(_ *Command, o *Options) {
		o.Record = RecordNone
		o.Rules = []Rule{{Feature: "mkdir", Action: Stub}}
	}
	for _, mode := range []string{"untraced-wait", "untraced3-wait"} {
		t.Run(mode, func(t *testing.T) {
			mechanisms(t, func(t *testing.T, mech runOpt) {
				for name, rec := range map[string]runOpt{"record": func(*Command, *Options) {}, "experiment": experiment} {
					res, out := runOut(t, []string{fx, mode}, whitelist(fx), mech, rec)
					if !res.Exit.Success() || out != "child ppid=1\n" {
						t.Fatalf("%s: exit %v, output %q", name, res.Exit, out)
					}
					if b := binOf(res, fx); b == nil || len(b.Processes) != 2 {
						t.Fatalf("%s: the untraced child was not followed: %+v", name, b)
					}
				}
			})
		})
	}
}

// Layers (b) and (c): an out-of-scope process takes no syscall stops, so
// its CLONE_UNTRACED child escapes the tracer; containment still ends it
// with the run. Without Contain the child outlives the run (the control),
// so the test can fail.
func TestUntracedChildContained(t *testing.T) {
	fx := fixture(t)
	for _, mode := range []string{"untraced", "untraced3"} {
		t.Run(mode+"/control", func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "marker")
			// Uncontained: ptrace (notify implies containment).
			res := run(t, []string{fx, mode, marker, "300"}, whitelist("/bin/true"), followPtrace)
			if !res.Exit.Success() || res.Containment != "" {
				t.Fatalf("exit %v, containment %q", res.Exit, res.Containment)
			}
			if !waitFile(marker, 3*time.Second) {
				t.Fatal("the untraced child did not outlive an uncontained run: the fixture does not escape")
			}
		})
		t.Run(mode, func(t *testing.T) {
			containments(t, func(t *testing.T, want string, opt runOpt) {
				marker := filepath.Join(t.TempDir(), "marker")
				res := run(t, []string{fx, mode, marker, "300"}, whitelist("/bin/true"), opt)
				if !res.Exit.Success() || res.Containment != want {
					t.Fatalf("exit %v, containment %q, want %q", res.Exit, res.Containment, want)
				}
				if waitFile(marker, 800*time.Millisecond) {
					t.Fatal("the untraced child outlived the contained run")
				}
			})
		})
	}
}

// A loupe killed with SIGKILL leaves nothing behind, an untraced child
// included.
func TestKill9ContainsUntracedChild(t *testing.T) {
	requirePtrace(t)
	fx := fixture(t)
	hows := []string{"subreaper"}
	if os.Geteuid() == 0 {
		hows = append(hows, "contain")
	}
	for _, how := range hows {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			marker, pidfile := filepath.Join(dir, "marker"), filepath.Join(dir, "pids")
			self, _ := os.Executable()
			script := fmt.Sprintf("'%s' untraced '%s' 1500; '%s' pidfile '%s'", fx, marker, fx, pidfile)
			cmd := exec.Command(self, "/bin/sh", "-c", script)
			cmd.Env = append(os.Environ(), "TRACER_TEST_RUN="+how)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if !waitFile(pidfile, 10*time.Second) {
				cmd.Process.Kill()
				t.Fatal("the tree did not start")
			}
			cmd.Process.Kill()
			cmd.Wait()
			// (In a PID namespace the pid file holds the namespace's pids: the
			// marker is the evidence.)
			if waitFile(marker, 2500*time.Millisecond) {
				t.Fatal("the untraced child outlived loupe's SIGKILL")
			}
		})
	}
}

// varTmpDir makes a directory under /var/tmp, removed after the test: the
// sandbox overlays /tmp, so trees and scratch directories go there.
func varTmpDir(t *testing.T, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("/var/tmp", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// waitFile reports whether path exists within d.
func waitFile(path string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// In a PID namespace the command sees its own pids, its own /proc (so
// /proc/$$ is itself) and its own process group; its parent is the init.
func TestContainPIDNamespaceView(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace without a sandbox needs root")
	}
	script := `read -r pid comm state ppid pgrp rest < /proc/$$/stat; echo $$ $pid $ppid $pgrp; ls /proc | grep -c '^[0-9]'`
	res, out := runOut(t, []string{"/bin/sh", "-c", script}, func(_ *Command, o *Options) { o.Contain = true; o.NewProcessGroup = true })
	if !res.Exit.Success() || res.Containment != ContainPIDNamespace {
		t.Fatalf("exit %v, containment %q, output %q", res.Exit, res.Containment, out)
	}
	f := strings.Fields(out)
	if len(f) != 5 || f[0] != f[1] || f[2] != "1" || f[3] != f[0] {
		t.Fatalf("pid, /proc/$$/stat pid, ppid, pgrp: %q (want $$ = its /proc pid = its pgrp, parent 1)", out)
	}
	if n, _ := strconv.Atoi(f[4]); n < 2 || n > 4 {
		t.Errorf("%d processes in the namespace's /proc (want init, sh, ls and grep at most)", n)
	}
}

// A workload running as root in a sandbox can neither unmount the overlay
// nor bind its parent without it to write the real tree: the mounts are
// locked. It still runs as root.
func TestSandboxMountsLocked(t *testing.T) {
	requirePtrace(t)
	if os.Geteuid() != 0 {
		t.Skip("only root could unmount the overlay; unprivileged runs have no capability over it")
	}
	base := varTmpDir(t, "loupe-lock-")
	tree, scratch := filepath.Join(base, "tree"), filepath.Join(base, "scratch")
	os.Mkdir(tree, 0o755)
	script := fmt.Sprintf(`id -u
umount -l '%[1]s' 2>/dev/null && echo unmounted
echo x > '%[1]s/escaped'
mkdir -p /tmp/bind && mount --bind '%[2]s' /tmp/bind 2>/dev/null && echo bound && echo x > /tmp/bind/tree/escaped2
mount --make-shared '%[1]s' 2>/dev/null; true`, tree, base)
	res, out := runOut(t, []string{"/bin/sh", "-c", script}, func(c *Command, o *Options) {
		o.Sandbox = &Sandbox{Overlay: []string{tree, "/tmp"}, Scratch: scratch}
	})
	if !res.Exit.Success() || !strings.HasPrefix(out, "0\n") {
		t.Fatalf("exit %v, output %q (want root's uid first)", res.Exit, out)
	}
	for _, f := range []string{"escaped", "escaped2"} {
		if _, err := os.Stat(filepath.Join(tree, f)); err == nil {
			t.Errorf("the workload wrote %s into the real tree (output %q)", f, out)
		}
	}
	if strings.Contains(out, "unmounted") || strings.Contains(out, "bound") {
		t.Errorf("the workload could unmount or bind the tree without its overlay: %q", out)
	}
}

// The unprivileged containment: a subreaper without a sandbox, a PID
// namespace inside the sandbox's user namespace.
func TestContainUnprivileged(t *testing.T) {
	requirePtrace(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user for the test")
	}
	base := varTmpDir(t, "loupe-contain-")
	os.Chmod(base, 0o777)
	fx := filepath.Join(base, "fixture")
	exe := filepath.Join(base, "tracer.test")
	for src, dst := range map[string]string{fixture(t): fx, mustExecutable(t): exe} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(dst, b, 0o755)
	}
	for _, how := range []string{"subreaper", "sandbox"} {
		t.Run(how, func(t *testing.T) {
			marker := filepath.Join(base, how+"-marker")
			env := "TRACER_TEST_RUN=contain"
			if how == "sandbox" {
				tree := filepath.Join(base, how+"-tree")
				os.Mkdir(tree, 0o777)
				env = "TRACER_TEST_SANDBOX=" + tree
			}
			script := fmt.Sprintf("'%s' untraced '%s' 300", fx, marker)
			args := []string{"/bin/sh", "-c", script}
			if how == "sandbox" {
				args = []string{script}
			}
			cmd := exec.Command(exe, args...)
			cmd.Env = append(os.Environ(), env, "TRACER_TEST_SCRATCH="+filepath.Join(base, how+"-scratch"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			out, err := cmd.CombinedOutput()
			if strings.Contains(string(out), "sandbox unavailable") {
				t.Skipf("user namespaces unavailable here: %s", out)
			}
			if err != nil {
				t.Fatalf("contained run as nobody: %v\n%s", err, out)
			}
			if waitFile(marker, 800*time.Millisecond) {
				t.Fatal("the untraced child outlived the contained run")
			}
		})
	}
}

func mustExecutable(t *testing.T) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// The sandbox and the containment inside a chroot whose root is not a
// mount point (sbuild, pbuilder): as root everything works, with nothing
// propagating out of the chroot; as an unprivileged user the sandbox is
// refused with the reason and what to change, and containment falls back
// to the subreaper.
func TestInChroot(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds a chroot and runs tests in it")
	}
	requirePtrace(t)
	fixture(t) // gcc must be there
	t.Run("root", func(t *testing.T) {
		names := []string{"TestSandboxKeepsWritesPrivate", "TestSandboxMountsLocked", "TestSandboxStartError",
			"TestContainPIDNamespaceView", "TestUntracedChildContained", "TestKill9ContainsUntracedChild",
			"TestCloneUntracedStaysTraced", "TestStubFakeErrno", "TestPseudoFiles", "TestPseudoFileIDsNormalised",
			"TestScriptsMatchByScriptPath"}
		res := chroottest.Run(t, chroottest.Spec{Dirs: []string{"testdata"}}, "-test.run=^("+strings.Join(names, "|")+")$", "-test.v", "-test.count=1")
		chroottest.RequirePassed(t, res, append(names, "TestUntracedChildContained/untraced/pidns",
			"TestPseudoFiles/contained", "TestPseudoFileIDsNormalised/contained")...)
	})
	t.Run("root in a user namespace", func(t *testing.T) {
		// As in sbuild when its build user is root.
		names := []string{"TestSandboxKeepsWritesPrivate", "TestSandboxMountsLocked", "TestContainPIDNamespaceView",
			"TestUntracedChildContained", "TestPseudoFiles"}
		res := chroottest.Run(t, chroottest.Spec{UserNS: true, Dirs: []string{"testdata"}}, "-test.run=^("+strings.Join(names, "|")+")$", "-test.v", "-test.count=1")
		chroottest.RequirePassed(t, res, append(names, "TestUntracedChildContained/untraced/pidns", "TestPseudoFiles/contained")...)
	})
	t.Run("nobody", func(t *testing.T) {
		names := []string{"TestSandboxRefusedInChroot", "TestUntracedChildContained"}
		res := chroottest.Run(t, chroottest.Spec{UID: chroottest.Nobody, Dirs: []string{"testdata"}}, "-test.run=^("+strings.Join(names, "|")+")$", "-test.v", "-test.count=1")
		chroottest.RequirePassed(t, res, append(names, "TestUntracedChildContained/untraced/subreaper")...)
	})
}

// Run inside a chroot as an unprivileged user by TestInChroot.
func TestSandboxRefusedInChroot(t *testing.T) {
	if os.Geteuid() == 0 || !chroottest.Inside() {
		t.Skip("only meaningful for an unprivileged user in a chroot (TestInChroot runs it there)")
	}
	requirePtrace(t)
	scratch := filepath.Join(t.TempDir(), "scratch")
	_, err := Run(context.Background(), Command{Path: "/bin/true", Dir: t.TempDir()},
		Options{Sandbox: &Sandbox{Overlay: []string{t.TempDir()}, Scratch: scratch}})
	if !errors.Is(err, ErrSandboxUnavailable) {
		t.Fatalf("err %v, want ErrSandboxUnavailable", err)
	}
	for _, want := range []string{"inside a chroot", "run loupe as root"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}

// BenchmarkStart measures the fixed cost of one run of /bin/true: direct,
// contained (PID namespace as root, else subreaper), contained with a
// subreaper, and sandboxed (overlay, network and PID namespaces; as root,
// the locking user namespace too). Compare the ns/op of one run of the
// benchmark: the init adds a fork and an exec of loupe's binary.
func BenchmarkStart(b *testing.B) {
	base, err := os.MkdirTemp("/var/tmp", "loupe-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(base)
	tree := filepath.Join(base, "tree")
	os.Mkdir(tree, 0o755)
	cases := []struct {
		name string
		opts func(i int) Options
	}{
		{"direct", func(int) Options { return Options{} }},
		{"contained", func(int) Options { return Options{Contain: true} }},
		{"subreaper", func(int) Options { o := Options{Contain: true}; o.hooks.noPIDNS = true; return o }},
		{"sandbox", func(i int) Options {
			return Options{Sandbox: &Sandbox{Overlay: []string{tree}, Scratch: filepath.Join(base, fmt.Sprint("s", i)), PrivateNetwork: true}}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				res, err := Run(context.Background(), Command{Path: "/bin/true"}, c.opts(i))
				if err != nil || !res.Exit.Success() {
					b.Fatalf("%v %v", res, err)
				}
			}
		})
	}
}
