package loupecli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSbuild puts an sbuild that fails with status 2 first on PATH, and
// returns chroot and .deb files that exist, as rebuild's checks want.
func fakeSbuild(t *testing.T) (chroot, deb string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "sbuild"), []byte("#!/bin/sh\necho fake sbuild fails\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	chroot, deb = filepath.Join(bin, "chroot.tar"), filepath.Join(bin, "dh-loupe.deb")
	os.WriteFile(chroot, nil, 0o644)
	os.WriteFile(deb, nil, 0o644)
	return chroot, deb
}

// TestRebuildKeepsItsResults is the reproduction: with an sbuild
// that fails, "loupe rebuild ... .." removed OUT (journal, sbuild.conf,
// every package) and "." removed OUT/pkgs. Such sources are now refused
// with status 2 before anything is built, and OUT is intact.
func TestRebuildKeepsItsResults(t *testing.T) {
	chroot, deb := fakeSbuild(t)
	for _, src := range []string{"..", ".", "../..", "-x", "a/.."} {
		t.Run(src, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			marker := filepath.Join(out, "pkgs", "hello", "hello_1.0_amd64.loupe.yaml")
			os.MkdirAll(filepath.Dir(marker), 0o755)
			os.WriteFile(marker, []byte("kept"), 0o644)
			os.WriteFile(filepath.Join(out, "rebuild-journal.jsonl"), []byte(`{"spec":"hello","status":"built","dir":"x"}`+"\n"), 0o644)
			_, stderr, code := run(t, "rebuild", "--chroot", chroot, "--dh-loupe-deb", deb, "--out", out, "hello", src)
			if code != 2 || !strings.Contains(stderr, "is not a Debian source package name") {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			for _, p := range []string{marker, filepath.Join(out, "rebuild-journal.jsonl")} {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("lost: %v", err)
				}
			}
		})
	}
	// A valid name still builds (and fails, with the fake sbuild), in its
	// own directory only.
	out := filepath.Join(t.TempDir(), "out")
	other := filepath.Join(out, "pkgs", "other", "keep")
	os.MkdirAll(filepath.Dir(other), 0o755)
	os.WriteFile(other, nil, 0o644)
	stdout, stderr, code := run(t, "rebuild", "--chroot", chroot, "--dh-loupe-deb", deb, "--out", out, "hello")
	if code != 0 || !strings.Contains(stdout, "build-failed 1") {
		t.Errorf("valid source: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another package's directory was touched: %v", err)
	}
}

// TestCLIBounds: negative and absurd durations and counts are refused with
// status 2 and the accepted range, before anything runs. Before the fix
// --timeout=-1s ran the analysis with no per-run limit (and hung).
func TestCLIBounds(t *testing.T) {
	tmp := t.TempDir()
	marker := filepath.Join(tmp, "ran")
	workload := []string{"--", "sh", "-c", "touch " + marker}
	chroot, deb := fakeSbuild(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append([]string{"analyze", "--binary", "/bin/true", "--timeout=-1s"}, workload...), "analyze: --timeout -1s: want a duration such as 90s, 30m or 2h (at most 24h)"},
		{append([]string{"analyze", "--binary", "/bin/true", "--timeout=25h"}, workload...), "analyze: --timeout 25h0m0s: want"},
		{append([]string{"analyze", "--binary", "/bin/true", "--timeout=9999999999h"}, workload...), "invalid value"},
		{append([]string{"analyze", "--binary", "/bin/true", "--replicas=-1"}, workload...), "analyze: --replicas -1: want a whole number from 1 to 100"},
		{append([]string{"analyze", "--binary", "/bin/true", "--replicas=1000"}, workload...), "--replicas 1000: want a whole number from 1 to 100"},
		{append([]string{"analyze", "--binary", "/bin/true", "--jobs=0"}, workload...), "--jobs 0: want a whole number from 1 to 256"},
		{append([]string{"analyze", "--binary", "/bin/true", "--jobs=99999999999999999999"}, workload...), "invalid value"},
		{[]string{"rebuild", "--chroot", chroot, "--dh-loupe-deb", deb, "--out", filepath.Join(tmp, "out"), "--jobs=-1", "hello"}, "rebuild: --jobs -1: want a whole number from 1 to 256"},
		{[]string{"db", "--jobs=-4", tmp}, "db: --jobs -4: want a whole number from 0 to 256"},
	} {
		_, stderr, code := run(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the workload ran")
	}
	if _, err := os.Stat(filepath.Join(tmp, "out")); err == nil {
		t.Error("rebuild created its output directory")
	}
}
