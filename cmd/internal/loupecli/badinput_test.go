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
