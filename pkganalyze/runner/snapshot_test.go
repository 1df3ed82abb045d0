package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sampleTree(t *testing.T) string {
	tree := t.TempDir()
	writeFile(t, filepath.Join(tree, "a.txt"), "alpha\n")
	writeFile(t, filepath.Join(tree, "same-size.txt"), "1234\n")
	writeFile(t, filepath.Join(tree, "sub", "b.txt"), "beta\n")
	writeFile(t, filepath.Join(tree, "sub", "deep", "c.txt"), "gamma\n")
	writeFile(t, filepath.Join(tree, "gone", "d.txt"), "delta\n")
	writeFile(t, filepath.Join(tree, "becomes-dir"), "file\n")
	os.Chmod(filepath.Join(tree, "a.txt"), 0o600)
	os.Symlink("a.txt", filepath.Join(tree, "link"))
	os.Chmod(filepath.Join(tree, "sub"), 0o750)
	old := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, p := range []string{"a.txt", "same-size.txt", "sub/b.txt", "sub", "."} {
		os.Chtimes(filepath.Join(tree, p), old, old)
	}
	return tree
}

// scribble changes the tree in every way a test suite might.
func scribble(t *testing.T, tree string) {
	t.Helper()
	writeFile(t, filepath.Join(tree, "a.txt"), "changed content\n")
	// Same size, mtime put back: only ctime tells.
	p := filepath.Join(tree, "same-size.txt")
	fi, _ := os.Stat(p)
	os.WriteFile(p, []byte("5678\n"), 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	os.Remove(filepath.Join(tree, "sub", "b.txt"))
	os.RemoveAll(filepath.Join(tree, "gone"))
	writeFile(t, filepath.Join(tree, "new", "e.txt"), "new\n")
	writeFile(t, filepath.Join(tree, "sub", "deep", "f.txt"), "new too\n")
	os.Remove(filepath.Join(tree, "becomes-dir"))
	os.Mkdir(filepath.Join(tree, "becomes-dir"), 0o755)
	os.Remove(filepath.Join(tree, "link"))
	os.Symlink("sub/b.txt", filepath.Join(tree, "link"))
	os.Chmod(filepath.Join(tree, "sub"), 0o700)
	os.Rename(filepath.Join(tree, "sub", "deep", "c.txt"), filepath.Join(tree, "c-moved.txt"))
}

func TestSnapshotRestore(t *testing.T) {
	tree := sampleTree(t)
	before := treeState(t, tree)
	r := &Runner{cfg: Config{Dir: tree}, scratch: t.TempDir()}
	if err := r.takeSnapshot(); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		scribble(t, tree)
		if treeState(t, tree) == before {
			t.Fatal("scribble changed nothing")
		}
		if err := r.snap.restore(); err != nil {
			t.Fatal(err)
		}
		if after := treeState(t, tree); after != before {
			t.Fatalf("round %d: restored tree differs:\nbefore:\n%s\nafter:\n%s", round, before, after)
		}
	}
	// An untouched tree is left alone (no rewrite: ctimes do not move).
	fi1, _ := os.Stat(filepath.Join(tree, "sub", "deep", "c.txt"))
	if err := r.snap.restore(); err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(filepath.Join(tree, "sub", "deep", "c.txt"))
	if stateOf(fi1) != stateOf(fi2) {
		t.Error("restore rewrote an untouched file")
	}
}

// A loupe killed during a snapshot-mode run leaves a recovery file; the next
// runner restores the tree before anything else.
func TestSnapshotRecoveryAfterKill(t *testing.T) {
	tree := sampleTree(t)
	before := treeState(t, tree)
	rec := filepath.Join(t.TempDir(), "recovery.json")
	cfg := Config{Command: []string{"/bin/true"}, Dir: tree, Binaries: []string{"/bin/true"}, Isolation: Snapshot, RecoveryFile: rec}
	r1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r1.markDirty(true); err != nil {
		t.Fatal(err)
	}
	scribble(t, tree)
	// r1 is "killed": no restore, no Close.
	r2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if after := treeState(t, tree); after != before {
		t.Fatalf("tree not recovered:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := os.Stat(rec); !os.IsNotExist(err) {
		t.Errorf("recovery file left: %v", err)
	}
	if _, err := os.Stat(r1.scratch); !os.IsNotExist(err) {
		t.Errorf("the killed runner's scratch %s was not removed", r1.scratch)
	}
	if n := strings.Join(r2.Notes(), " "); !strings.Contains(n, "restored") {
		t.Errorf("notes %q do not say the tree was restored", n)
	}
}

func TestScratchOutsideOverlays(t *testing.T) {
	tree := t.TempDir()
	_, err := New(Config{Command: []string{"/bin/true"}, Dir: tree, Binaries: []string{"/bin/true"}, Scratch: filepath.Join(tree, "scratch")})
	if err == nil || !strings.Contains(err.Error(), "inside") {
		t.Errorf("scratch inside the tree: %v", err)
	}
	r, err := New(Config{Command: []string{"/bin/true"}, Dir: tree, Binaries: []string{"/bin/true"}})
	if err != nil {
		t.Fatal(err)
	}
	if under(r.scratch, tree) || under(r.scratch, "/tmp") {
		t.Errorf("default scratch %s is inside an overlaid directory", r.scratch)
	}
	r.Close()
	if _, err := os.Stat(r.scratch); !os.IsNotExist(err) {
		t.Errorf("Close left %s", r.scratch)
	}
}

func TestRunEnv(t *testing.T) {
	env := runEnv([]string{"PATH=/bin", "HOME=/root", "TMPDIR=/x", "LANG=C"}, "/s/home", "/s/tmp")
	got := strings.Join(env, " ")
	if got != "PATH=/bin LANG=C HOME=/s/home TMPDIR=/s/tmp" {
		t.Errorf("runEnv = %s", got)
	}
}

// Preserve'd directories survive restores as they are: what loupe writes
// there during the runs (dh_loupe's journal) is neither removed nor
// reverted, while the rest of the tree is restored.
func TestSnapshotPreserve(t *testing.T) {
	tree := sampleTree(t)
	writeFile(t, filepath.Join(tree, "state", "journal"), "run 1\n")
	r := &Runner{cfg: Config{Dir: tree, Preserve: []string{filepath.Join(tree, "state"), "sub/deep"}}, scratch: t.TempDir()}
	if err := r.takeSnapshot(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(tree, "state", "journal"), "run 1\nrun 2\n")
	writeFile(t, filepath.Join(tree, "state", "new"), "x\n")
	writeFile(t, filepath.Join(tree, "sub", "deep", "kept.txt"), "y\n")
	writeFile(t, filepath.Join(tree, "a.txt"), "changed\n")
	writeFile(t, filepath.Join(tree, "created.txt"), "z\n")
	if err := r.snap.restore(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"state/journal": "run 1\nrun 2\n", "state/new": "x\n",
		"sub/deep/kept.txt": "y\n", "sub/deep/c.txt": "gamma\n", "a.txt": "alpha\n"} {
		if b, err := os.ReadFile(filepath.Join(tree, p)); err != nil || string(b) != want {
			t.Errorf("%s: got %q, %v; want %q", p, b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(tree, "created.txt")); err == nil {
		t.Error("created.txt survived the restore")
	}
}
