package exeid

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBuildIDMatchesReadelf(t *testing.T) {
	readelf, err := exec.LookPath("readelf")
	if err != nil {
		t.Skip("readelf (binutils) not installed")
	}
	out, err := exec.Command(readelf, "-n", "/bin/sh").Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Build ID: ([0-9a-f]+)`).FindSubmatch(out)
	if m == nil {
		t.Skip("/bin/sh has no build-id")
	}
	s, err := NewCache().Sums("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	if s.BuildID != string(m[1]) || !s.IsELF || s.Script {
		t.Fatalf("sums %+v, readelf says %s", s, m[1])
	}
}

func TestCacheHashesEachVersionOnce(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := NewCache()
	a, err := c.Sums(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := c.Sums(p); err != nil {
			t.Fatal(err)
		}
	}
	if c.Hashed() != 1 {
		t.Fatalf("hashed %d times", c.Hashed())
	}
	if !a.Script || a.IsELF || a.BuildID != "" || len(a.SHA256) != 64 {
		t.Fatalf("script sums %+v", a)
	}
	// A new version (different size) is hashed again.
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := c.Sums(p)
	if b.SHA256 == a.SHA256 || c.Hashed() != 2 {
		t.Fatalf("new version not rehashed: %d", c.Hashed())
	}
}

func TestSumsErrors(t *testing.T) {
	if _, err := NewCache().Sums(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("dir: %v", err)
	}
	if _, err := NewCache().Sums("/nonexistent/x"); err == nil {
		t.Fatal("missing file: no error")
	}
}
