package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// TestTraceShippedAndHelpers: a C program whose make check runs it from
// shell scripts next to a test helper that is not installed.
func TestTraceShippedAndHelpers(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	tr := newTree(t, "hello-loupe")
	r := tr.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=trace")

	name := "hello-loupe_1.0_amd64.loupe.yaml" // epoch 1: dropped from the name
	if got := tr.verdicts(); !reflect.DeepEqual(got, []string{name}) {
		t.Fatalf("verdict files %v, want %s", got, name)
	}
	f := tr.verdict(name)
	if f.Status != verdict.StatusOK || f.Mode != verdict.ModeTrace || f.Source != "hello-loupe" ||
		f.Package != "hello-loupe" || f.Version != "1:1.0" || f.Architecture != "amd64" {
		t.Errorf("header: status=%s mode=%s source=%s package=%s version=%s arch=%s",
			f.Status, f.Mode, f.Source, f.Package, f.Version, f.Architecture)
	}
	if f.Runs.Total != 1 || f.Workload.Command[0] != "dh" || f.Environment.Loupe == "" {
		t.Errorf("runs %+v, workload %+v, environment %+v", f.Runs, f.Workload, f.Environment)
	}
	hello := binary(f, "/usr/bin/hello-loupe")
	if hello == nil || !hello.Shipped || hello.Package != "hello-loupe" || hello.BuildPath != "hello-loupe" ||
		hello.BuildID == "" || hello.Processes != 3 {
		t.Fatalf("hello-loupe entry: %+v (binaries: %v)", hello, paths(f))
	}
	if sc := syscallNames(hello); !sc["uname"] || !sc["write"] || sc["sysinfo"] {
		t.Errorf("hello-loupe's syscalls must include uname and write but not the helper's sysinfo: %v", sc)
	}
	for _, s := range hello.Syscalls {
		if s.Stub != nil || s.Fake != nil {
			t.Errorf("trace mode: %s has stub/fake set", s.Name)
		}
	}
	mmap := false
	for _, ft := range hello.Features {
		mmap = mmap || strings.HasPrefix(ft.Key, "mmap:")
	}
	if !mmap {
		t.Errorf("hello-loupe's sub-features lack mmap:*: %+v", hello.Features)
	}
	// Test helpers: path and process count, no syscalls (helpers=full
	// would list them).
	probe := helper(f, "tests/probe")
	if probe == nil || probe.Processes != 3 || len(probe.Syscalls) != 0 {
		t.Errorf("test helper tests/probe: %+v", probe)
	}
	if script := helper(f, "tests/run-tests"); script == nil || script.Processes < 1 {
		t.Errorf("test script tests/run-tests: %+v", script)
	}
	// Nothing from outside the tree: not make, sh, perl, nor debhelper.
	if len(f.Binaries) != 1 || len(f.Helpers) != 2 {
		t.Errorf("binaries %v, want exactly hello-loupe, and the helpers tests/probe and tests/run-tests", paths(f))
	}

	// Registered with dpkg-distaddfile: in the .changes, debug optional.
	if got := tr.loupeEntries("hello-loupe_1.0_amd64.changes"); !reflect.DeepEqual(got, []string{name + " debug optional"}) {
		t.Errorf(".changes verdict entries %v", got)
	}
	want := fmt.Sprintf("loupe: hello-loupe status=ok mode=trace syscalls=%d", len(hello.Syscalls))
	if got := summaries(r.Out); !reflect.DeepEqual(got, []string{want}) {
		t.Errorf("summary lines %q, want %q", got, want)
	}
	// Working state lives in debian/.debhelper/loupe, which dh_clean removes.
	state := filepath.Join(tr.Src, "debian/.debhelper/loupe")
	if !exists(state) {
		t.Fatalf("no state in %s", state)
	}
	if c := tr.run([]string{"fakeroot", "debian/rules", "clean"}); c.Code != 0 || exists(state) {
		t.Errorf("debian/rules clean: code %d, state left: %v\n%s", c.Code, exists(state), tail(c.Out, 20))
	}
}

