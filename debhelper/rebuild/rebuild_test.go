package rebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

func TestParseSummaries(t *testing.T) {
	log := `dh_loupe -O--buildsystem=makefile
	make -j2 check
loupe: greet status=ok mode=trace syscalls=41
loupe: greet-doc status=not-exercised mode=trace syscalls=0
some noise loupe: fake status=ok
loupe: greet status=ok mode=analyze syscalls=40
loupe: weird status=error
`
	got := fmt.Sprint(ParseSummaries(strings.NewReader(log)))
	want := fmt.Sprint([]Binary{
		{Package: "greet", Status: "ok", Mode: "analyze", Syscalls: 40},
		{Package: "greet-doc", Status: "not-exercised", Mode: "trace"},
		{Package: "weird", Status: "error"},
	})
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestClassify(t *testing.T) {
	b := func(st ...string) []Binary {
		var out []Binary
		for i, s := range st {
			out = append(out, Binary{Package: fmt.Sprintf("p%d", i), Status: verdict.Status(s)})
		}
		return out
	}
	tests := []struct {
		name    string
		changes bool
		bins    []Binary
		log     string
		want    Status
	}{
		{"ok", true, b("ok", "not-exercised"), "", Built},
		{"no verdicts", true, nil, "", Built},
		{"insensitive", true, b("insensitive", "not-exercised"), "", Insensitive},
		{"one ok is enough", true, b("ok", "insensitive"), "", Built},
		{"loupe error, build ok", true, b("ok", "error"), "", LoupeError},
		{"loupe error, build failed", false, b("error"), "dh_auto_test: error: make check", LoupeError},
		{"flaky baseline", true, b("baseline-failed"), "", TestsFailed},
		{"tests failed, summary", false, b("baseline-failed"), "", TestsFailed},
		{"tests failed, no summary", false, nil, "   dh_auto_test: error: make -j2 check returned exit code 2\n", TestsFailed},
		{"compile failed", false, nil, "greet.c:1: error: expected ';'\nmake: *** [Makefile:3: greet] Error 1\ndh_auto_build: error: make -j2 returned exit code 2\n", BuildFailed},
		{"nothing", false, nil, "", BuildFailed},
	}
	for _, tt := range tests {
		got, detail := Classify(tt.changes, tt.bins, []byte(tt.log))
		if got != tt.want {
			t.Errorf("%s: %s (%s), want %s", tt.name, got, detail, tt.want)
		}
	}
	_, detail := Classify(false, nil, []byte(tests[9].log))
	if !strings.Contains(detail, "dh_auto_build: error") {
		t.Errorf("build-failed detail should quote the last error line: %q", detail)
	}
}

// replay is a Builder that copies a recorded build directory (a real
// sbuild output, see testdata/outcomes/README) into dir.
type replay struct {
	mu     sync.Mutex
	from   map[string]string // spec -> recorded dir
	calls  []string
	cancel func() // called when spec cancelAt starts
	at     string
}

func (r *replay) Build(ctx context.Context, spec, dir string, out io.Writer) error {
	r.mu.Lock()
	r.calls = append(r.calls, spec)
	r.mu.Unlock()
	if spec == r.at && r.cancel != nil {
		r.cancel()
		<-ctx.Done()
		os.WriteFile(filepath.Join(dir, "partial.build"), []byte("killed half way\n"), 0o644)
		return ctx.Err()
	}
	src := r.from[spec]
	if src == "" {
		return errors.New("no recording for " + spec)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "replayed %s\n", src)
	if _, err := os.Stat(filepath.Join(src, "exit-status-2")); err == nil {
		return fmt.Errorf("replay %w: %w", ErrBuildFailed, exec.Command("false").Run())
	}
	return nil
}

func outcomes(t *testing.T) map[string]string {
	m := map[string]string{}
	ents, err := os.ReadDir("testdata/outcomes")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			m[e.Name()] = filepath.Join("testdata/outcomes", e.Name())
		}
	}
	return m
}

// TestInspectRecorded classifies real sbuild build directories.
func TestInspectRecorded(t *testing.T) {
	want := map[string]Status{
		"built-verdicts": Built,
		"tests-failed":   TestsFailed,
		"build-failed":   BuildFailed,
		"loupe-error":    LoupeError,
		"insensitive":    Insensitive,
	}
	for name, dir := range outcomes(t) {
		w, ok := want[name]
		if !ok {
			t.Errorf("recorded outcome %s has no expected status in this test", name)
			continue
		}
		r := Inspect(dir)
		if r.Status != w {
			t.Errorf("%s: %s (%s), want %s", name, r.Status, r.Detail, w)
		}
	}
}

