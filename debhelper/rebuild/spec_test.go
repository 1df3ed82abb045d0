package rebuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunRefusesBadSources: a SOURCE that is not a source package name,
// name_version or an existing .dsc is refused before anything is built or
// removed. Before the fix, "." removed OUT/pkgs and ".." removed OUT itself
// (journal included) when the build failed.
func TestRunRefusesBadSources(t *testing.T) {
	tmp := t.TempDir()
	dscDir := filepath.Join(tmp, "dir.dsc")
	os.Mkdir(dscDir, 0o755)
	for _, d := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(tmp, d), 0o755)
		os.WriteFile(filepath.Join(tmp, d, "hello_1.0.dsc"), []byte("x"), 0o644)
	}
	tests := []struct {
		specs []string
		want  string
	}{
		{[]string{"."}, `"." is not a Debian source package name`},
		{[]string{".."}, `".." is not a Debian source package name`},
		{[]string{""}, `"" is not a Debian source package name`},
		{[]string{"../x"}, `"../x" is not a Debian source package name`},
		{[]string{"foo/bar"}, `"foo/bar" is not a Debian source package name`},
		{[]string{"/etc"}, `"/etc" is not a Debian source package name`},
		{[]string{"-x"}, `"-x" is not a Debian source package name`},
		{[]string{"Hello"}, `"Hello" is not a Debian source package name`},
		{[]string{"h"}, `"h" is not a Debian source package name`},
		{[]string{"hello_../.."}, `"../.." is not a Debian version`},
		{[]string{"hello_1.0/x"}, `"1.0/x" is not a Debian version`},
		{[]string{filepath.Join(tmp, "missing_1.0.dsc")}, "no such file or directory"},
		{[]string{dscDir}, "not a regular .dsc file"},
		{[]string{"hello", "hello"}, `source "hello": listed twice`},
		{[]string{filepath.Join(tmp, "a", "hello_1.0.dsc"), filepath.Join(tmp, "b", "hello_1.0.dsc")}, "would both build in pkgs/hello_1.0"},
	}
	for _, tt := range tests {
		out := filepath.Join(t.TempDir(), "out")
		keep := []string{filepath.Join(out, JournalName), filepath.Join(out, "pkgs", "done", "done_1.0_amd64.changes")}
		for _, k := range keep {
			os.MkdirAll(filepath.Dir(k), 0o755)
			os.WriteFile(k, []byte("{}\n"), 0o644)
		}
		b := &replay{}
		_, err := Run(context.Background(), b, tt.specs, Options{Out: out})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err %v, want %q", tt.specs, err, tt.want)
		}
		if len(b.calls) > 0 {
			t.Errorf("%q: built %v", tt.specs, b.calls)
		}
		for _, k := range keep {
			if _, err := os.Stat(k); err != nil {
				t.Errorf("%q: %v", tt.specs, err)
			}
		}
	}
	for _, ok := range []string{"hello", "hello_2.10-3", "hello_1:2.10-3", "g++-12", "libc6.1", filepath.Join(tmp, "a", "hello_1.0.dsc")} {
		if err := CheckSpecs([]string{ok}); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	if d, _ := PackageDir("/o", "hello_1:2.10-3"); d != "/o/pkgs/hello_1_2.10-3" {
		t.Errorf("PackageDir with an epoch: %s", d)
	}
}

// TestInspectChangesOutside: a .changes entry with "../" (the build can
// shape debian/files) is never read; it counts as a loupe error.
func TestInspectChangesOutside(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "pkgs", "p")
	os.MkdirAll(dir, 0o755)
	src := "testdata/outcomes/built-verdicts/"
	v, _ := os.ReadFile(src + "loupe-rebuild-ok_1.0_amd64.loupe.yaml")
	os.WriteFile(filepath.Join(top, "loupe-rebuild-ok_1.0_amd64.loupe.yaml"), v, 0o644)
	ch, _ := os.ReadFile(src + "loupe-rebuild-ok_1.0_amd64.changes")
	ch = []byte(strings.ReplaceAll(string(ch), " loupe-rebuild-ok_1.0_amd64.loupe.yaml", " ../../loupe-rebuild-ok_1.0_amd64.loupe.yaml"))
	os.WriteFile(filepath.Join(dir, "loupe-rebuild-ok_1.0_amd64.changes"), ch, 0o644)
	r := Inspect(dir)
	if r.Status != LoupeError || len(r.Binaries) != 1 || r.Binaries[0].Verdict != "" ||
		!strings.Contains(r.Binaries[0].Package, "not a file name beside the .changes") {
		t.Errorf("%s: %+v", r.Status, r.Binaries)
	}
}
