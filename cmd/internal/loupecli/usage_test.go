package loupecli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"salsa.debian.org/loupe-team/loupe/internal/datadir"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/plan"
	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
	"salsa.debian.org/loupe-team/loupe/tracer/tracefile"
)

// loupeIn runs the loupe binary in dir (ptrace needs its own process) and
// returns its exit status, stdout and stderr.
func loupeIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(loupeBinary(t), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stdout.String(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// TestTraceStdoutIsTheCommands: "loupe trace ... > out" used to mix the
// command's output into the YAML. Standard output is now the command's
// alone; the trace goes to loupe-trace.yaml (said on stderr), or to -o,
// or to standard output with -o -.
func TestTraceStdoutIsTheCommands(t *testing.T) {
	ptracetest.Require(t)
	dir := t.TempDir()
	code, stdout, stderr := loupeIn(t, dir, "trace", "--", "sh", "-c", "echo the command speaks; exit 5")
	if code != 5 || stdout != "the command speaks\n" {
		t.Errorf("exit %d, stdout %q: want the command's 5 and its output alone", code, stdout)
	}
	if !strings.Contains(stderr, "loupe: trace written to loupe-trace.yaml (-o FILE names another file, -o - writes to standard output)") {
		t.Errorf("stderr does not say where the trace went: %q", stderr)
	}
	f := readTrace(t, filepath.Join(dir, "loupe-trace.yaml"))
	if len(f.Binaries) == 0 {
		t.Errorf("loupe-trace.yaml lists no binary: %+v", f)
	}

	// With -o FILE: nothing said, nothing in the current directory.
	dir2 := t.TempDir()
	out := filepath.Join(t.TempDir(), "t.yaml")
	code, stdout, stderr = loupeIn(t, dir2, "trace", "-o", out, "--", "sh", "-c", "echo hi")
	if code != 0 || stdout != "hi\n" || strings.Contains(stderr, "trace written") {
		t.Errorf("-o FILE: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	readTrace(t, out)
	if ents, _ := os.ReadDir(dir2); len(ents) != 0 {
		t.Errorf("-o FILE also wrote %v in the current directory", ents)
	}

	// -o -: the trace is standard output, and no file named "-" appears.
	code, stdout, _ = loupeIn(t, dir2, "trace", "-o", "-", "--", "true")
	var f2 tracefile.File
	if err := yaml.Unmarshal([]byte(stdout), &f2); code != 0 || err != nil || f2.Schema != tracefile.Schema {
		t.Errorf("-o -: exit %d, %v, stdout %.200q", code, err, stdout)
	}
	if _, err := os.Stat(filepath.Join(dir2, "-")); err == nil {
		t.Error(`-o - created a file named "-"`)
	}
}

func readTrace(t *testing.T, path string) *tracefile.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f tracefile.File
	if err := yaml.Unmarshal(b, &f); err != nil || f.Schema != tracefile.Schema {
		t.Fatalf("%s: %v, schema %q", path, err, f.Schema)
	}
	return &f
}

// TestOutputDashIsStdout: -o - means standard output for analyze, db, plan
// and report (it created a file named "-"), and report's default file is
// not written then.
func TestOutputDashIsStdout(t *testing.T) {
	ptracetest.Require(t)
	dir := t.TempDir()
	code, stdout, stderr := loupeIn(t, dir, "analyze", "-q", "--replicas", "1", "--binary", "/bin/true", "-o", "-", "--", "sh", "-c", "exit 0")
	if v, err := verdict.Parse("stdout", []byte(stdout)); code != exitNothingTested || err != nil || v.Status != verdict.StatusNotExercised {
		t.Errorf("analyze -o -: exit %d, %v\nstdout %.300s\nstderr %s", code, err, stdout, stderr)
	}
	vf := filepath.Join(dir, "app_1_amd64.loupe.yaml")
	b, _ := verdict.Marshal(okVerdict())
	os.WriteFile(vf, b, 0o644)
	code, stdout, stderr = loupeIn(t, dir, "db", "-o", "-", vf)
	if _, err := dataset.Parse("stdout", []byte(stdout)); code != 0 || err != nil {
		t.Errorf("db -o -: exit %d, %v, stderr %s", code, err, stderr)
	}
	ds := filepath.Join(dir, "d.json")
	os.WriteFile(ds, []byte(stdout), 0o644)
	code, stdout, _ = loupeIn(t, dir, "plan", "--format", "json", "-o", "-", ds)
	var p plan.Plan
	if err := json.Unmarshal([]byte(stdout), &p); code != 0 || err != nil || p.Schema != plan.Schema {
		t.Errorf("plan -o -: exit %d, %v, %.200s", code, err, stdout)
	}
	code, stdout, stderr = loupeIn(t, dir, "report", "-o", "-", ds)
	if code != 0 || !strings.HasPrefix(stdout, "<!DOCTYPE html>") || strings.Contains(stderr, "wrote") {
		t.Errorf("report -o -: exit %d, stderr %q, stdout %.100q", code, stderr, stdout)
	}
	for _, f := range []string{"-", defaultReport, defaultTrace} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s was written in the current directory", f)
		}
	}
	// Without -o, report writes its default file and says so.
	if code, _, stderr = loupeIn(t, dir, "report", ds); code != 0 || !strings.Contains(stderr, "wrote "+defaultReport) {
		t.Errorf("report: exit %d, stderr %q", code, stderr)
	}
}

// TestMisplacedOptionsWarning: loupe options written after the workload
// command go to the command; loupe says so, naming them, and goes on.
func TestMisplacedOptionsWarning(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string // "" = no warning
	}{
		{"analyze, after --", []string{"analyze", "--binary", "/nonexistent/x", "--", "./cmd", "--replicas", "1"},
			`loupe analyze: warning: --replicas is an option of loupe analyze, but it comes after the command, so it is passed to ./cmd, not to loupe; to give it to loupe, write it before the command: loupe analyze [options] -- COMMAND [ARGS...]`},
		{"analyze, without --, two options and a value form", []string{"analyze", "--binary", "/nonexistent/x", "./cmd", "--jobs=2", "-o", "x", "--output", "v.yaml", "--jobs", "3"},
			`loupe analyze: warning: --jobs, --output are options of loupe analyze, but they come after the command, so they are passed to ./cmd, not to loupe; to give them to loupe, write them before the command`},
		{"trace", []string{"trace", "--binary", "/nonexistent/x", "--", "make", "check", "--granularity", "features"},
			`loupe trace: warning: --granularity is an option of loupe trace`},
		{"short options are the command's", []string{"analyze", "--binary", "/nonexistent/x", "--", "sort", "-o", "out", "-r", "-j"}, ""},
		{"the command's own long options", []string{"analyze", "--binary", "/nonexistent/x", "--", "make", "--keep-going"}, ""},
		{"an option's name as the command", []string{"trace", "--binary", "/nonexistent/x", "--", "--replicas"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The missing --binary stops the command after the warning.
			code, _, stderr := runCLI(t, "", tt.args...)
			if code != 2 {
				t.Errorf("exit %d", code)
			}
			if tt.want == "" && strings.Contains(stderr, "warning") || tt.want != "" && !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr:\n%s\nwant: %q", stderr, tt.want)
			}
		})
	}
}