// TestResume kills a run in the middle of a build (by cancelling its
// context), then runs again: finished packages are skipped, the one that was
// building is rebuilt from a clean directory, and the journal has every
// package once.
func TestResume(t *testing.T) {
	out := t.TempDir()
	rec := outcomes(t)
	specs := []string{"built-verdicts", "tests-failed", "build-failed", "loupe-error", "insensitive"}
	ctx, cancel := context.WithCancel(context.Background())
	b1 := &replay{from: rec, cancel: cancel, at: "build-failed"}
	var prog bytes.Buffer
	_, err := Run(ctx, b1, specs, Options{Out: out, Jobs: 1, Progress: &prog})
	if err == nil || !strings.Contains(err.Error(), "run it again") {
		t.Fatalf("interrupted run: err %v", err)
	}
	recorded, _ := ReadJournal(out)
	if len(recorded) != 2 {
		t.Fatalf("journal after the kill has %d packages, want the 2 finished: %v", len(recorded), recorded)
	}
	// A torn last line, as a kill during the write would leave.
	f, _ := os.OpenFile(filepath.Join(out, JournalName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"spec":"build-fai`)
	f.Close()

	b2 := &replay{from: rec}
	var done []string
	res, err := Run(context.Background(), b2, specs, Options{Out: out, Jobs: 2, Progress: &prog,
		Done: func(d, planned int) { done = append(done, fmt.Sprintf("%d/%d", d, planned)) }})
	if err != nil {
		t.Fatal(err)
	}
	// The progress line's counts: the packages built in this run.
	if got := strings.Join(done, " "); got != "1/3 2/3 3/3" {
		t.Errorf("progress %q, want 1/3 2/3 3/3", got)
	}
	if got := strings.Join(sorted(b2.calls), " "); got != "build-failed insensitive loupe-error" {
		t.Errorf("second run built %q, want only the unfinished ones", got)
	}
	bf, _ := PackageDir(out, "build-failed")
	if _, err := os.Stat(filepath.Join(bf, "partial.build")); err == nil {
		t.Error("leftovers of the killed build were not cleaned")
	}
	for i, r := range res {
		if r.Spec != specs[i] {
			t.Errorf("result %d is %q, want %q", i, r.Spec, specs[i])
		}
	}
	var sum bytes.Buffer
	Summary(&sum, res)
	if !strings.Contains(sum.String(), "5 packages: built 1 tests-failed 1 insensitive 1 loupe-error 1 build-failed 1") {
		t.Errorf("summary:\n%s", sum.String())
	}
	// A third run does nothing; with RetryFailed it rebuilds the failures.
	b3 := &replay{from: rec}
	Run(context.Background(), b3, specs, Options{Out: out})
	if len(b3.calls) != 0 {
		t.Errorf("third run built %v", b3.calls)
	}
	Run(context.Background(), b3, specs, Options{Out: out, RetryFailed: true})
	if got := strings.Join(sorted(b3.calls), " "); got != "build-failed insensitive loupe-error tests-failed" {
		t.Errorf("retry-failed built %q", got)
	}
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestSbuildInvocation(t *testing.T) {
	s := &Sbuild{Chroot: "/c.tar.zst", Dist: "bookworm", DhLoupeDeb: "/d/dh-loupe.deb", Mode: "analyze", Config: "/o/sbuild.conf"}
	args := strings.Join(s.Args("hello", "/o/pkgs/hello"), " ")
	for _, want := range []string{"--chroot-mode=unshare", "--chroot=/c.tar.zst", "--extra-package=/d/dh-loupe.deb", "--add-depends=dh-loupe", "--build-dir=/o/pkgs/hello", "--dist=bookworm"} {
		if !strings.Contains(args, want) {
			t.Errorf("sbuild args lack %s: %s", want, args)
		}
	}
	if !strings.HasSuffix(args, " hello") {
		t.Errorf("the package must come last: %s", args)
	}
	t.Setenv("DEB_BUILD_OPTIONS", "parallel=4 loupe=trace nocheck")
	env := strings.Join(s.Env(), "\n")
	if !strings.Contains(env, "SBUILD_CONFIG=/o/sbuild.conf") || !strings.Contains(env, "DEB_BUILD_OPTIONS=parallel=4 nocheck loupe=analyze") {
		t.Errorf("env: %s", env)
	}
	if !strings.Contains(ConfigText(), "$build_environment = { 'DH_EXTRA_ADDONS' => 'loupe' };") {
		t.Error("config does not pass DH_EXTRA_ADDONS")
	}
	if !strings.Contains(ConfigText(), "$build_user = 'root';") {
		t.Error("config does not build as root in sbuild's user namespace")
	}
	// The config must be valid Perl, as sbuild will eval it.
	if perl, err := exec.LookPath("perl"); err == nil {
		f := filepath.Join(t.TempDir(), "c.pl")
		os.WriteFile(f, []byte("our ($build_environment, $build_user, $external_commands);\n"+ConfigText()), 0o644)
		if out, err := exec.Command(perl, "-c", f).CombinedOutput(); err != nil {
			t.Errorf("perl -c: %v\n%s", err, out)
		}
	}
}

// A damaged line in the middle of the journal is not a torn write: the
// rebuild stops and names it instead of building that package again
// unnoticed (it used to be skipped silently).
func TestJournalRefusesDamage(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, JournalName), []byte("garbage\n"+`{"spec":"hello","status":"built","dir":"x"}`+"\n"), 0o644)
	_, err := Run(context.Background(), &replay{from: outcomes(t)}, []string{"hello"}, Options{Out: out})
	if err == nil || !strings.Contains(err.Error(), JournalName+":1: unreadable journal line") {
		t.Fatalf("Run on a damaged journal: %v, want an error naming %s:1", err, JournalName)
	}
}
