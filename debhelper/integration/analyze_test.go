package integration

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// TestAnalyzeKnownAnswer: loupe=analyze on limits-loupe, whose program has
// a known answer: it falls back when getrlimit (prlimit64) fails, so
// prlimit64 can be stubbed and faked, and it checks its write(2), so write
// is required. The experiments run in an overlay of the build tree: the
// .debs are byte-identical to those of a build without loupe. A second
// binary pass resumes every run from the state directory.
func TestAnalyzeKnownAnswer(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	tr := newTree(t, "limits-loupe")
	debs := []string{"limits-loupe_1.0_amd64.deb", "limits-loupe-dbgsym_1.0_amd64.deb"}
	epoch := "SOURCE_DATE_EPOCH=1704067200"
	tr.mustBuild([]string{"-b"}, epoch, "DEB_BUILD_OPTIONS=loupe=off")
	plain := tr.takeDebs(debs)
	dbo := "DEB_BUILD_OPTIONS=loupe=analyze,replicas=1"
	r := tr.mustBuild([]string{"-b"}, epoch, dbo)
	analyzed := tr.takeDebs(debs)
	for i := range debs {
		if !bytes.Equal(plain[i], analyzed[i]) {
			t.Errorf("%s differs between the builds with and without loupe=analyze", debs[i])
		}
	}

	name := "limits-loupe_1.0_amd64.loupe.yaml"
	if got := tr.verdicts(); !reflect.DeepEqual(got, []string{name}) {
		t.Fatalf("verdict files %v, want %s", got, name)
	}
	if got := tr.loupeEntries("limits-loupe_1.0_amd64.changes"); !reflect.DeepEqual(got, []string{name + " debug optional"}) {
		t.Errorf(".changes verdict entries %v", got)
	}
	f := tr.verdict(name)
	if f.Status != verdict.StatusOK || f.Mode != verdict.ModeAnalyze || f.Granularity != verdict.GranSyscalls ||
		f.Package != "limits-loupe" || f.Version != "1.0" || f.Architecture != "amd64" {
		t.Fatalf("header: status=%s (%s) mode=%s granularity=%s package=%s version=%s arch=%s",
			f.Status, f.Reason, f.Mode, f.Granularity, f.Package, f.Version, f.Architecture)
	}
	// The default strategy, adaptive, takes the confirmation's run from
	// an identical group run when it made one.
	if f.Workload.Replicas != 1 || f.Workload.Command[0] != "dh" || f.Runs.Baseline != 1 || f.Runs.Sensitivity != 1 ||
		f.Workload.Strategy != verdict.StrategyAdaptive || f.Runs.Experiments+f.Runs.Groups < 4 || f.Runs.Confirmation+f.Runs.Groups < 1 {
		t.Errorf("workload %+v, runs %+v", f.Workload, f.Runs)
	}
	if f.RunMetadata.Isolation == "" {
		t.Error("run_metadata.isolation is empty")
	}
	lim := binary(f, "/usr/bin/limits-loupe")
	if lim == nil || !lim.Shipped || lim.Package != "limits-loupe" || lim.BuildPath != "limits-loupe" {
		t.Fatalf("limits-loupe entry: %+v (binaries: %v)", lim, paths(f))
	}
	got := map[string]string{}
	for _, s := range lim.Syscalls {
		got[s.Name] = outcome(s)
	}
	want := map[string]string{"prlimit64": "stub+fake", "write": "required"}
	for sc, w := range want {
		if got[sc] != w {
			t.Errorf("%s: %q, want %q (all: %v)", sc, got[sc], w, got)
		}
	}
	// The test script is a test helper: listed from the trace (Parse
	// rejects a helper with stub or fake results: never experimented on).
	if script := helper(f, "tests/run-tests"); script == nil || len(f.Helpers) != 1 || len(f.Binaries) != 1 {
		t.Errorf("test helper tests/run-tests: %+v; binaries %v", script, paths(f))
	}
	wantSummary := fmt.Sprintf("loupe: limits-loupe status=ok mode=analyze syscalls=%d", len(lim.Syscalls))
	if s := summaries(r.Out); !reflect.DeepEqual(s, []string{wantSummary}) {
		t.Errorf("summary lines %q, want just %q", s, wantSummary)
	}
	// A build log is not a terminal: plain progress lines.
	if !regexp.MustCompile(`(?m)^dh_loupe_verdict: limits-loupe: runs \d+/\d+, units settled \d+/\d+`).MatchString(r.Out) ||
		strings.Contains(r.Out, "\x1b[K") {
		t.Errorf("the build log has no plain progress line:\n%s", tail(r.Out, 40))
	}
	// Which units run alone and which in groups (whose names the log
	// shortens) depends on the bundled priors: any experiment will do.
	if !regexp.MustCompile(`dh_loupe_verdict: limits-loupe: (experiment|group) \S+=(stub|fake)`).MatchString(r.Out) {
		t.Errorf("the build log does not show the experiments:\n%s", tail(r.Out, 40))
	}

	// The binary pass again: every run comes from the state directory
	// (debian/.debhelper/loupe), with the same verdict.
	if c := tr.run([]string{"debian/rules", "binary"}, epoch, dbo); c.Code != 0 {
		t.Fatalf("debian/rules binary again: %d\n%s", c.Code, tail(c.Out, 40))
	}
	again := tr.verdict(name)
	if again.RunMetadata.ResumedRuns != f.Runs.Total || again.Runs != f.Runs || again.Status != verdict.StatusOK {
		t.Errorf("resume: %d of %d runs from the state directory; runs %+v, want %+v; status %s",
			again.RunMetadata.ResumedRuns, f.Runs.Total, again.Runs, f.Runs, again.Status)
	}
}

