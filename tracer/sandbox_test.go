package tracer

// Sandbox runs: private writes, start errors, unprivileged namespaces.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

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
