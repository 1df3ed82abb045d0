package datadir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
)

func TestLoupeDB(t *testing.T) {
	project := filepath.Dir(testutil.LoupeDB(t)) // data/
	t.Setenv(Env, project)
	got, err := LoupeDB()
	if err != nil || got != filepath.Join(project, "loupedb") {
		t.Errorf("LoupeDB() = %q, %v; want %s/loupedb", got, err, project)
	}

	empty := t.TempDir()
	os.MkdirAll(filepath.Join(empty, "loupedb"), 0o755) // no apps/: not the data
	t.Setenv(Env, empty)
	if _, err := os.Stat(filepath.Join(Installed, "loupedb", "apps")); err == nil {
		t.Skipf("%s is installed here: the not-found case cannot be tested", Installed)
	}
	_, err = LoupeDB()
	if err == nil || !strings.Contains(err.Error(), filepath.Join(empty, "loupedb")) || !strings.Contains(err.Error(), Env) {
		t.Errorf("error %v: want where it looked and %s", err, Env)
	}
}

func TestOSFiles(t *testing.T) {
	t.Setenv(Env, filepath.Dir(testutil.LoupeDB(t)))
	names, paths, err := OSFiles()
	if err != nil {
		t.Fatal(err)
	}
	want := "Browsix Freebsd Fuchsia Graphene Gvisor Hermitux Kerla LinuxNoLibc Osv Unikraft Zephyr"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("OS names %q, want %q", got, want)
	}
	for i, p := range paths {
		if filepath.Base(p) != names[i]+OSSuffix {
			t.Errorf("%s: path %s", names[i], p)
		}
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}
