package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// TestStandIn: standin-loupe's suite runs only standin-loupe-debug, a static
// debug build that is not installed. debian/loupe.yaml declares it the
// stand-in of /usr/bin/standin-loupe: in analyze mode it is the binary
// under intervention, and its results (limits-loupe's known answer) go to
// /usr/bin/standin-loupe's entry, with stand_in recorded. Without the
// declaration, the verdict is not-exercised and says to declare it.
func TestStandIn(t *testing.T) {
	needBuildTools(t)
	name := "standin-loupe_1.0_amd64.loupe.yaml"
	t.Run("declared, analyze", func(t *testing.T) {
		t.Parallel()
		tr := newTree(t, "standin-loupe")
		r := tr.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=analyze,replicas=1")
		f := tr.verdict(name)
		if f.Status != verdict.StatusOK || f.Mode != verdict.ModeAnalyze || f.Runs.Experiments < 4 {
			t.Fatalf("status %s (%s), mode %s, runs %+v", f.Status, f.Reason, f.Mode, f.Runs)
		}
		b := binary(f, "/usr/bin/standin-loupe")
		if b == nil || !b.Shipped || b.Package != "standin-loupe" || b.StandIn != "standin-loupe-debug" ||
			b.BuildPath != "standin-loupe-debug" || b.Processes != 1 {
			t.Fatalf("standin-loupe entry: %+v (binaries: %v)", b, paths(f))
		}
		got := map[string]string{}
		for _, s := range b.Syscalls {
			got[s.Name] = outcome(s)
		}
		for sc, w := range map[string]string{"prlimit64": "stub+fake", "write": "required"} {
			if got[sc] != w {
				t.Errorf("%s: %q, want %q (all: %v)", sc, got[sc], w, got)
			}
		}
		if len(f.Binaries) != 1 || helper(f, "tests/run-tests") == nil || len(f.Helpers) != 1 || len(f.Evidence) != 0 {
			t.Errorf("binaries %v, evidence %q", paths(f), f.Evidence)
		}
		// Alone or in a group (whose name the log shortens), as the
		// bundled priors decide: prlimit64's verdict above says it ran.
		if !regexp.MustCompile(`dh_loupe_verdict: standin-loupe: (experiment|group) \S+=(stub|fake)`).MatchString(r.Out) {
			t.Errorf("the build log does not show the experiments on the stand-in:\n%s", tail(r.Out, 40))
		}
	})
	t.Run("undeclared", func(t *testing.T) {
		t.Parallel()
		tr := newTree(t, "standin-loupe")
		if err := os.Remove(filepath.Join(tr.Src, "debian/loupe.yaml")); err != nil {
			t.Fatal(err)
		}
		r := tr.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=trace")
		f := tr.verdict(name)
		wantReason := "the test step ran none of the executables standin-loupe ships; it ran standin-loupe-debug, " +
			"which looks like a test build of /usr/bin/standin-loupe: declare a stand-in (see evidence)"
		wantEvidence := []string{"/usr/bin/standin-loupe did not run, but the test step ran standin-loupe-debug, which looks like a test build of it: " +
			"if it is, declare it in debian/loupe.yaml (stand-ins: {standin-loupe-debug: /usr/bin/standin-loupe})"}
		if f.Status != verdict.StatusNotExercised || f.Reason != wantReason || !reflect.DeepEqual(f.Evidence, wantEvidence) {
			t.Errorf("status %s\nreason   %q\nevidence %q", f.Status, f.Reason, f.Evidence)
		}
		h := helper(f, "standin-loupe-debug")
		if h == nil || h.Note != "looks like a test build of /usr/bin/standin-loupe (declare a stand-in)" || len(f.Binaries) != 0 {
			t.Errorf("helper %+v, binaries %v", h, paths(f))
		}
		if !strings.Contains(r.Out, "dh_loupe_verdict: standin-loupe: "+wantReason) {
			t.Errorf("the build log does not say why:\n%s", tail(r.Out, 30))
		}
	})
}

// TestLibtool: libtool-loupe is built with autoreconf, configure and real
// libtool; greet is linked against an uninstalled libtool library, so make
// check (automake's test driver) runs libtool's wrapper script ./greet,
// which runs .libs/greet. The wrapped binary is /usr/bin/greet: it is the
// one under intervention, and the wrapper, whose processes run the shell,
// is a test helper that says whose wrapper it is.
func TestLibtool(t *testing.T) {
	needBuildTools(t)
	for _, c := range []string{"autoreconf", "libtoolize", "automake"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s not found: libtool-loupe needs autoconf, automake and libtool (scripts/install-deps)", c)
		}
	}
	t.Parallel()
	tr := newTree(t, "libtool-loupe")
	tr.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=analyze,replicas=1,jobs=2")
	f := tr.verdict("libtool-loupe_1.0_amd64.loupe.yaml")
	if f.Status != verdict.StatusOK || f.Mode != verdict.ModeAnalyze {
		t.Fatalf("status %s (%s), mode %s", f.Status, f.Reason, f.Mode)
	}
	g := binary(f, "/usr/bin/greet")
	if g == nil || !g.Shipped || !strings.HasPrefix(g.BuildPath, ".libs/") || g.StandIn != "" || len(f.Binaries) != 1 {
		t.Fatalf("greet entry: %+v (binaries: %v)", g, paths(f))
	}
	stubbable := 0
	for _, s := range g.Syscalls {
		if s.Stub == nil || s.Fake == nil {
			t.Errorf("greet's %s was not experimented on", s.Name)
		}
		if s.Name == "write" && !s.Required {
			t.Error("greet checks its output: write must be required")
		}
		if !s.Required {
			stubbable++
		}
	}
	if stubbable == 0 {
		t.Errorf("no syscall of greet can be stubbed or faked: %v", syscallNames(g))
	}
	w := helper(f, "greet")
	if want := fmt.Sprintf("libtool wrapper script of %s (its processes run the shell)", g.BuildPath); w == nil || w.Note != want {
		t.Errorf("wrapper helper %+v, want note %q", w, want)
	}
}