// TestDefaultIsInert: declaring the addon is not asking for loupe; a
// buildd build gets no verdicts and no tracing.
func TestDefaultIsInert(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	tr := newTree(t, "hello-loupe")
	r := tr.mustBuild([]string{"-b"})
	if v := tr.verdicts(); len(v) != 0 {
		t.Errorf("verdicts %v without a request", v)
	}
	if e := tr.loupeEntries("hello-loupe_1.0_amd64.changes"); len(e) != 0 {
		t.Errorf(".changes has %v", e)
	}
	if !strings.Contains(r.Out, "PASS: hello-loupe (3 tests)") {
		t.Error("the test suite did not run")
	}
	if s := summaries(r.Out); len(s) != 0 || strings.Contains(r.Out, "dh_loupe: ") {
		t.Errorf("loupe printed %q", s)
	}
	if exists(filepath.Join(tr.Src, "debian/.debhelper/loupe")) {
		t.Error("state written without a request")
	}
}

// TestNoCheck: nothing runs, nothing is traced; with a request the verdict
// says skipped.
func TestNoCheck(t *testing.T) {
	needBuildTools(t)
	for _, tc := range []struct {
		name    string
		args    []string
		env     []string
		verdict bool
	}{
		{"DEB_BUILD_OPTIONS", []string{"-b"}, []string{"DEB_BUILD_OPTIONS=nocheck loupe=trace"}, true},
		{"profile", []string{"-b", "-Pnocheck"}, []string{"DEB_BUILD_OPTIONS=loupe=trace"}, true},
		{"no request", []string{"-b"}, []string{"DEB_BUILD_OPTIONS=nocheck"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTree(t, "hello-loupe")
			r := tr.mustBuild(tc.args, tc.env...)
			if strings.Contains(r.Out, "PASS: hello-loupe") {
				t.Error("the test suite ran under nocheck")
			}
			if !strings.Contains(r.Out, `was omitted due to "DEB_BUILD_OPTIONS=nocheck"`) {
				t.Errorf("dh did not omit dh_auto_test as it does without loupe:\n%s", tail(r.Out, 40))
			}
			if strings.Contains(r.Out, "traced the test step") {
				t.Error("traced under nocheck")
			}
			if !tc.verdict {
				if v := tr.verdicts(); len(v) != 0 {
					t.Errorf("verdicts %v", v)
				}
				return
			}
			f := tr.verdict("hello-loupe_1.0_amd64.loupe.yaml")
			if f.Status != verdict.StatusSkipped || len(f.Binaries) != 0 {
				t.Errorf("status %s, binaries %v", f.Status, paths(f))
			}
			if e := tr.loupeEntries("hello-loupe_1.0_amd64.changes"); len(e) != 1 {
				t.Errorf(".changes entries %v", e)
			}
			if got := summaries(r.Out); !reflect.DeepEqual(got, []string{"loupe: hello-loupe status=skipped mode=trace syscalls=0"}) {
				t.Errorf("summaries %q", got)
			}
		})
	}
}