// TestHelp: loupe help and loupe help CMD work; an unknown command says so
// and lists the commands; defaults are printed once; trace and analyze
// share --granularity.
func TestHelp(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{args: []string{"help"}, stdout: []string{"COMMANDS:", "trace", "analyze", "plan", "report"}},
		{args: nil, stdout: []string{"COMMANDS:"}},
		{args: []string{"help", "plan"}, stdout: []string{"loupe plan - order the syscalls", "--os FILE", "--output FILE, -o FILE"}},
		{args: []string{"plan", "--help"}, stdout: []string{"loupe plan - order the syscalls"}},
		{args: []string{"help", "frob"}, code: 2, stderr: `loupe: unknown command "frob"; the commands are: trace, analyze, db, plan, simulate, report, rebuild, help ("loupe help COMMAND" describes one)`},
		{args: []string{"frob"}, code: 2, stderr: `loupe: unknown command "frob"; the commands are: trace, analyze`},
		{args: []string{"anlyze", "--binary", "x"}, code: 2, stderr: `loupe: unknown command "anlyze" (did you mean "analyze"?)`},
		{args: []string{"help", "completion"}, code: 2, stderr: `unknown command "completion"`},
	} {
		stdout, stderr, code := run(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("loupe %q: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.stderr)
		}
		for _, w := range tt.stdout {
			if !strings.Contains(stdout, w) {
				t.Errorf("loupe %q: stdout lacks %q:\n%s", tt.args, w, stdout)
			}
		}
	}
	for _, cmd := range New(nil, nil, nil).VisibleCommands() {
		stdout, _, _ := run(t, "help", cmd.Name)
		for _, l := range strings.Split(stdout, "\n") {
			if strings.Count(l, "(default:") > 1 {
				t.Errorf("loupe help %s: a default given twice: %s", cmd.Name, l)
			}
			if strings.Contains(l, "pseudo-files (plus pseudo-files)") {
				t.Errorf("loupe help %s: %s", cmd.Name, l)
			}
		}
	}
	// One name, one set of values: trace and analyze take --granularity.
	tr, _, _ := run(t, "help", "trace")
	an, _, _ := run(t, "help", "analyze")
	line := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "--granularity") {
				_, after, _ := strings.Cut(l, ": syscalls;")
				return after
			}
		}
		return ""
	}
	if line(tr) == "" || line(tr) != line(an) {
		t.Errorf("--granularity differs:\ntrace:   %q\nanalyze: %q", line(tr), line(an))
	}
	// --os is optional in both plan and report, with the same default.
	pl, _, _ := run(t, "help", "plan")
	rp, _, _ := run(t, "help", "report")
	osLine := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "--os FILE") {
				return strings.TrimSpace(l)
			}
		}
		return "none"
	}
	if osLine(pl) != osLine(rp) {
		t.Errorf("--os differs:\nplan:   %s\nreport: %s", osLine(pl), osLine(rp))
	}
}

