package loupecli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/chroottest"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
)

func runCLI(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	wd, _ := os.Getwd()
	if dir != "" {
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
	}
	app := New(strings.NewReader(""), &out, &errb)
	err := app.Run(append([]string{"loupe"}, args...))
	code := 0
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
	default:
		code = 2
		errb.WriteString("loupe: " + err.Error() + "\n")
	}
	return code, out.String(), errb.String()
}

func TestAnalyzeUsageErrors(t *testing.T) {
	tmp := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no command", []string{"analyze", "--binary", "/bin/true"}, "no workload command"},
		{"no binary", []string{"analyze", "--", "/bin/true"}, "no --binary"},
		{"missing binary", []string{"analyze", "--binary", filepath.Join(tmp, "nope"), "--", "/bin/true"}, "nope: "},
		{"bad granularity", []string{"analyze", "--binary", "/bin/true", "--granularity", "bytes", "--", "/bin/true"}, "--granularity"},
		{"bad isolation", []string{"analyze", "--binary", "/bin/true", "--isolation", "vm", "--", "/bin/true"}, "--isolation"},
		{"zero replicas", []string{"analyze", "--binary", "/bin/true", "--replicas", "0", "--", "/bin/true"}, "--replicas 0: want a whole number from 1 to 100"},
		{"bad tree", []string{"analyze", "--binary", "/bin/true", "--tree", filepath.Join(tmp, "none"), "--", "/bin/true"}, "workload tree"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.msg)
			}
		})
	}
}

func compileFixture(t *testing.T, dir, name string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatalf("gcc is needed to build the fixtures (scripts/install-deps installs it): %v", err)
	}
	src, _ := filepath.Abs(filepath.Join("..", "..", "..", "pkganalyze", "testdata", "fixtures", name+".c"))
	bin := filepath.Join(dir, name)
	if out, err := exec.Command(gcc, "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", name, err, out)
	}
	return bin
}

func TestAnalyzeCLI(t *testing.T) {
	ptracetest.Require(t)
	tree := t.TempDir()
	compileFixture(t, tree, "keepcaps")
	out := filepath.Join(t.TempDir(), "v.yaml")
	code, stdout, stderr := runCLI(t, tree, "analyze", "-q", "--replicas", "1", "--binary", "./keepcaps", "-o", out, "--", "./keepcaps")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q with --output", stdout)
	}
	f, err := verdict.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != verdict.StatusOK || f.Workload.Replicas != 1 || f.Environment.Kernel == "" || f.Environment.Loupe == "" {
		t.Errorf("verdict status %s replicas %d environment %+v", f.Status, f.Workload.Replicas, f.Environment)
	}
	if !strings.Contains(stderr, "status ok") {
		t.Errorf("no summary on stderr: %q", stderr)
	}
	if strings.Contains(stderr, "loupe: runs ") || strings.Contains(stderr, "loupe: experiment ") || strings.Contains(stderr, "loupe: group ") {
		t.Errorf("--quiet printed the runs or the progress: %q", stderr)
	}
	if f.Workload.Strategy != "adaptive" || f.RunMetadata.Jobs != runtime.NumCPU() {
		t.Errorf("strategy %q jobs %d; want the defaults, adaptive and %d (the CPUs)", f.Workload.Strategy, f.RunMetadata.Jobs, runtime.NumCPU())
	}

	// The workload failing untouched: exit 1, the verdict says so, and the
	// error shows the output.
	code, stdout, stderr = runCLI(t, tree, "analyze", "-q", "--replicas", "1", "--binary", "./keepcaps", "--",
		"/bin/sh", "-c", "./keepcaps; echo the check is unhappy >&2; exit 3")
	if code != exitBaselineFailed || !strings.Contains(stderr, "the check is unhappy") || !strings.Contains(stdout, "status: baseline-failed") {
		t.Errorf("failing baseline: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}

	// Insensitive: exit 3.
	code, stdout, _ = runCLI(t, tree, "analyze", "-q", "--replicas", "1", "--binary", "./keepcaps", "--",
		"/bin/sh", "-c", "./keepcaps || true")
	if code != exitNothingTested || !strings.Contains(stdout, "status: insensitive") {
		t.Errorf("insensitive: exit %d\n%s", code, stdout)
	}
}

func journalKeys(t *testing.T, path string) (keys []string, torn bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l struct{ Key string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			torn = true
			continue
		}
		keys = append(keys, l.Key)
	}
	return keys, torn
}