// TestHooksAndArchitectures: execute_before/override/execute_after targets
// (with -arch/-indep forms) run inside the traced step; -A, -B and -b
// builds get the verdicts of the packages they build, named so that
// dpkg-genchanges keeps them.
func TestHooksAndArchitectures(t *testing.T) {
	needBuildTools(t)
	bin, scripts := "multi-loupe-bin_2.0_amd64.loupe.yaml", "multi-loupe-scripts_2.0_all.loupe.yaml"
	for _, tc := range []struct {
		flag, changes string
		hooks         []string
		verdicts      []string
	}{
		{"-b", "multi-loupe_2.0_amd64.changes",
			[]string{"execute_before_dh_auto_test", "override_dh_auto_test-arch", "override_dh_auto_test-indep", "execute_after_dh_auto_test"},
			[]string{bin, scripts}},
		{"-B", "multi-loupe_2.0_amd64.changes",
			[]string{"execute_before_dh_auto_test", "override_dh_auto_test-arch", "execute_after_dh_auto_test"},
			[]string{bin}},
		{"-A", "multi-loupe_2.0_all.changes",
			[]string{"execute_before_dh_auto_test", "override_dh_auto_test-indep", "execute_after_dh_auto_test"},
			[]string{scripts}},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			t.Parallel()
			tr := newTree(t, "multi-loupe")
			r := tr.mustBuild([]string{tc.flag}, "DEB_BUILD_OPTIONS=loupe=trace")
			log, _ := os.ReadFile(filepath.Join(tr.Src, "debian/hooks.log"))
			if got := strings.Fields(string(log)); !reflect.DeepEqual(got, tc.hooks) {
				t.Errorf("hooks ran: %v, want %v", got, tc.hooks)
			}
			if !strings.Contains(r.Out, "traced the test step") {
				t.Errorf("the step was not traced:\n%s", tail(r.Out, 40))
			}
			if got := tr.verdicts(); !reflect.DeepEqual(got, tc.verdicts) {
				t.Fatalf("verdict files %v, want %v", got, tc.verdicts)
			}
			var want []string
			for _, v := range tc.verdicts {
				want = append(want, v+" debug optional")
			}
			if got := tr.loupeEntries(tc.changes); !reflect.DeepEqual(got, want) {
				t.Errorf(".changes entries %v, want %v", got, want)
			}
			for _, v := range tc.verdicts {
				f := tr.verdict(v)
				if f.Status != verdict.StatusOK {
					t.Errorf("%s: status %s (%s)", v, f.Status, f.Reason)
				}
				switch v {
				case bin:
					m := binary(f, "/usr/bin/multitool")
					if m == nil || !m.Shipped || m.Package != "multi-loupe-bin" || !syscallNames(m)["getpriority"] || m.Processes != 3 {
						t.Errorf("multitool: %+v (binaries %v)", m, paths(f))
					}
					if binary(f, "/usr/bin/multi-greet") != nil {
						t.Error("multi-greet is the scripts package's, not the bin package's")
					}
					if f.Architecture != "amd64" {
						t.Errorf("architecture %s", f.Architecture)
					}
				case scripts:
					g := binary(f, "/usr/bin/multi-greet")
					if g == nil || !g.Shipped || g.Package != "multi-loupe-scripts" || g.Interpreter == "" || g.BuildPath != "multi-greet" {
						t.Errorf("multi-greet: %+v (binaries %v)", g, paths(f))
					}
					if binary(f, "/usr/bin/multitool") != nil {
						t.Error("multitool listed in the scripts package's verdict")
					}
					if f.Architecture != "all" {
						t.Errorf("architecture %s", f.Architecture)
					}
				}
			}
		})
	}
}

// testOutput keeps what the package's own test suite printed.
var testOutputRE = regexp.MustCompile(`(?m)^(failing-test: .*|FAIL: .*)$`)