// outcome sums up one syscall's verdict.
func outcome(s verdict.Syscall) string {
	switch {
	case s.Required:
		return "required"
	case s.Stub != nil && *s.Stub && s.Fake != nil && *s.Fake:
		return "stub+fake"
	case s.Stub != nil && *s.Stub:
		return "stub"
	case s.Fake != nil && *s.Fake:
		return "fake"
	}
	return "untested"
}

// TestCompat9: a package in debhelper compat 9 (pcre2 10.42 in bookworm
// is one), rebuilt with DH_EXTRA_ADDONS. dpkg-buildpackage runs "debian/rules
// build", then "debian/rules binary", whose dh starts after the last command
// of its sequence in the debhelper logs: unless dh_loupe is logged, it runs
// again there, the inner dh skips the logged dh_auto_test, and the empty
// second trace replaced the first (not-exercised). The analysis' re-runs of
// "dh loupe-test" must run dh_auto_test although it is logged.
func TestCompat9(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	tr := newTree(t, "limits-loupe")
	tr.undeclare()
	// Without Rules-Requires-Root (compat 9 packages predate it),
	// dpkg-buildpackage runs "debian/rules build", then "debian/rules
	// binary" (under fakeroot unless root).
	tr.edit("debian/control", func(s string) string {
		s = strings.Replace(s, "Rules-Requires-Root: no\n", "", 1)
		return strings.Replace(s, "debhelper-compat (= 13)", "debhelper (>= 9)", 1)
	})
	tr.edit("debian/compat", func(string) string { return "9\n" })
	name := "limits-loupe_1.0_amd64.loupe.yaml"
	for _, tc := range []struct {
		opts string
		mode verdict.Mode
		want map[string]string
	}{
		{"trace", verdict.ModeTrace, map[string]string{"prlimit64": "untested", "write": "untested"}},
		{"analyze,replicas=1", verdict.ModeAnalyze, map[string]string{"prlimit64": "stub+fake", "write": "required"}},
	} {
		r := tr.mustBuild([]string{"-b"}, "DH_EXTRA_ADDONS=loupe", "DEB_BUILD_OPTIONS=loupe="+tc.opts)
		if !strings.Contains(r.Out, "Compatibility levels before 10 are deprecated (level 9 in use)") ||
			!strings.Contains(r.Out, " debian/rules build\n") {
			t.Fatalf("loupe=%s: not a compat 9 build with separate build and binary targets:\n%s", tc.opts, tail(r.Out, 40))
		}
		if n := strings.Count(r.Out, "dh_loupe: traced the test step"); n != 1 {
			t.Errorf("loupe=%s: the test step was traced %d times, want once (debian/rules build only):\n%s", tc.opts, n, tail(r.Out, 60))
		}
		f := tr.verdict(name)
		if f.Status != verdict.StatusOK || f.Mode != tc.mode {
			t.Fatalf("loupe=%s: status %s (%s), mode %s", tc.opts, f.Status, f.Reason, f.Mode)
		}
		lim := binary(f, "/usr/bin/limits-loupe")
		if lim == nil {
			t.Fatalf("loupe=%s: no /usr/bin/limits-loupe in %v", tc.opts, paths(f))
		}
		got := map[string]string{}
		for _, s := range lim.Syscalls {
			got[s.Name] = outcome(s)
		}
		for sc, w := range tc.want {
			if got[sc] != w {
				t.Errorf("loupe=%s: %s: %q, want %q (all: %v)", tc.opts, sc, got[sc], w, got)
			}
		}
	}
}
