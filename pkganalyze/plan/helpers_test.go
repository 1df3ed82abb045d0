package plan

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
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
		tmp := filepath.Join(t.TempDir(), "got")
		os.WriteFile(tmp, got, 0o644)
		diff, _ := exec.Command("diff", "-u", path, tmp).CombinedOutput()
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, diff)
	}
}

// sharedDB locates ../shared/loupedb beside the repository (where CI has it).
func sharedDB(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "..", "shared", "loupedb")
			if _, err := os.Stat(filepath.Join(p, "apps")); err != nil {
				t.Skipf("upstream loupedb data not found at %s (it lives in shared/ beside the repository): %v", p, err)
			}
			return p
		}
	}
	t.Fatal("go.mod not found above " + wd)
	return ""
}
