package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// Golden compares got with the file at path, or rewrites the file when
// update is set (each package's -update flag).
func Golden(t *testing.T, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, Diff(t, want, got))
	}
}

// Diff returns a unified diff of want and got (diff -u).
func Diff(t *testing.T, want, got []byte) string {
	t.Helper()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "want"), filepath.Join(dir, "got")
	os.WriteFile(a, want, 0o644)
	os.WriteFile(b, got, 0o644)
	out, _ := exec.Command("diff", "-u", a, b).CombinedOutput()
	return string(out)
}

// LoupeDB returns the project's copy of the upstream loupedb data,
// data/loupedb (found above the test's directory). The data is part of the
// project: the test fails if it is missing.
func LoupeDB(t testing.TB) string {
	t.Helper()
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "data", "loupedb")
			if _, err := os.Stat(filepath.Join(p, "apps")); err != nil {
				t.Fatalf("the bundled loupedb data is missing: %v (it is part of the project, data/loupedb)", err)
			}
			return p
		}
	}
	t.Fatalf("go.mod not found above %s", wd)
	return ""
}

// DocSection checks that the section of a generated document between
// "<!-- BEGIN name -->" and "<!-- END name -->" reads want, or rewrites
// it when update is set. pkg names the package whose -update regenerates
// it, for the error message. Run -update one package at a time where two
// packages generate sections of the same file.
func DocSection(t *testing.T, file, name, want string, update bool, pkg string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- BEGIN "+name+" -->\n", "<!-- END "+name+" -->"
	i := strings.Index(string(data), begin)
	j := strings.Index(string(data), end)
	if i < 0 || j < i {
		t.Fatalf("%s: markers %q ... %q not found", file, begin, end)
	}
	if string(data[i+len(begin):j]) == want {
		return
	}
	if !update {
		t.Fatalf("%s: section %q is stale; run go test %s -update", file, name, pkg)
	}
	out := string(data[:i+len(begin)]) + want + string(data[j:])
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// SyscallNr is the amd64 number of a syscall the test names; an unknown
// name fails the test.
func SyscallNr(t testing.TB, name string) int {
	t.Helper()
	n, err := sysent.AMD64.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