func waitLines(t *testing.T, path string, n int, cmd *exec.Cmd, done chan error, stderr *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && bytes.Count(b, []byte("\n")) >= n {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("loupe ended before %d runs: %v\n%s", n, err, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s never reached %d runs", path, n)
}

// stripMetadata drops what legitimately varies between invocations.
func stripMetadata(t *testing.T, path string) ([]byte, *verdict.File) {
	t.Helper()
	f, err := verdict.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := f.RunMetadata
	f.RunMetadata = verdict.RunMetadata{}
	b, _ := verdict.Marshal(f)
	f.RunMetadata = meta
	return b, f
}

// TestAnalyzeResumeAfterKill kills loupe with SIGKILL in the middle of an
// analysis, then with SIGTERM, and resumes: no finished run is made again,
// and the final verdict is the same however often it is resumed.
func TestAnalyzeResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: three interrupted and resumed analyses")
	}
	ptracetest.Require(t)
	loupe := loupeBinary(t)
	tree := t.TempDir()
	bin := compileFixture(t, tree, "either")
	state := filepath.Join(t.TempDir(), "state")
	journal := filepath.Join(state, "journal.jsonl")
	outDir := t.TempDir()
	// A scratch base of its own: other analyses running on the machine at
	// the same time (other test packages) make scratch directories under
	// /var/tmp that are not the killed loupe's. It must be outside the
	// overlaid /tmp.
	scratch, err := os.MkdirTemp("/var/tmp", "loupe-test-scratch-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(scratch) })
	args := func(out string) []string {
		return []string{"analyze", "-q", "--replicas", "2", "--state", state, "--binary", "./either", "-o", filepath.Join(outDir, out), "--", "./either"}
	}
	start := func(out string) (*exec.Cmd, chan error, *bytes.Buffer) {
		cmd := exec.Command(loupe, args(out)...)
		cmd.Dir = tree
		cmd.Env = append(os.Environ(), "LOUPE_SCRATCH="+scratch)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done, &stderr
	}

	// 1. SIGKILL after 20 runs.
	scratchBefore := scratchDirs(scratch)
	cmd, done, stderr := start("1.yaml")
	waitLines(t, journal, 20, cmd, done, stderr)
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	var leftover []string
	for d := range scratchDirs(scratch) {
		if !scratchBefore[d] {
			leftover = append(leftover, d)
		}
	}
	if pids := stillRunning(bin); len(pids) > 0 {
		t.Errorf("workload processes survived loupe's SIGKILL: %v", pids)
	}
	k1, _ := journalKeys(t, journal)

	// 2. SIGTERM after 15 more: exit 130, state consistent.
	cmd, done, stderr = start("2.yaml")
	waitLines(t, journal, len(k1)+15, cmd, done, stderr)
	cmd.Process.Signal(syscall.SIGTERM)
	err = <-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted || !strings.Contains(stderr.String(), "resume") {
		t.Errorf("after SIGTERM: %v, stderr %q; want exit %d and how to resume", err, stderr, exitInterrupted)
	}
	if pids := stillRunning(bin); len(pids) > 0 {
		t.Errorf("workload processes survived SIGTERM: %v", pids)
	}
	k2, _ := journalKeys(t, journal)
	for _, d := range leftover {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("the scratch directory %s of the killed loupe was not swept by the next one", d)
		}
	}

	// 3. To the end.
	cmd, done, stderr = start("3.yaml")
	if err := <-done; err != nil {
		t.Fatalf("resumed analysis: %v\n%s", err, stderr)
	}
	k3, torn := journalKeys(t, journal)
	t.Logf("journal: %d runs after SIGKILL, %d after SIGTERM, %d at the end", len(k1), len(k2), len(k3))
	if torn {
		t.Error("the journal has a torn line after a clean end")
	}
	seen := map[string]bool{}
	for _, k := range k3 {
		if seen[k] {
			t.Errorf("run %s was made twice", k)
		}
		seen[k] = true
	}
	b3, f3 := stripMetadata(t, filepath.Join(outDir, "3.yaml"))
	if f3.RunMetadata.ResumedRuns != len(k2) || f3.RunMetadata.ExecutedRuns != len(k3)-len(k2) {
		t.Errorf("resumed %d executed %d; journal had %d, then %d", f3.RunMetadata.ResumedRuns, f3.RunMetadata.ExecutedRuns, len(k2), len(k3))
	}
	if f3.Runs.Total != len(k3) {
		t.Errorf("runs.total %d, journal %d", f3.Runs.Total, len(k3))
	}

	// 4. Again: nothing to run, the same verdict.
	cmd, done, stderr = start("4.yaml")
	if err := <-done; err != nil {
		t.Fatalf("second resume: %v\n%s", err, stderr)
	}
	b4, f4 := stripMetadata(t, filepath.Join(outDir, "4.yaml"))
	if f4.RunMetadata.ExecutedRuns != 0 {
		t.Errorf("a finished analysis made %d runs again", f4.RunMetadata.ExecutedRuns)
	}
	if !bytes.Equal(b3, b4) {
		t.Errorf("verdicts differ between resumes:\n%s\n---\n%s", b3, b4)
	}
	if len(f3.Conflicts) == 0 {
		t.Errorf("the resumed analysis lost the conflict")
	}
}