// TestTraceGranularity: trace takes --granularity like analyze; the old
// --record still works, with a warning.
func TestTraceGranularity(t *testing.T) {
	ptracetest.Require(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "t.yaml")
	code, _, stderr := loupeIn(t, dir, "trace", "--granularity", "features", "-o", out, "--", "sh", "-c", "stty -a </dev/null >/dev/null 2>&1; exit 0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if f := readTrace(t, out); f.Granularity != "features" || len(f.Binaries) == 0 || len(f.Binaries[0].Features) == 0 {
		t.Errorf("granularity %q, binaries %+v", f.Granularity, f.Binaries)
	}
	code, _, stderr = loupeIn(t, dir, "trace", "--record", "features", "-o", out, "--", "true")
	if code != 0 || !strings.Contains(stderr, "--record is now --granularity") {
		t.Errorf("--record: exit %d, %q", code, stderr)
	}
	if code, _, stderr = loupeIn(t, dir, "trace", "--granularity", "bytes", "--", "true"); code != 2 ||
		!strings.Contains(stderr, `trace: --granularity "bytes": want syscalls, features or pseudo-files`) {
		t.Errorf("bad granularity: exit %d, %q", code, stderr)
	}
}

// TestAppsSuggest: a mistyped --apps name is warned about with the closest
// application of the dataset, in plan and report alike.
func TestAppsSuggest(t *testing.T) {
	dir := t.TempDir()
	ds := filepath.Join(dir, "d.json")
	os.WriteFile(ds, []byte(`{"schema":"loupe/dataset/v1","entries":[{"name":"nginx","origin":"loupedb","architecture":"amd64","workload":{"kind":"benchmark","name":"benchmark-wrk"},"status":"ok","mode":"analyze","syscalls":{"required":["read"]},"provenance":[]}]}`), 0o644)
	for _, cmd := range []string{"plan", "report"} {
		_, stderr, code := run(t, cmd, "--apps", "ngnix", "-o", filepath.Join(dir, "out"), ds)
		if want := "loupe " + cmd + `: warning: --apps: "ngnix" is not in the dataset (did you mean "nginx"?)`; code != 0 || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want %q", cmd, code, stderr, want)
		}
	}
}

