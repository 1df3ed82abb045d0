package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
)

// TestLoupeSourcePackageBuildsOffline builds loupe's own source package the
// way sbuild and the buildds do, with no network (unshare -n): the Go modules
// must come from vendor/. It then checks the two binary packages, lintian,
// and runs the autopkgtest (debian/tests) against the files of the built
// loupe package.
func TestLoupeSourcePackageBuildsOffline(t *testing.T) {
	needBuildTools(t)
	if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace to build offline (unshare -n: %v: %s); run as root", err, out)
	}
	out := t.TempDir()
	cmd := exec.Command("unshare", "-n", filepath.Join(repoRoot, "scripts/build-deb"), out)
	cmd.Env = append(buildEnv(), "GOFLAGS=", "GOPROXY=https://proxy.golang.org") // the rules must override both
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("offline package build failed: %v\n%s", err, tailOf(log, 4000))
	}
	debs := map[string]string{}
	for _, p := range []string{"loupe-syscalls", "dh-loupe"} {
		m, _ := filepath.Glob(filepath.Join(out, p+"_*_amd64.deb"))
		if len(m) != 1 {
			t.Fatalf("%s: %d .debs built, want 1 (%v)", p, len(m), m)
		}
		debs[p] = m[0]
	}
	field := func(deb, f string) string {
		b, err := exec.Command("dpkg-deb", "--field", deb, f).Output()
		if err != nil {
			t.Fatalf("dpkg-deb --field %s %s: %v", deb, f, err)
		}
		return strings.TrimSpace(string(b))
	}
	version := field(debs["loupe-syscalls"], "Version")
	for _, c := range []struct{ deb, field, want string }{
		{"dh-loupe", "Depends", "loupe-syscalls (= " + version + ")"},
		{"dh-loupe", "Provides", "dh-sequence-loupe"},
		{"dh-loupe", "Multi-Arch", "foreign"},
		{"loupe-syscalls", "Multi-Arch", "foreign"},
		{"loupe-syscalls", "Conflicts", "loupe"},
		{"loupe-syscalls", "Suggests", "sbuild"},
		{"loupe-syscalls", "Suggests", "mmdebstrap"},
	} {
		if got := field(debs[c.deb], c.field); !strings.Contains(got, c.want) {
			t.Errorf("%s %s: %q, want it to contain %q", c.deb, c.field, got, c.want)
		}
	}
	if strings.Contains(field(debs["loupe-syscalls"], "Depends"), "debhelper") {
		t.Errorf("loupe-syscalls depends on debhelper: an OS developer must be able to plan without it")
	}

	// dh_loupe_verdict is a link shipped by debian/links, not made by hand.
	root := t.TempDir()
	for _, deb := range debs {
		if b, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb -x %s: %v: %s", deb, err, b)
		}
	}
	if l, err := os.Readlink(filepath.Join(root, "usr/bin/dh_loupe_verdict")); err != nil || l != "dh_loupe" {
		t.Errorf("usr/bin/dh_loupe_verdict: link to %q (%v), want dh_loupe", l, err)
	}

	// The loupe package ships the hand-written loupe(1) and the bash
	// completion script.
	if b, err := exec.Command("sh", "-c", "zcat "+filepath.Join(root, "usr/share/man/man1/loupe.1.gz")).Output(); err != nil ||
		!strings.Contains(string(b), "EXIT STATUS") || !strings.Contains(string(b), "EXAMPLES") {
		t.Errorf("usr/share/man/man1/loupe.1.gz: %v, not the hand-written page:\n%.500s", err, b)
	}
	if b, err := os.ReadFile(filepath.Join(root, "usr/share/bash-completion/completions/loupe")); err != nil || !strings.Contains(string(b), "complete -F _loupe loupe") {
		t.Errorf("usr/share/bash-completion/completions/loupe: %v\n%.300s", err, b)
	}

	if _, err := exec.LookPath("lintian"); err == nil {
		changes, _ := filepath.Glob(filepath.Join(out, "loupe_*_amd64.changes"))
		l := exec.Command("lintian", "--fail-on", "error,warning", changes[0])
		if b, err := l.CombinedOutput(); err != nil {
			t.Errorf("lintian is not clean: %v\n%s", err, b)
		}
	} else {
		t.Log("lintian not installed: not checked (make deps installs it)")
	}

	// The autopkgtest, with the packaged loupe first in PATH.
	ptracetest.Require(t)
	at := exec.Command("sh", "debian/tests/trace-analyze")
	at.Dir = repoRoot
	at.Env = append(os.Environ(), "PATH="+filepath.Join(root, "usr/bin")+":"+os.Getenv("PATH"), "AUTOPKGTEST_TMP="+t.TempDir())
	if b, err := at.CombinedOutput(); err != nil {
		t.Fatalf("debian/tests/trace-analyze: %v\n%s", err, tailOf(b, 4000))
	}
}

func tailOf(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