// TestFailingTests: the build fails exactly as without loupe, and the log
// says so for rebuild tooling.
func TestFailingTests(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	with := newTree(t, "failing-loupe")
	rWith := with.build([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=trace")
	without := newTree(t, "failing-loupe")
	without.undeclare()
	rWithout := without.build([]string{"-b"})

	if rWith.Code == 0 || rWith.Code != rWithout.Code {
		t.Errorf("exit status with loupe %d, without %d", rWith.Code, rWithout.Code)
	}
	a, b := testOutputRE.FindAllString(rWith.Out, -1), testOutputRE.FindAllString(rWithout.Out, -1)
	if len(a) != 2 || !reflect.DeepEqual(a, b) {
		t.Errorf("test output with loupe %q, without %q", a, b)
	}
	for _, tr := range []*tree{with, without} {
		if m, _ := filepath.Glob(filepath.Join(tr.Top, "*.changes")); len(m) != 0 {
			t.Errorf("a failed build produced %v", m)
		}
		if v := tr.verdicts(); len(v) != 0 {
			t.Errorf("verdict files %v", v)
		}
	}
	if got := summaries(rWith.Out); !reflect.DeepEqual(got, []string{"loupe: failing-loupe status=baseline-failed mode=trace exit=25"}) {
		t.Errorf("summaries %q", got)
	}
}

// TestExtraAddons: a bulk rebuild enables loupe on a package that does not
// declare it.
func TestExtraAddons(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	tr := newTree(t, "hello-loupe")
	tr.undeclare()
	r := tr.mustBuild([]string{"-b"})
	if strings.Contains(r.Out, "dh_loupe") || len(tr.verdicts()) != 0 {
		t.Fatal("loupe ran for a package that does not declare it")
	}
	r = tr.mustBuild([]string{"-b"}, "DH_EXTRA_ADDONS=loupe")
	if got := tr.verdicts(); !reflect.DeepEqual(got, []string{"hello-loupe_1.0_amd64.loupe.yaml"}) {
		t.Fatalf("verdicts %v\n%s", got, tail(r.Out, 40))
	}
	f := tr.verdict("hello-loupe_1.0_amd64.loupe.yaml")
	if f.Status != verdict.StatusOK || f.Mode != verdict.ModeTrace || binary(f, "/usr/bin/hello-loupe") == nil {
		t.Errorf("status %s mode %s binaries %v", f.Status, f.Mode, paths(f))
	}
	if e := tr.loupeEntries("hello-loupe_1.0_amd64.changes"); len(e) != 1 {
		t.Errorf(".changes entries %v", e)
	}
}

// TestReproducible: the .debs built with loupe are byte-identical to those
// built without it (same path, same SOURCE_DATE_EPOCH).
func TestReproducible(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	tr := newTree(t, "hello-loupe")
	tr.undeclare()
	debs := []string{"hello-loupe_1.0_amd64.deb", "hello-loupe-dbgsym_1.0_amd64.deb"}
	epoch := "SOURCE_DATE_EPOCH=1704067200"
	tr.mustBuild([]string{"-b"}, epoch)
	plain := tr.takeDebs(debs)
	tr.mustBuild([]string{"-b"}, epoch, "DH_EXTRA_ADDONS=loupe", "DEB_BUILD_OPTIONS=loupe=trace")
	if len(tr.verdicts()) != 1 {
		t.Fatal("the loupe build made no verdict")
	}
	traced := tr.takeDebs(debs)
	for i := range debs {
		if !bytes.Equal(plain[i], traced[i]) {
			t.Errorf("%s differs between the builds with and without loupe", debs[i])
		}
	}
}

// TestWithoutDh: a debian/rules without dh calls dh_loupe -- COMMAND and
// dh_loupe_verdict.
func TestWithoutDh(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	tr := newTree(t, "nodh-loupe")
	r := tr.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=trace")
	f := tr.verdict("nodh-loupe_1.0_amd64.loupe.yaml")
	b := binary(f, "/usr/bin/nodh-loupe")
	if f.Status != verdict.StatusOK || b == nil || !syscallNames(b)["getpid"] {
		t.Errorf("status %s, binaries %v", f.Status, paths(f))
	}
	if got := f.Workload.Command; len(got) < 2 || !strings.HasSuffix(got[0], "make") || got[1] != "check" {
		t.Errorf("workload %q", got)
	}
	if !strings.Contains(r.Out, "PASS: nodh-loupe") {
		t.Error("tests did not run")
	}
	if e := tr.loupeEntries("nodh-loupe_1.0_amd64.changes"); len(e) != 1 {
		t.Errorf(".changes entries %v", e)
	}
	// Without a request: the command runs as is, nothing is written.
	clean := newTree(t, "nodh-loupe")
	r = clean.mustBuild([]string{"-b"})
	if len(clean.verdicts()) != 0 || !strings.Contains(r.Out, "PASS: nodh-loupe") {
		t.Errorf("verdicts %v without a request", clean.verdicts())
	}
	// nocheck: the rules skip the tests; the verdict says skipped.
	skip := newTree(t, "nodh-loupe")
	skip.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=nocheck loupe=trace")
	if f := skip.verdict("nodh-loupe_1.0_amd64.loupe.yaml"); f.Status != verdict.StatusSkipped {
		t.Errorf("nocheck: status %s", f.Status)
	}
}

// TestNotExercised: a test step that never runs the package's binaries.
func TestNotExercised(t *testing.T) {
	needBuildTools(t)
	t.Parallel()
	tr := newTree(t, "hello-loupe")
	tr.edit("debian/rules", func(s string) string {
		return s + "\noverride_dh_auto_test:\n\t./tests/probe hello < debian/control\n"
	})
	r := tr.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=trace")
	f := tr.verdict("hello-loupe_1.0_amd64.loupe.yaml")
	if f.Status != verdict.StatusNotExercised || helper(f, "tests/probe") == nil || binary(f, "/usr/bin/hello-loupe") != nil ||
		f.Reason != "the test step ran none of the executables hello-loupe ships (/usr/bin/hello-loupe)" {
		t.Errorf("status %s (%s), binaries %v", f.Status, f.Reason, paths(f))
	}
	if got := summaries(r.Out); !reflect.DeepEqual(got, []string{"loupe: hello-loupe status=not-exercised mode=trace syscalls=0"}) {
		t.Errorf("summaries %q", got)
	}
}

// TestConfigFile: debian/loupe.yaml can ask for loupe and exclude
// binaries; an invalid one is reported (file, line, field) without
// failing the build, unless loupe=strict.
func TestConfigFile(t *testing.T) {
	needBuildTools(t)
	t.Run("mode asks", func(t *testing.T) {
		t.Parallel()
		tr := newTree(t, "hello-loupe")
		tr.edit("debian/loupe.yaml", func(string) string {
			return "mode: trace\nbinaries:\n  exclude:\n    - tests/*\n"
		})
		tr.mustBuild([]string{"-b"})
		f := tr.verdict("hello-loupe_1.0_amd64.loupe.yaml")
		if f.Status != verdict.StatusOK || binary(f, "/usr/bin/hello-loupe") == nil {
			t.Errorf("status %s binaries %v", f.Status, paths(f))
		}
	})
	t.Run("exclusion", func(t *testing.T) {
		t.Parallel()
		tr := newTree(t, "hello-loupe")
		tr.edit("debian/loupe.yaml", func(string) string { return "binaries:\n  exclude: [/usr/bin/hello-loupe]\n" })
		tr.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=trace")
		f := tr.verdict("hello-loupe_1.0_amd64.loupe.yaml")
		h := helper(f, "hello-loupe")
		if f.Status != verdict.StatusNotExercised || h == nil || h.Note != "excluded by debian/loupe.yaml" {
			t.Errorf("status %s binaries %v", f.Status, paths(f))
		}
	})
	invalid := "mode: trace\nbinaries:\n  add:\n    - path: /usr/bin/x\n"
	wantErr := "debian/loupe.yaml:4: field binaries.add[0].path: want a path relative to the source tree"
	t.Run("invalid, requested", func(t *testing.T) {
		t.Parallel()
		tr := newTree(t, "hello-loupe")
		tr.edit("debian/loupe.yaml", func(string) string { return invalid })
		r := tr.mustBuild([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=trace")
		if !strings.Contains(r.Out, "dh_loupe: error: "+wantErr) || !strings.Contains(r.Out, "PASS: hello-loupe") {
			t.Errorf("log:\n%s", tail(r.Out, 50))
		}
		f := tr.verdict("hello-loupe_1.0_amd64.loupe.yaml")
		if f.Status != verdict.StatusError || !strings.Contains(f.Reason, wantErr) {
			t.Errorf("status %s reason %q", f.Status, f.Reason)
		}
	})
	t.Run("invalid, strict", func(t *testing.T) {
		t.Parallel()
		tr := newTree(t, "hello-loupe")
		tr.edit("debian/loupe.yaml", func(string) string { return invalid })
		r := tr.build([]string{"-b"}, "DEB_BUILD_OPTIONS=loupe=trace,strict")
		if r.Code == 0 || !strings.Contains(r.Out, wantErr) {
			t.Errorf("strict build: code %d\n%s", r.Code, tail(r.Out, 30))
		}
	})
	t.Run("invalid, not requested", func(t *testing.T) {
		t.Parallel()
		tr := newTree(t, "hello-loupe")
		tr.edit("debian/loupe.yaml", func(string) string { return "mode: tracing\n" })
		r := tr.mustBuild([]string{"-b"})
		if !strings.Contains(r.Out, `dh_loupe: warning: debian/loupe.yaml:1: field mode: unknown mode "tracing"`) || len(tr.verdicts()) != 0 {
			t.Errorf("verdicts %v, log:\n%s", tr.verdicts(), tail(r.Out, 40))
		}
	})
}
