package integration

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// TestVerdictSizeBudget: helpers-loupe ships three tools, and its suite
// runs 300 test helpers (one build copied under 300 names, as gnulib's
// suites run hundreds of test programs); helpers-loupe-doc ships no
// executable. The tools' verdict lists every helper by path and process
// count only, within 100 KB (the helpers' syscalls are on request:
// helpers=full); the -doc verdict is not-exercised and lists none.
func TestVerdictSizeBudget(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	tr := newTree(t, "helpers-loupe")
	tr.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=trace")
	size := func(name string) int64 {
		fi, err := os.Stat(filepath.Join(tr.Top, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	const arch, doc = "helpers-loupe_1.0_amd64.loupe.yaml", "helpers-loupe-doc_1.0_all.loupe.yaml"
	f, d := tr.verdict(arch), tr.verdict(doc)
	t.Logf("%s: %d bytes; %s: %d bytes", arch, size(arch), doc, size(doc))

	if f.Status != verdict.StatusOK || len(f.Binaries) != 3 || len(f.Helpers) != 301 {
		t.Fatalf("%s: status %s, %d binaries, %d helpers", arch, f.Status, len(f.Binaries), len(f.Helpers))
	}
	for _, b := range []string{"/usr/bin/hl-upper", "/usr/bin/hl-lower", "/usr/bin/hl-count"} {
		if e := binary(f, b); e == nil || len(e.Syscalls) == 0 {
			t.Errorf("%s: %+v", b, e)
		}
	}
	for _, h := range f.Helpers {
		if h.Processes < 1 || len(h.Syscalls)+len(h.Features)+len(h.PseudoFiles) != 0 {
			t.Fatalf("helper %s: %d processes, %d syscalls (want compact)", h.Path, h.Processes, len(h.Syscalls))
		}
	}
	if helper(f, "tests/h/test-300") == nil {
		t.Error("helper tests/h/test-300 missing")
	}
	if s := size(arch); s > 100<<10 {
		t.Errorf("%s is %d bytes, over the budget of 100 KB", arch, s)
	}

	if d.Status != verdict.StatusNotExercised || d.Reason != "helpers-loupe-doc ships no executable" ||
		len(d.Binaries) != 0 || len(d.Helpers) != 0 ||
		!reflect.DeepEqual(d.Evidence, []string{"the test step ran 301 test helpers; they are not listed, since helpers-loupe-doc ships no executable"}) {
		t.Errorf("%s: status %s (%s), %d binaries, %d helpers, evidence %q", doc, d.Status, d.Reason, len(d.Binaries), len(d.Helpers), d.Evidence)
	}
	if s := size(doc); s > 4<<10 {
		t.Errorf("%s is %d bytes, over the budget of 4 KB", doc, s)
	}
}