// TestAnalyzeAppThroughPlan: "loupe db" skipped a verdict of loupe analyze
// ("package, architecture missing"). With --app it is named, enters the
// dataset (a suite and a benchmark of one app are two workloads), and the
// plan and the report take it in like loupedb's applications.
func TestAnalyzeAppThroughPlan(t *testing.T) {
	ptracetest.Require(t)
	tree := t.TempDir()
	compileFixture(t, tree, "keepcaps")
	out := t.TempDir()
	suite, bench := filepath.Join(out, "suite.loupe.yaml"), filepath.Join(out, "bench.loupe.yaml")
	for _, a := range [][]string{
		{"--app", "myapp", "-o", suite},
		{"--app", "myapp", "--workload", "bench", "-o", bench},
	} {
		args := append([]string{"analyze", "-q", "--replicas", "1", "--binary", "./keepcaps"}, a...)
		if code, _, stderr := runCLI(t, tree, append(args, "--", "./keepcaps")...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", a, code, stderr)
		}
	}
	v, err := verdict.ReadFile(bench)
	if err != nil || v.Package != "myapp" || v.Architecture != "amd64" || v.Workload.Kind != dataset.KindBenchmark || v.Source != "" {
		t.Fatalf("verdict %v: package %q, architecture %q, kind %q", err, v.Package, v.Architecture, v.Workload.Kind)
	}
	ds := filepath.Join(out, "d.json")
	if _, stderr, code := run(t, "db", "--strict", "-o", ds, out); code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("db: exit %d\n%s", code, stderr)
	}
	d, _ := dataset.ReadFile(ds)
	kinds := map[string]bool{}
	for _, e := range d.Entries {
		if e.Name == "myapp" && e.Status == "ok" && e.Mode == "analyze" {
			kinds[e.Workload.Kind] = true
		}
	}
	if len(d.Entries) != 2 || !kinds[dataset.KindSuite] || !kinds[dataset.KindBenchmark] {
		t.Fatalf("dataset entries %+v", d.Entries)
	}
	for _, w := range []string{"bench", "suite", "any"} {
		stdout, stderr, code := run(t, "plan", "--workload", w, "--apps", "myapp", "--format", "json", ds)
		var p plan.Plan
		if err := json.Unmarshal([]byte(stdout), &p); code != 0 || err != nil || p.Apps != 1 || len(p.NoData) != 0 {
			t.Fatalf("plan --workload %s: exit %d, %v, %s\n%.300s", w, code, err, stderr, stdout)
		}
		want := map[string]string{"bench": "verdict:benchmark/amd64", "suite": "verdict:suite/amd64", "any": "verdict:benchmark/amd64 verdict:suite/amd64"}[w]
		found := false
		for _, s := range p.Steps {
			for _, u := range s.Unlocks {
				if u.App == "myapp" {
					found = true
					if got := strings.Join(u.Workloads, " "); got != want {
						t.Errorf("plan --workload %s: myapp from %q, want %q", w, got, want)
					}
				}
			}
		}
		if !found {
			t.Errorf("plan --workload %s never supports myapp: %+v", w, p.Steps)
		}
	}
	html := filepath.Join(out, "r.html")
	if _, stderr, code := run(t, "report", "-o", html, ds); code != 0 {
		t.Fatalf("report: %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(html); !bytes.Contains(b, []byte("myapp")) {
		t.Error("the report does not name myapp")
	}
	// Without --app the verdict is skipped, and the problem says how to name it.
	anon := filepath.Join(out, "anon", "x.loupe.yaml")
	os.Mkdir(filepath.Dir(anon), 0o755)
	if code, _, stderr := runCLI(t, tree, "analyze", "-q", "--replicas", "1", "--binary", "./keepcaps", "-o", anon, "--", "./keepcaps"); code != 0 {
		t.Fatalf("analyze: exit %d %s", code, stderr)
	}
	if _, stderr, _ := run(t, "db", "-o", filepath.Join(out, "anon.json"), anon); !strings.Contains(stderr, "a verdict of loupe analyze gets them from --app NAME") {
		t.Errorf("db without --app: %q", stderr)
	}
	// Bad names and a --workload without --app are refused before any run.
	for _, a := range [][]string{{"--app", "../x"}, {"--app", "a b"}, {"--app", "x", "--workload", "any"}, {"--workload", "bench"}} {
		args := append(append([]string{"analyze", "--binary", "/bin/true"}, a...), "--", "/bin/true")
		if code, _, stderr := runCLI(t, tree, args...); code != 2 || !strings.Contains(stderr, "analyze: --") {
			t.Errorf("%v: exit %d, %q", a, code, stderr)
		}
	}
}

// TestOSByName: --os takes the name of a bundled OS file, case aside, in
// plan and report alike; an unknown one gets the closest name and the list.
func TestOSByName(t *testing.T) {
	t.Setenv(datadir.Env, filepath.Dir(testutil.LoupeDB(t)))
	dir := t.TempDir()
	ds := filepath.Join(dir, "d.json")
	os.WriteFile(ds, []byte(`{"schema":"loupe/dataset/v1","entries":[]}`), 0o644)
	if out, stderr, code := run(t, "plan", "--os", "kerla", ds); code != 0 || !strings.HasPrefix(out, "Support plan for Kerla (implements 58,") {
		t.Errorf("plan --os kerla: exit %d, %s\n%.200s", code, stderr, out)
	}
	if _, stderr, code := run(t, "report", "--os", "Osv", "-o", filepath.Join(dir, "r.html"), ds); code != 0 {
		t.Errorf("report --os Osv: exit %d, %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "r.html")); !bytes.Contains(b, []byte("Relative to <b>Osv</b>")) {
		t.Error("report --os Osv is not relative to Osv")
	}
	for _, cmd := range []string{"plan", "report"} {
		_, stderr, code := run(t, cmd, "--os", "Kerl", "-o", filepath.Join(dir, "out"), ds)
		if want := cmd + `: --os: Kerl is neither a file nor a bundled OS (did you mean "Kerla"?); the bundled OS files are Browsix, Freebsd,`; code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("%s --os Kerl: exit %d, %q", cmd, code, stderr)
		}
	}
	// A path is a path: no lookup.
	if _, stderr, code := run(t, "plan", "--os", "./Kerla", ds); code != 2 || !strings.Contains(stderr, "open ./Kerla: no such file") {
		t.Errorf("plan --os ./Kerla: exit %d, %q", code, stderr)
	}
}
