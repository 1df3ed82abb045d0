package subfeature

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// gcc returns the path of gcc. The README installs it (make deps), so its
// absence is a broken setup: the test fails rather than skips.
func gcc(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatalf("gcc not found (%v): install it with `make deps` (scripts/install-deps)", err)
	}
	return p
}

// TestGeneratedValuesMatchGCC compiles testdata/values.c, which prints
// syscall stops built from libc's headers with the key each must decode to,
// and checks Decode on every one. It catches a stale or wrong zvalues file
// and a wrong table row alike.
func TestGeneratedValuesMatchGCC(t *testing.T) {
	cc := gcc(t)
	d := For(runtime.GOARCH)
	if d == nil {
		t.Skipf("no generated values for %s", runtime.GOARCH)
	}
	sys := sysent.ForArch(runtime.GOARCH)
	bin := filepath.Join(t.TempDir(), "values")
	if out, err := exec.Command(cc, "-Wall", "-Werror", "-o", bin, "testdata/values.c").CombinedOutput(); err != nil {
		t.Fatalf("compile testdata/values.c: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("run values: %v", err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 8 {
			t.Fatalf("bad line %q", sc.Text())
		}
		nr, _ := strconv.Atoi(f[0])
		var args [6]uint64
		for i := range args {
			args[i], _ = strconv.ParseUint(f[1+i], 10, 64)
		}
		want := f[7]
		if name, _, _ := strings.Cut(want, ":"); sys.Name(nr) != name {
			t.Errorf("syscall %d is %s in libc's headers, %s in sysent", nr, name, sys.Name(nr))
			continue
		}
		got, ok := d.Decode(nr, args, nil)
		if !ok || got != want {
			t.Errorf("Decode(%s, %#x) = %q, %v; want %q", want, args, got, ok, want)
		}
		n++
	}
	if n < 50 {
		t.Fatalf("only %d cases ran", n)
	}
	t.Logf("%d stops checked", n)
}

// TestGeneratedFileUpToDate reruns the generator and compares its output
// with the committed zvalues file, so that a header upgrade that changes
// names is noticed. The header-version comment line is not compared.
func TestGeneratedFileUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerating the values takes a few seconds; TestGeneratedValuesMatchGCC covers a sample in -short")
	}
	gcc(t)
	committed := "zvalues_" + runtime.GOARCH + ".go"
	want, err := os.ReadFile(committed)
	if os.IsNotExist(err) {
		t.Skipf("no generated values for %s", runtime.GOARCH)
	}
	if err != nil {
		t.Fatal(err)
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out := filepath.Join(t.TempDir(), committed)
	cmd := exec.Command(goBin, "run", "mkvalues.go", "-arch", runtime.GOARCH, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run mkvalues.go: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(b []byte) string {
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "// Headers:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if strip(got) != strip(want) {
		gl, wl := strings.Split(strip(got), "\n"), strings.Split(strip(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s is stale (run go generate ./internal/subfeature); first difference at line %d:\n committed: %s\n generated: %s",
					committed, i+1, w, g)
			}
		}
	}
}
