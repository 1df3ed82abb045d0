package loupecli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/plan"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/simulate"
	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
	"salsa.debian.org/loupe-team/loupe/tracer/tracefile"
)

// Known answers of loupe simulate on the analysis fixtures
// (pkganalyze/testdata/fixtures/README.md). An OS file is written from what
// a traced run of the fixture used, minus what the test takes away, so the
// answers hold on any libc.

// usedSyscalls traces bin and returns the syscalls it used.
func usedSyscalls(t *testing.T, dir, bin string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "trace.yaml")
	if code, _, stderr := runCLI(t, dir, "trace", "--binary", bin, "-o", out, "--", bin); code != 0 {
		t.Fatalf("trace %s: exit %d\n%s", bin, code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var f tracefile.File
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range f.Binaries[0].Syscalls {
		names = append(names, s.Name)
	}
	return names
}

// osWithout writes an OS file implementing used but the names in drop,
// followed by the extra lines.
func osWithout(t *testing.T, used []string, drop []string, extra ...string) string {
	t.Helper()
	var lines []string
	for _, n := range used {
		keep := true
		for _, d := range drop {
			keep = keep && n != d
		}
		if keep {
			lines = append(lines, n+",implemented")
		}
	}
	p := filepath.Join(t.TempDir(), "test.os")
	if err := os.WriteFile(p, []byte(strings.Join(append(lines, extra...), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func simulateCLI(t *testing.T, dir string, args ...string) (int, string, *simulate.Report) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.simulation.yaml")
	code, _, stderr := runCLI(t, dir, append([]string{"simulate", "-o", out}, args...)...)
	r, err := simulate.ReadFile(out)
	if err != nil {
		t.Fatalf("exit %d, report: %v\n%s", code, err, stderr)
	}
	return code, stderr, r
}

func lacks(ls []simulate.Lack) map[string]simulate.Lack {
	m := map[string]simulate.Lack{}
	for _, l := range ls {
		m[l.Name] = l
	}
	return m
}

func TestSimulateKnownAnswers(t *testing.T) {
	ptracetest.Require(t)
	tree := t.TempDir()
	for _, n := range []string{"rlimit", "net", "pseudo", "isatty"} {
		compileFixture(t, tree, n)
	}
	bin := func(n string) string { return filepath.Join(tree, n) }

	t.Run("rlimit falls back on an OS lacking prlimit64", func(t *testing.T) {
		used := usedSyscalls(t, tree, bin("rlimit"))
		osf := osWithout(t, used, []string{"prlimit64"})
		code, stderr, r := simulateCLI(t, tree, "--os", osf, "--binary", bin("rlimit"), "--app", "rlimit", "--", bin("rlimit"))
		l := lacks(r.Lacking)["prlimit64"]
		if code != 0 || !r.Passed || len(r.Lacking) != 1 || l.State != "absent" || l.Returns != "-ENOSYS" || l.Rule != "not listed" ||
			l.Calls == 0 || len(l.Binaries) != 1 || l.Binaries[0].Path != bin("rlimit") {
			t.Fatalf("exit %d, report %+v\n%s", code, r, stderr)
		}
		if !strings.Contains(stderr, "the workload passed") || !strings.Contains(stderr, "prlimit64") || r.App != "rlimit" {
			t.Errorf("stderr %q", stderr)
		}
	})
	t.Run("net fails on an OS lacking socket, and says socket", func(t *testing.T) {
		used := usedSyscalls(t, tree, bin("net"))
		osf := osWithout(t, used, []string{"socket"})
		code, stderr, r := simulateCLI(t, tree, "--os", osf, "--binary", bin("net"), "--", bin("net"))
		if code != 1 || r.Passed || r.Exit.Code != 1 || lacks(r.Lacking)["socket"].Rule != "not listed" {
			t.Fatalf("exit %d, report %+v\n%s", code, r, stderr)
		}
		if !strings.Contains(stderr, "FAILED (exit 1)") || !strings.Contains(stderr, "socket") {
			t.Errorf("stderr %q", stderr)
		}
		// Stubbed by the file: the report names its line.
		osf = osWithout(t, used, []string{"socket"}, "socket,stubbed")
		_, _, r = simulateCLI(t, tree, "--os", osf, "--binary", bin("net"), "--", bin("net"))
		if l := lacks(r.Lacking)["socket"]; l.State != "stubbed" || l.Rule != osf+":"+strconv.Itoa(len(used)) {
			t.Errorf("stubbed socket: %+v", l)
		}
		// An OS implementing everything net uses runs it, lacking nothing.
		code, _, r = simulateCLI(t, tree, "--os", osWithout(t, used, nil), "--binary", bin("net"), "--", bin("net"))
		if code != 0 || len(r.Lacking) != 0 {
			t.Errorf("full OS: exit %d, lacking %+v", code, r.Lacking)
		}
	})
	t.Run("pseudo-files the OS does not list are absent", func(t *testing.T) {
		used := usedSyscalls(t, tree, bin("pseudo"))
		code, stderr, r := simulateCLI(t, tree, "--os", osWithout(t, used, nil, "/dev/urandom,implemented"), "--binary", bin("pseudo"), "--", bin("pseudo"))
		l := lacks(r.PseudoFiles)["/proc/self/status"]
		if code != 0 || l.State != "absent" || l.Returns != "-ENOENT" || len(r.PseudoFiles) != 1 || r.OS.PseudoFiles != 1 {
			t.Fatalf("status falls back: exit %d, pseudo-files %+v\n%s", code, r.PseudoFiles, stderr)
		}
		code, _, r = simulateCLI(t, tree, "--os", osWithout(t, used, nil, "/proc/self,implemented"), "--binary", bin("pseudo"), "--", bin("pseudo"))
		if code != 1 || lacks(r.PseudoFiles)["/dev/urandom"].Rule != "not listed" {
			t.Fatalf("/dev/urandom is required: exit %d, pseudo-files %+v", code, r.PseudoFiles)
		}
	})
	t.Run("sub-features of a syscall the OS names are lacking", func(t *testing.T) {
		used := usedSyscalls(t, tree, bin("isatty"))
		code, stderr, r := simulateCLI(t, tree, "--os", osWithout(t, used, nil, "ioctl:FIONREAD,implemented"), "--binary", bin("isatty"), "--", bin("isatty"))
		if l := lacks(r.Features)["ioctl:TCGETS"]; code != 0 || l.State != "absent" || l.Returns != "-ENOSYS" || len(r.Features) != 1 {
			t.Fatalf("TCGETS falls back: exit %d, features %+v\n%s", code, r.Features, stderr)
		}
		code, _, r = simulateCLI(t, tree, "--os", osWithout(t, used, nil, "ioctl:TCGETS,faked"), "--binary", bin("isatty"), "--", bin("isatty"))
		if code != 1 || lacks(r.Features)["ioctl:FIONREAD"].State != "absent" || lacks(r.Features)["ioctl:TCGETS"].Returns != "0" {
			t.Fatalf("FIONREAD is required: exit %d, features %+v", code, r.Features)
		}
	})
}

// TestSimulatePlanStep: the plan that loupe plan computes for a bundled OS
// file on loupedb's data plus a real analysis of the rlimit fixture claims
// the fixture from some step on. Simulated after that step the fixture
// passes; after the step before, it fails, since one of the syscalls the
// step implements is required by the analysis' own evidence.
func TestSimulatePlanStep(t *testing.T) {
	if testing.Short() {
		t.Skip("analyses a fixture (about 40 runs)")
	}
	ptracetest.Require(t)
	db := testutil.LoupeDB(t)
	tree := t.TempDir()
	compileFixture(t, tree, "rlimit")
	vpath := filepath.Join(t.TempDir(), "v.loupe.yaml")
	if code, _, stderr := runCLI(t, tree, "analyze", "-q", "--replicas", "1", "--binary", "./rlimit", "-o", vpath, "--", "./rlimit"); code != 0 {
		t.Fatalf("analyze: exit %d\n%s", code, stderr)
	}
	v, err := verdict.ReadFile(vpath)
	if err != nil {
		t.Fatal(err)
	}
	// The name loupe analyze --app gives a verdict.
	v.Package, v.Architecture = "simfixture", "amd64"
	es, _, err := loupedb.Import(db)
	if err != nil {
		t.Fatal(err)
	}
	ds := &dataset.Dataset{Schema: dataset.Schema, Entries: dataset.Resolve(append(es, dataset.FromVerdict(v, dataset.Provenance{File: vpath})))}
	dsPath := filepath.Join(t.TempDir(), "d.dataset.json")
	b, err := dataset.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dsPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	osf := filepath.Join(db, "Kerla.syscalls")
	o, err := plan.ReadOS(osf)
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Auto(o, ds.Entries, plan.Any, nil, nil, false)
	step := -1
	for _, s := range p.Steps {
		for _, u := range s.Unlocks {
			if u.App == "simfixture" {
				step = s.Number
			}
		}
	}
	if step < 1 {
		t.Fatalf("the plan claims simfixture at step %d; the test needs a step with one before it", step)
	}
	sim := func(n int) (int, string, *simulate.Report) {
		return simulateCLI(t, tree, "--os", osf, "--plan-step", strconv.Itoa(n), "--dataset", dsPath, "--app", "simfixture",
			"--binary", "./rlimit", "--", "./rlimit")
	}
	code, stderr, r := sim(step)
	if code != 0 || r.Plan == nil || r.Plan.Step != step || r.Plan.AppClaimed == nil || !*r.Plan.AppClaimed || len(r.Plan.Supported) < 2 {
		t.Fatalf("step %d: exit %d, plan %+v\n%s", step, code, r.Plan, stderr)
	}
	for _, l := range r.Lacking {
		if l.State == "absent" || !strings.HasPrefix(l.Rule, "plan step ") {
			t.Errorf("step %d: %s is %s (%s): a claimed app uses only what the plan provides", step, l.Name, l.State, l.Rule)
		}
	}
	// The report enters a dataset: the dataset records the validated step.
	rb, _ := r.Marshal()
	rpath := filepath.Join(t.TempDir(), "simfixture.simulation.yaml")
	os.WriteFile(rpath, rb, 0o644)
	ds2 := filepath.Join(t.TempDir(), "d2.dataset.json")
	if code, _, stderr := runCLI(t, "", "db", "-o", ds2, dsPath, rpath); code != 0 || !strings.Contains(stderr, ", 1 simulation,") {
		t.Fatalf("db: exit %d\n%s", code, stderr)
	}
	d2, err := dataset.ReadFile(ds2)
	if err != nil {
		t.Fatal(err)
	}
	if ss := d2.SimulationsOf("simfixture"); len(ss) != 1 || *ss[0].PlanStep != step || !ss[0].Passed || !*ss[0].Claimed || ss[0].OS != "Kerla" ||
		len(d2.Entries) != len(ds.Entries) {
		t.Errorf("dataset simulations %+v (%d entries, want %d)", d2.Simulations, len(d2.Entries), len(ds.Entries))
	}

	code, stderr, r = sim(step - 1)
	if code == 0 || *r.Plan.AppClaimed {
		t.Fatalf("step %d: exit %d, claimed %v\n%s", step-1, code, *r.Plan.AppClaimed, stderr)
	}
	implemented := map[string]bool{}
	for _, n := range p.Steps[step].Implement {
		implemented[n] = true
	}
	found := false
	for _, l := range r.Lacking {
		found = found || implemented[l.Name]
	}
	if !found {
		t.Errorf("step %d: none of step %d's implementations %v is among the lacking %+v", step-1, step, p.Steps[step].Implement, r.Lacking)
	}
}

func TestSimulateUsageErrors(t *testing.T) {
	osf := filepath.Join(t.TempDir(), "x.os")
	os.WriteFile(osf, []byte("read\n"), 0o644)
	bad := filepath.Join(t.TempDir(), "bad.os")
	os.WriteFile(bad, []byte("read\nioctl:TCGEST,stubbed\n"), 0o644)
	ds := filepath.Join(t.TempDir(), "d.json")
	os.WriteFile(ds, []byte(`{"schema":"loupe/dataset/v1","entries":[]}`), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no command", []string{"--os", osf, "--binary", "/bin/true"}, "no command given"},
		{"no binary", []string{"--os", osf, "--", "/bin/true"}, "give the binaries to simulate the OS for"},
		{"no os", []string{"--binary", "/bin/true", "--", "/bin/true"}, `Required flag "os" not set`},
		{"step without dataset", []string{"--os", osf, "--binary", "/bin/true", "--plan-step", "1", "--", "/bin/true"}, "--plan-step and --dataset go together"},
		{"negative step", []string{"--os", osf, "--binary", "/bin/true", "--plan-step", "-2", "--dataset", ds, "--", "/bin/true"}, "--plan-step -2"},
		{"step beyond the plan", []string{"--os", osf, "--binary", "/bin/true", "--plan-step", "5", "--dataset", ds, "--", "/bin/true"}, "--plan-step 5: the plan has steps 0 to 0"},
		{"bad OS line", []string{"--os", bad, "--binary", "/bin/true", "--", "/bin/true"}, bad + `:2: field name: sub-feature key "ioctl:TCGEST"`},
		{"unwritable report", []string{"--os", osf, "--binary", "/bin/true", "-o", "/nonexistent/r.yaml", "--", "/bin/true"}, "--output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", append([]string{"simulate"}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.msg)
			}
		})
	}
}