func scratchDirs(base string) map[string]bool {
	m := map[string]bool{}
	ds, _ := filepath.Glob(filepath.Join(base, "loupe-analyze-*"))
	for _, d := range ds {
		m[d] = true
	}
	return m
}

// stillRunning waits up to 5s for the processes executing exe to go, and
// lists those that did not.
func stillRunning(exe string) []string {
	var pids []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if pids = running(exe); len(pids) == 0 {
			break
		}
	}
	return pids
}

// running lists processes executing exe. It compares the files, not the
// paths /proc shows: a process in a mount namespace of its own inside a
// chroot has its exe shown under the chroot's own path.
func running(exe string) []string {
	var pids []string
	want, err := os.Stat(exe)
	if err != nil {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if fi, err := os.Stat(filepath.Join("/proc", e.Name(), "exe")); err == nil && os.SameFile(fi, want) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// TestAnalyzeInChroot runs the kill-and-resume analysis inside a chroot
// whose root is not a mount point (sbuild, pbuilder), as root: namespaces
// isolation there must keep every guarantee.
func TestAnalyzeInChroot(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds a chroot and runs analyses in it")
	}
	ptracetest.Require(t)
	res := chroottest.Run(t, chroottest.Spec{
		Dirs:  []string{"../../../pkganalyze/testdata/fixtures"},
		Files: map[string]string{loupeBinary(t): "/src/bin/loupe"},
		Env:   []string{"LOUPE_BIN=/src/bin"},
	}, "-test.run=^TestAnalyzeResumeAfterKill$", "-test.v", "-test.count=1")
	chroottest.RequirePassed(t, res, "TestAnalyzeResumeAfterKill")
}

// TestAnalyzeReportsUnitsPerKind: at features granularity, loupe states the
// units per kind before the experiments and in the summary, and they are the
// units of the verdict.
func TestAnalyzeReportsUnitsPerKind(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a full analysis at features granularity")
	}
	ptracetest.Require(t)
	tree := t.TempDir()
	compileFixture(t, tree, "isatty")
	out := filepath.Join(t.TempDir(), "v.yaml")
	code, _, stderr := runCLI(t, tree, "analyze", "--replicas", "1", "--granularity", "features", "--binary", "./isatty", "-o", out, "--", "./isatty")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// Not a terminal: plain progress lines, no escape codes.
	if !regexp.MustCompile(`(?m)^loupe: runs \d+/\d+, units settled \d+/\d+, \d+s elapsed`).MatchString(stderr) ||
		strings.ContainsAny(stderr, "\r\x1b") {
		t.Errorf("no plain progress line, or escape codes, on stderr:\n%s", stderr)
	}
	f, err := verdict.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	b := f.Binaries[0]
	if len(b.Features) == 0 || len(b.PseudoFiles) != 0 {
		t.Fatalf("%d sub-features, %d pseudo-files at granularity features", len(b.Features), len(b.PseudoFiles))
	}
	n := len(b.Syscalls) + len(b.Features)
	kinds := fmt.Sprintf("%d units (%d syscalls, %d sub-features, 0 pseudo-files", n, len(b.Syscalls), len(b.Features))
	if !strings.Contains(stderr, "loupe: experiments (adaptive): "+kinds+"; granularity features)") {
		t.Errorf("the experiments line does not state %q:\n%s", kinds, stderr)
	}
	if !strings.Contains(stderr, "loupe: granularity features: "+kinds+"), ") {
		t.Errorf("the summary does not state %q:\n%s", kinds, stderr)
	}
	// isatty.c: ioctl is required, and only partly (TCGETS can go).
	partly := partlyRequired(b)
	if !strings.Contains(strings.Join(partly, " "), "ioctl") {
		t.Errorf("partly required syscalls %v, want ioctl among them", partly)
	}
	line := fmt.Sprintf("%d sub-features: ", len(b.Features))
	if !strings.Contains(stderr, line) || !strings.Contains(stderr, fmt.Sprintf("; %d required syscalls only partly required", len(partly))) {
		t.Errorf("no sub-feature summary with %d partly required syscalls:\n%s", len(partly), stderr)
	}
}
