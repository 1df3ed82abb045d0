package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
)

// TestDemo runs make demo's script (scripts/demo-dh): the example package
// built with loupe=analyze, what its shipped binary needs by class, a plan
// for a bundled OS file, and the path of an HTML report. Its time is
// printed by the demo itself (the issue asks for about a minute on 2 cores).
func TestDemo(t *testing.T) {
	needBuildTools(t)
	ptracetest.Require(t)
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(repoRoot, "scripts/demo-dh"), binDir)
	cmd.Env = append(buildEnv(), "LOUPE_DEMO_OUT="+out)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, tailOf(b, 4000))
	}
	s := string(b)
	t.Logf("\n%s", s)
	for _, want := range []string{
		"== 1. DEB_BUILD_OPTIONS=loupe=analyze dpkg-buildpackage",
		"loupe: hello-loupe status=ok mode=analyze",
		"/usr/bin/hello-loupe: ",
		"required (implement):   read write",
		"stub or fake:",
		"Support plan for Kerla (implements 58,",
		"unlocks:   hello-loupe",
		"open " + filepath.Join(out, "report.html"),
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if strings.Contains(s, "tests/probe") {
		t.Error("the demo lists a test helper as a binary the package needs")
	}
	rep, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !strings.Contains(string(rep), "hello-loupe") || !strings.Contains(string(rep), "Relative to <b>Kerla</b>") {
		t.Errorf("report.html: %v", err)
	}
}
