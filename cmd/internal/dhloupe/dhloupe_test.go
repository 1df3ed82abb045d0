package dhloupe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/debhelper"
	"salsa.debian.org/loupe-team/loupe/internal/exeid"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

func TestStepArgv(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"dh with addons", []string{"-a", "-O--buildsystem=cmake", "-O-Nfoo-doc"},
			[]string{"DH_LOUPE_DH_ARGV=/usr/bin/dh\x1ebinary-arch\x1e--with\x1epython3,loupe\x1e--without=autoreconf\x1e--buildsystem=cmake"},
			[]string{"dh", "loupe-test", "--with=python3,loupe", "--without=autoreconf", "-a", "--buildsystem=cmake", "--no-package=foo-doc"}},
		{"dh without --with", []string{"-plibfoo1"}, []string{"DH_LOUPE_DH_ARGV=/usr/bin/dh\x1ebuild"},
			[]string{"dh", "loupe-test", "--package=libfoo1"}},
		{"single-dash long options", nil, []string{"DH_LOUPE_DH_ARGV=dh\x1ebuild\x1e-with\x1eloupe\x1e-without=x"},
			[]string{"dh", "loupe-test", "--with=loupe", "--without=x"}},
		{"not run by dh", []string{"-i"}, nil, []string{"dh", "loupe-test", "--with", "loupe", "-i"}},
		{"explicit command", []string{"-a", "--", "make", "-C", "b", "check"}, nil, []string{"make", "-C", "b", "check"}},
	}
	for _, tt := range tests {
		opts, err := debhelper.ParseOptions(tt.args, tt.env)
		if err != nil {
			t.Fatal(err)
		}
		got, err := stepArgv(opts, tt.env)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	opts, _ := debhelper.ParseOptions([]string{"--"}, nil)
	if _, err := stepArgv(opts, nil); err == nil {
		t.Error(`"--" without a command must be an error`)
	}
}

func TestEscapeShell(t *testing.T) {
	got := escapeShell([]string{"dh", "loupe-test", "--with=a,b", "-V\"x y\"", "$(x)", "a;b"})
	want := `dh loupe-test --with=a,b "-V\"x y\"" \$\(x\) a\;b`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// verdictTree prepares a source tree as dh_loupe_verdict finds it in the
// binary target: hello-loupe built (gcc), installed into debian/hello-loupe,
// and a recorded test step that ran it and a helper.
func verdictTree(t *testing.T) (dir string, run *debhelper.Run) {
	t.Helper()
	for _, c := range []string{"dh_listpackages", "dpkg-distaddfile"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s not installed (make deps)", c)
		}
	}
	top := t.TempDir()
	dir = filepath.Join(top, "hello-loupe")
	if out, err := exec.Command("cp", "-a", "../../../testdata/hello-loupe", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, c := range [][]string{
		{"gcc", "-O2", "-o", "hello-loupe", "hello.c"},
		{"gcc", "-O2", "-o", "tests/probe", "tests/probe.c"},
		{"install", "-D", "-m", "0755", "hello-loupe", "debian/hello-loupe/usr/bin/hello-loupe"},
		{"strip", "debian/hello-loupe/usr/bin/hello-loupe"},
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s (gcc and binutils are needed: make deps)", c, err, out)
		}
	}
	bin := func(rel string) verdict.Binary {
		p := filepath.Join(dir, rel)
		s, err := (*exeid.Cache)(nil).Sums(p)
		if err != nil {
			t.Fatal(err)
		}
		return verdict.Binary{Path: p, BuildID: s.BuildID, SHA256: s.SHA256, Processes: 1,
			Syscalls: []verdict.Syscall{{Name: "uname", Number: 63, Calls: 1}}}
	}
	run = &debhelper.Run{Packages: []string{"hello-loupe"}, Mode: debhelper.ModeAnalyze,
		Step: debhelper.Step{Argv: []string{"dh", "loupe-test"}, Dir: dir,
			Env: []string{"PATH=/usr/bin:/bin", "LD_PRELOAD=libfakeroot-sysv.so", "FAKEROOTKEY=1"}},
		Binaries: []verdict.Binary{bin("hello-loupe"), bin("tests/probe")},
		Started:  time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Wall: 1.5}
	if _, err := debhelper.WriteRun(dir, run); err != nil {
		t.Fatal(err)
	}
	return dir, run
}

