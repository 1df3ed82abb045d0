package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFileReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v.yaml")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", st.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("leftover files: %v", ents)
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "f"), []byte("x"), 0o644)
	if err == nil {
		t.Fatal("expected error")
	}
}

func TestWriteFileDeviceWrittenInPlace(t *testing.T) {
	if err := WriteFile(os.DevNull, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a character device: %v", os.DevNull, st.Mode())
	}
}

func TestWriteFileFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.yaml")
	link := filepath.Join(dir, "link.yaml")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.yaml", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("target content %q", b)
	}
}

// TestReplaceNeverFollows: a symlink planted where loupe writes (e.g.
// ../<pkg>_<ver>_<arch>.loupe.yaml) is replaced, its target untouched; a
// fifo planted there is replaced without blocking.
func TestReplaceNeverFollows(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	link := filepath.Join(dir, "v.loupe.yaml")
	os.Symlink(victim, link)
	if err := Replace(link, []byte("verdict"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the link is still there: %v %v", fi, err)
	}
	fifo := filepath.Join(dir, "f.loupe.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Replace(fifo, []byte("verdict"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(fifo); string(b) != "verdict" {
		t.Errorf("fifo not replaced: %q", b)
	}
	if err := Replace(dir, []byte("x"), 0o644); err == nil {
		t.Error("replaced a directory")
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for _, tt := range []struct {
		path string
		want string // "" for ok
	}{
		{filepath.Join(dir, "new.yaml"), ""},
		{file, ""},
		{os.DevNull, ""},
		{filepath.Join(dir, "no", "x.yaml"), "directory " + filepath.Join(dir, "no") + ": no such file or directory (create it first)"},
		{filepath.Join(file, "x.yaml"), "is not a directory"},
		{dir, "is a directory; name a file"},
		{"/proc/self/x.yaml", "cannot create files in /proc/self"},
		{"", "no file name given"},
	} {
		err := CheckWritable(tt.path)
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckWritable(%q) = %v, want %q", tt.path, err, tt.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("CheckWritable left files: %v", ents)
	}
}

func TestKeep(t *testing.T) {
	dir := t.TempDir()
	p, err := Keep("/nonexistent/x.yaml", []byte("data"), filepath.Join(dir, "missing"), dir)
	if err != nil || filepath.Dir(p) != dir || !strings.HasPrefix(filepath.Base(p), "loupe-kept-x-") || !strings.HasSuffix(p, ".yaml") {
		t.Fatalf("Keep: %q %v", p, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "data" {
		t.Errorf("kept %q", b)
	}
}

// TestReplaceFrom: a stream that fails half-way (a download cut off)
// leaves the old file and no temporary file; one that ends replaces it.
func TestReplaceFrom(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.changes")
	os.WriteFile(p, []byte("old"), 0o600)
	cut := errors.New("connection reset")
	err := ReplaceFrom(p, 0o644, func(w io.Writer) error {
		io.WriteString(w, "half")
		return cut
	})
	if !errors.Is(err, cut) {
		t.Fatalf("ReplaceFrom: %v, want the stream's error", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("a failed stream changed the file: %q", b)
	}
	if err := ReplaceFrom(p, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("content %q, want new", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("leftover files: %v", ents)
	}
}
