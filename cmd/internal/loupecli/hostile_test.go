package loupecli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/debhelper"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the expected errors of testdata/hostile (*.want)")

// TestHostileInputs feeds every file of testdata/hostile to the reader a
// user would reach it through, and compares what loupe says (exit status
// and stderr, or the error dh_loupe prints) with the file's .want: the
// exact error each hostile input must produce. Every input must be refused
// or warned about. See testdata/hostile/README.md.
func TestHostileInputs(t *testing.T) {
	root, err := filepath.Abs("../../../testdata/hostile")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root) // messages then name files as testdata/hostile/README.md does
	okDataset := filepath.Join(t.TempDir(), "ok.dataset.json")
	os.WriteFile(okDataset, []byte(`{"schema":"loupe/dataset/v1","entries":[{"name":"sed","origin":"verdict","architecture":"amd64","status":"ok","mode":"analyze","syscalls":{"required":["read"]},"provenance":[]}]}`), 0o644)
	cli := func(args ...string) string {
		_, stderr, code := run(t, args...)
		return fmt.Sprintf("exit %d\n%s", code, stderr)
	}
	readers := map[string]func(path string) string{
		"verdicts": func(p string) string { return cli("db", "--strict", "-o", "/dev/null", p) },
		"changes":  func(p string) string { return cli("db", "--strict", "-o", "/dev/null", p) },
		"simulations": func(p string) string {
			return cli("db", "--strict", "-o", "/dev/null", p)
		},
		"datasets": func(p string) string { return cli("plan", "--os", "/dev/null", "-o", "/dev/null", p) },
		"os":       func(p string) string { return cli("plan", "--os", p, "-o", "/dev/null", okDataset) },
		"costs": func(p string) string {
			return cli("plan", "--os", "/dev/null", "--cost", p, "-o", "/dev/null", okDataset)
		},
		"sources": func(p string) string {
			return cli("rebuild", "--chroot", "/nonexistent", "--dh-loupe-deb", "/nonexistent", "--out", "/nonexistent/out", "--list", p)
		},
		"configs": func(p string) string {
			b, _ := os.ReadFile(p)
			_, err := debhelper.ParseConfig(debhelper.ConfigFile, b, []string{"foo", "foo-doc"})
			return fmt.Sprintf("%v\n", err)
		},
		"buildopts": func(p string) string {
			b, _ := os.ReadFile(p)
			s := debhelper.ResolveSettings([]string{"DEB_BUILD_OPTIONS=" + strings.TrimSpace(string(b))}, nil, nil)
			var out strings.Builder
			for _, e := range s.Problems {
				fmt.Fprintf(&out, "%v\n", e)
			}
			fmt.Fprintf(&out, "traced: %v\n", s.Traced())
			return out.String()
		},
	}
	dirs, _ := os.ReadDir(".")
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		read, ok := readers[d.Name()]
		if !ok {
			t.Errorf("testdata/hostile/%s: no reader for this kind of input in this test", d.Name())
			continue
		}
		files, _ := filepath.Glob(filepath.Join(d.Name(), "*"))
		sort.Strings(files)
		for _, f := range files {
			if strings.HasSuffix(f, ".want") {
				continue
			}
			n++
			t.Run(f, func(t *testing.T) {
				got := read(f)
				if strings.HasPrefix(got, "exit 0\n") && !strings.Contains(got, "warning:") || got == "<nil>\n" || strings.HasSuffix(got, "traced: true\n") {
					t.Errorf("%s was accepted without a word:\n%s", f, got)
				}
				testutil.Golden(t, f+".want", []byte(got), *update)
			})
		}
	}
	if n < 60 {
		t.Errorf("only %d hostile inputs found", n)
	}
}