// runMain runs a command in-process and returns its status and output.
func runMain(t *testing.T, name, dir string, env []string, deps Deps) (int, string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	env = append(append(os.Environ(), "DEB_BUILD_PROFILES=", "DH_INTERNAL_OPTIONS=", "DH_OPTIONS="), env...)
	st := Main(context.Background(), name, IO{Env: env, Dir: dir, Stdin: os.Stdin, Stdout: out, Stderr: out}, deps)
	b, _ := os.ReadFile(out.Name())
	return st.ShellCode(), string(b)
}

// TestVerdictAnalyzePlumbing checks what the binary pass hands the analysis
// engine (the recorded step without fakeroot, only the shipped binaries
// whitelisted, the settings) and how it names the engine's binaries in the
// verdict. The engine is a stand-in that returns a recorded answer.
func TestVerdictAnalyzePlumbing(t *testing.T) {
	dir, _ := verdictTree(t)
	var got AnalyzeRequest
	engine := func(ctx context.Context, req AnalyzeRequest) (*verdict.File, error) {
		got = req
		f := req.Template
		f.Status, f.Mode = verdict.StatusOK, verdict.ModeAnalyze
		f.Runs = verdict.Runs{Total: 9, Baseline: 3, Sensitivity: 1, Experiments: 4, Confirmation: 1}
		f.Binaries = []verdict.Binary{{Path: req.Whitelist[0], Shipped: true, Processes: 3,
			Syscalls: []verdict.Syscall{{Name: "uname", Number: 63, Calls: 2,
				Outcome: verdict.Outcome{Stub: verdict.Bool(true), Fake: verdict.Bool(false)}}}}}
		return &f, nil
	}
	code, out := runMain(t, "dh_loupe_verdict", dir,
		[]string{"DEB_BUILD_OPTIONS=loupe=analyze,replicas=5,jobs=2,timeout=90s"}, Deps{Analyze: engine})
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if want := []string{filepath.Join(dir, "hello-loupe")}; !reflect.DeepEqual(got.Whitelist, want) {
		t.Errorf("whitelist %q, want only the shipped binary %q", got.Whitelist, want)
	}
	if !reflect.DeepEqual(got.Step.Env, []string{"PATH=/usr/bin:/bin"}) || got.Step.Dir != dir ||
		!reflect.DeepEqual(got.Step.Argv, []string{"dh", "loupe-test"}) {
		t.Errorf("step %+v", got.Step)
	}
	if got.Replicas != 5 || got.Jobs != 2 || got.Timeout != 90*time.Second ||
		got.StateDir != filepath.Join(dir, debhelper.StateDir, "analyze-hello-loupe") {
		t.Errorf("settings: replicas %d jobs %d timeout %v state %s", got.Replicas, got.Jobs, got.Timeout, got.StateDir)
	}
	f, err := verdict.ReadFile(filepath.Join(filepath.Dir(dir), "hello-loupe_1.0_"+hostArch(t)+".loupe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode != verdict.ModeAnalyze || f.Status != verdict.StatusOK || f.Package != "hello-loupe" ||
		f.Version != "1:1.0" || f.Runs.Total != 9 || len(f.Binaries) != 1 || len(f.Helpers) != 1 {
		t.Fatalf("verdict %+v", f)
	}
	h, p := f.Binaries[0], f.Helpers[0]
	if h.Path != "/usr/bin/hello-loupe" || h.BuildPath != "hello-loupe" || !h.Shipped || h.Package != "hello-loupe" ||
		*h.Syscalls[0].Stub != true || *h.Syscalls[0].Fake != false {
		t.Errorf("shipped binary %+v", h)
	}
	if p.Path != "tests/probe" || p.Processes != 1 || len(p.Syscalls) != 0 {
		t.Errorf("helper %+v", p)
	}
	if !strings.Contains(out, "loupe: hello-loupe status=ok mode=analyze syscalls=1") {
		t.Errorf("output:\n%s", out)
	}
}

// TestVerdictSnapshotAdvice: when the runs fell back to snapshot isolation,
// the verdict and the build log say what the build environment can change
// (sbuild's build user) next to the runner's reason.
func TestVerdictSnapshotAdvice(t *testing.T) {
	dir, _ := verdictTree(t)
	engine := func(ctx context.Context, req AnalyzeRequest) (*verdict.File, error) {
		f := req.Template
		f.Status, f.Mode = verdict.StatusOK, verdict.ModeAnalyze
		f.RunMetadata.Isolation = "snapshot"
		f.RunMetadata.Notes = []string{"namespaces unavailable (...inside a chroot...)"}
		return &f, nil
	}
	code, out := runMain(t, "dh_loupe_verdict", dir, []string{"DEB_BUILD_OPTIONS=loupe=analyze"}, Deps{Analyze: engine})
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	f, err := verdict.ReadFile(filepath.Join(filepath.Dir(dir), "hello-loupe_1.0_"+hostArch(t)+".loupe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(f.RunMetadata.Notes, "\n")
	for _, w := range []string{"namespaces unavailable", "$build_user = 'root'"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	if !strings.Contains(out, "snapshot isolation") || !strings.Contains(out, "$build_user = 'root'") {
		t.Errorf("the build log does not explain the fallback:\n%s", out)
	}
}

func hostArch(t *testing.T) string {
	a, err := debhelper.HostArch(context.Background(), os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestVerdictLoupeErrors: the engine's failure or a panic becomes status
// error and the build goes on, unless loupe=strict.
func TestVerdictLoupeErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		engine AnalyzeFunc
		dbo    string
		code   int
		output string
	}{
		{"engine error", func(context.Context, AnalyzeRequest) (*verdict.File, error) { return nil, errors.New("boom") },
			"loupe=analyze", 0, "hello-loupe: analyze: boom"},
		{"engine error, strict", func(context.Context, AnalyzeRequest) (*verdict.File, error) { return nil, errors.New("boom") },
			"loupe=analyze,strict", 255, "loupe=strict: failing the build"},
		{"panic", func(context.Context, AnalyzeRequest) (*verdict.File, error) { panic("oops") },
			"loupe=analyze", 0, "internal error: oops"},
		{"panic, strict", func(context.Context, AnalyzeRequest) (*verdict.File, error) { panic("oops") },
			"loupe=analyze,strict", 255, "internal error: oops"},
		{"no engine", nil, "loupe=analyze", 0, "analyze mode is not available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := verdictTree(t)
			code, out := runMain(t, "dh_loupe_verdict", dir, []string{"DEB_BUILD_OPTIONS=" + tc.dbo}, Deps{Analyze: tc.engine})
			if code != tc.code || !strings.Contains(out, tc.output) {
				t.Errorf("exit %d, want %d; output:\n%s", code, tc.code, out)
			}
		})
	}
}

// TestVerdictAnalyzeJobs: the analysis runs parallel=N jobs when jobs= is
// not given, serially when neither is, and with the strategy and the
// follow mode asked for.
func TestVerdictAnalyzeJobs(t *testing.T) {
	for _, tc := range []struct {
		dbo      string
		jobs     int
		strategy verdict.Strategy
		follow   verdict.Follow
	}{
		{"parallel=3 loupe=analyze", 3, "adaptive", "auto"},
		{"parallel=3 loupe=analyze,jobs=1", 1, "adaptive", "auto"},
		{"loupe=analyze,strategy=exhaustive", 1, "exhaustive", "auto"},
		{"loupe=analyze,follow=ptrace", 1, "adaptive", "ptrace"},
	} {
		t.Run(tc.dbo, func(t *testing.T) {
			dir, _ := verdictTree(t)
			var got AnalyzeRequest
			engine := func(ctx context.Context, req AnalyzeRequest) (*verdict.File, error) {
				got = req
				f := req.Template
				f.Status, f.Mode = verdict.StatusInsensitive, verdict.ModeAnalyze
				return &f, nil
			}
			code, out := runMain(t, "dh_loupe_verdict", dir, []string{"DEB_BUILD_OPTIONS=" + tc.dbo}, Deps{Analyze: engine})
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			if got.Jobs != tc.jobs || got.Strategy != tc.strategy || got.Follow != tc.follow {
				t.Errorf("jobs %d strategy %q follow %q, want %d %q %q", got.Jobs, got.Strategy, got.Follow, tc.jobs, tc.strategy, tc.follow)
			}
		})
	}
}

// TestVerdictNotRequested: without a request the binary pass does nothing
// and prints nothing.
func TestVerdictNotRequested(t *testing.T) {
	dir, _ := verdictTree(t)
	code, out := runMain(t, "dh_loupe_verdict", dir, []string{"DEB_BUILD_OPTIONS=parallel=2", "DH_EXTRA_ADDONS="}, Deps{})
	if code != 0 || out != "" {
		t.Errorf("exit %d, output %q", code, out)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "*.loupe.yaml")); len(m) != 0 {
		t.Errorf("wrote %v", m)
	}
}

// TestVerdictOutputs: dh_loupe_verdict checks that it can write the
// verdicts before the analyses (which can take hours); if writing still
// fails at the end, the verdict is kept and the error says where; and a
// symlink planted at ../<pkg>_<ver>_<arch>.loupe.yaml (by the test suite,
// say) is replaced, never followed.
func TestVerdictOutputs(t *testing.T) {
	engineRan := false
	var plant func(artifact string)
	engine := func(ctx context.Context, req AnalyzeRequest) (*verdict.File, error) {
		engineRan = true
		f := req.Template
		f.Status, f.Mode = verdict.StatusOK, verdict.ModeAnalyze
		if plant != nil {
			plant(filepath.Join(filepath.Dir(req.Step.Dir), "hello-loupe_1.0_"+hostArch(t)+".loupe.yaml"))
		}
		return &f, nil
	}
	env := []string{"DEB_BUILD_OPTIONS=loupe=analyze"}
	t.Run("unwritable before", func(t *testing.T) {
		dir, _ := verdictTree(t)
		artifact := filepath.Join(filepath.Dir(dir), "hello-loupe_1.0_"+hostArch(t)+".loupe.yaml")
		os.Mkdir(artifact, 0o755)
		engineRan, plant = false, nil
		code, out := runMain(t, "dh_loupe_verdict", dir, env, Deps{Analyze: engine})
		if code != 0 || engineRan || !strings.Contains(out, "cannot write the verdicts: "+artifact+" is a directory; no verdicts written") {
			t.Errorf("exit %d, analysis ran %v; output:\n%s", code, engineRan, out)
		}
		code, out = runMain(t, "dh_loupe_verdict", dir, []string{"DEB_BUILD_OPTIONS=loupe=analyze,strict"}, Deps{Analyze: engine})
		if code != 255 || engineRan {
			t.Errorf("strict: exit %d, analysis ran %v; output:\n%s", code, engineRan, out)
		}
	})
	t.Run("unwritable after", func(t *testing.T) {
		dir, _ := verdictTree(t)
		engineRan, plant = false, func(a string) { os.Mkdir(a, 0o755) }
		code, out := runMain(t, "dh_loupe_verdict", dir, env, Deps{Analyze: engine})
		kept, _ := filepath.Glob(filepath.Join(dir, debhelper.StateDir, "loupe-kept-hello-loupe_1.0_*-*.loupe.yaml"))
		if code != 0 || len(kept) != 1 || !strings.Contains(out, "it is kept in "+kept[0]) {
			t.Fatalf("exit %d, kept %v; output:\n%s", code, kept, out)
		}
		if f, err := verdict.ReadFile(kept[0]); err != nil || f.Status != verdict.StatusOK {
			t.Errorf("kept verdict: %v %+v", err, f)
		}
	})
	t.Run("planted symlink", func(t *testing.T) {
		dir, _ := verdictTree(t)
		victim := filepath.Join(t.TempDir(), "victim")
		os.WriteFile(victim, []byte("precious\n"), 0o644)
		engineRan, plant = false, func(a string) { os.Symlink(victim, a) }
		code, out := runMain(t, "dh_loupe_verdict", dir, env, Deps{Analyze: engine})
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
			t.Errorf("the symlink's target was overwritten: %q", b)
		}
		a := filepath.Join(filepath.Dir(dir), "hello-loupe_1.0_"+hostArch(t)+".loupe.yaml")
		if fi, err := os.Lstat(a); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("artifact %v %v", fi, err)
		}
	})
}

// TestVerdictSizeBudget: a suite that runs hundreds of test helpers (as
// gnulib's do) keeps verdicts small. The package's verdict lists each
// helper by path and process count only (under 100 KB for 310 helpers with
// 60 syscalls each), and a -doc package that ships no executable lists none
// of them. helpers=full keeps the helpers' syscalls on request.
func TestVerdictSizeBudget(t *testing.T) {
	dir, run := verdictTree(t)
	ctl := filepath.Join(dir, "debian/control")
	b, err := os.ReadFile(ctl)
	if err != nil {
		t.Fatal(err)
	}
	doc := "\nPackage: hello-loupe-doc\nArchitecture: all\nDescription: documentation\n documentation.\n"
	if err := os.WriteFile(ctl, append(b, doc...), 0o644); err != nil {
		t.Fatal(err)
	}
	manual := filepath.Join(dir, "debian/hello-loupe-doc/usr/share/doc/hello-loupe-doc/manual.txt")
	os.MkdirAll(filepath.Dir(manual), 0o755)
	if err := os.WriteFile(manual, []byte("manual\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const helpers, perHelper = 310, 60
	var sc []verdict.Syscall
	for n := 0; n < perHelper; n++ {
		sc = append(sc, verdict.Syscall{Name: fmt.Sprintf("syscall_%d", n), Number: n, Calls: 7})
	}
	fs := []verdict.Feature{{Key: "mmap:anon+private", Calls: 3}, {Key: "ioctl:TCGETS", Calls: 1}}
	for i := 0; i < helpers; i++ {
		run.Binaries = append(run.Binaries, verdict.Binary{Path: filepath.Join(dir, fmt.Sprintf("gnulib-tests/test-helper-%03d", i)),
			SHA256: strings.Repeat("ab", 32), BuildID: strings.Repeat("cd", 20), Processes: 2, Syscalls: sc, Features: fs,
			PseudoFiles: []verdict.Feature{{Key: "/proc/self/maps", Calls: 1}}})
	}
	run.Packages = append(run.Packages, "hello-loupe-doc")
	if _, err := debhelper.WriteRun(dir, run); err != nil {
		t.Fatal(err)
	}
	arch := "hello-loupe_1.0_" + hostArch(t) + ".loupe.yaml"
	read := func(name string) (*verdict.File, int) {
		t.Helper()
		p := filepath.Join(filepath.Dir(dir), name)
		f, err := verdict.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(p)
		return f, int(fi.Size())
	}
	for _, tc := range []struct {
		dbo       string
		archLimit int
		full      bool
	}{
		{"loupe=trace", 100 << 10, false},
		{"loupe=trace,helpers=full", 0, true},
	} {
		code, out := runMain(t, "dh_loupe_verdict", dir, []string{"DEB_BUILD_OPTIONS=" + tc.dbo}, Deps{})
		if code != 0 {
			t.Fatalf("%s: exit %d:\n%s", tc.dbo, code, out)
		}
		f, size := read(arch)
		d, docSize := read("hello-loupe-doc_1.0_all.loupe.yaml")
		t.Logf("%s: %s %d bytes, %s %d bytes", tc.dbo, arch, size, "hello-loupe-doc_1.0_all.loupe.yaml", docSize)
		if f.Status != verdict.StatusOK || len(f.Binaries) != 1 || len(f.Helpers) != helpers+1 {
			t.Fatalf("%s: status %s, %d binaries, %d helpers", tc.dbo, f.Status, len(f.Binaries), len(f.Helpers))
		}
		h := f.Helpers[0]
		if h.Path != "gnulib-tests/test-helper-000" || h.Processes != 2 || (len(h.Syscalls) == perHelper) != tc.full ||
			(len(h.Features) == 2) != tc.full || (len(h.PseudoFiles) == 1) != tc.full {
			t.Errorf("%s: helper %s: %d processes, %d syscalls, %d features, %d pseudo-files", tc.dbo, h.Path, h.Processes,
				len(h.Syscalls), len(h.Features), len(h.PseudoFiles))
		}
		if tc.archLimit > 0 && size > tc.archLimit {
			t.Errorf("%s: %s is %d bytes, over the budget of %d", tc.dbo, arch, size, tc.archLimit)
		}
		// The -doc package: not-exercised, no helpers, a few lines.
		if d.Status != verdict.StatusNotExercised || d.Reason != "hello-loupe-doc ships no executable" || len(d.Helpers) != 0 ||
			len(d.Binaries) != 0 || docSize > 4<<10 {
			t.Errorf("%s: doc verdict: status %s (%s), %d helpers, %d bytes", tc.dbo, d.Status, d.Reason, len(d.Helpers), docSize)
		}
		if want := fmt.Sprintf("the test step ran %d test helpers; they are not listed, since hello-loupe-doc ships no executable", helpers+1); !reflect.DeepEqual(d.Evidence, []string{want}) {
			t.Errorf("%s: doc evidence %q", tc.dbo, d.Evidence)
		}
	}
}

// TestWhitelist: the test step's whitelist is the build tree except
// debian/, plus binaries.add and stand-ins globs, which may point under
// debian/ (a debug build made in debian/build-debug).
func TestWhitelist(t *testing.T) {
	dir := t.TempDir()
	cfg := &debhelper.Config{File: debhelper.ConfigFile,
		Add:      []debhelper.AddRule{{Path: "debian/build-x/foo", Package: "foo"}},
		StandIns: []debhelper.StandIn{{Path: "debian/build-debug/*-debug", Installed: "/usr/bin/foo", Line: 2}}}
	for _, tc := range []struct {
		cfg  *debhelper.Config
		rel  string
		want bool
	}{
		{nil, "src/foo", true},
		{nil, "debian/build-debug/foo-debug", false},
		{cfg, "src/foo", true},
		{cfg, "debian/build-debug/foo-debug", true},
		{cfg, "debian/build-x/foo", true},
		{cfg, "debian/foo/usr/bin/foo", false},
		{cfg, "../elsewhere/foo-debug", false},
	} {
		m, err := whitelist(dir, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(tracer.NewExe(filepath.Join(dir, tc.rel), nil)); got != tc.want {
			t.Errorf("config %v: %s matched %v, want %v (%s)", tc.cfg != nil, tc.rel, got, tc.want, m)
		}
	}
}
