package loupecli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
)

// fakeSbuild puts an sbuild that fails with status 2 first on PATH, and
// returns chroot and .deb files that exist, as rebuild's checks want.
func fakeSbuild(t *testing.T) (chroot, deb string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "sbuild"), []byte("#!/bin/sh\necho fake sbuild fails\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	chroot, deb = filepath.Join(bin, "chroot.tar"), filepath.Join(bin, "dh-loupe.deb")
	os.WriteFile(chroot, nil, 0o644)
	os.WriteFile(deb, nil, 0o644)
	return chroot, deb
}

// TestRebuildKeepsItsResults is the reproduction: with an sbuild
// that fails, "loupe rebuild ... .." removed OUT (journal, sbuild.conf,
// every package) and "." removed OUT/pkgs. Such sources are now refused
// with status 2 before anything is built, and OUT is intact.
func TestRebuildKeepsItsResults(t *testing.T) {
	chroot, deb := fakeSbuild(t)
	for _, src := range []string{"..", ".", "../..", "-x", "a/.."} {
		t.Run(src, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			marker := filepath.Join(out, "pkgs", "hello", "hello_1.0_amd64.loupe.yaml")
			os.MkdirAll(filepath.Dir(marker), 0o755)
			os.WriteFile(marker, []byte("kept"), 0o644)
			os.WriteFile(filepath.Join(out, "rebuild-journal.jsonl"), []byte(`{"spec":"hello","status":"built","dir":"x"}`+"\n"), 0o644)
			_, stderr, code := run(t, "rebuild", "--chroot", chroot, "--dh-loupe-deb", deb, "--out", out, "hello", src)
			if code != 2 || !strings.Contains(stderr, "is not a Debian source package name") {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			for _, p := range []string{marker, filepath.Join(out, "rebuild-journal.jsonl")} {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("lost: %v", err)
				}
			}
		})
	}
	// A valid name still builds (and fails, with the fake sbuild), in its
	// own directory only.
	out := filepath.Join(t.TempDir(), "out")
	other := filepath.Join(out, "pkgs", "other", "keep")
	os.MkdirAll(filepath.Dir(other), 0o755)
	os.WriteFile(other, nil, 0o644)
	stdout, stderr, code := run(t, "rebuild", "--chroot", chroot, "--dh-loupe-deb", deb, "--out", out, "hello")
	if code != 0 || !strings.Contains(stdout, "build-failed 1") {
		t.Errorf("valid source: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another package's directory was touched: %v", err)
	}
}

// TestCLIBounds: negative and absurd durations and counts are refused with
// status 2 and the accepted range, before anything runs. Before the fix
// --timeout=-1s ran the analysis with no per-run limit (and hung).
func TestCLIBounds(t *testing.T) {
	tmp := t.TempDir()
	marker := filepath.Join(tmp, "ran")
	workload := []string{"--", "sh", "-c", "touch " + marker}
	chroot, deb := fakeSbuild(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append([]string{"analyze", "--binary", "/bin/true", "--timeout=-1s"}, workload...), "analyze: --timeout -1s: want a duration such as 90s, 30m or 2h (at most 24h)"},
		{append([]string{"analyze", "--binary", "/bin/true", "--timeout=25h"}, workload...), "analyze: --timeout 25h0m0s: want"},
		{append([]string{"analyze", "--binary", "/bin/true", "--timeout=9999999999h"}, workload...), "invalid value"},
		{append([]string{"analyze", "--binary", "/bin/true", "--replicas=-1"}, workload...), "analyze: --replicas -1: want a whole number from 1 to 100"},
		{append([]string{"analyze", "--binary", "/bin/true", "--replicas=1000"}, workload...), "--replicas 1000: want a whole number from 1 to 100"},
		{append([]string{"analyze", "--binary", "/bin/true", "--jobs=0"}, workload...), "--jobs 0: want a whole number from 1 to 256"},
		{append([]string{"analyze", "--binary", "/bin/true", "--jobs=99999999999999999999"}, workload...), "invalid value"},
		{[]string{"rebuild", "--chroot", chroot, "--dh-loupe-deb", deb, "--out", filepath.Join(tmp, "out"), "--jobs=-1", "hello"}, "rebuild: --jobs -1: want a whole number from 1 to 256"},
		{[]string{"db", "--jobs=-4", tmp}, "db: --jobs -4: want a whole number from 0 to 256"},
	} {
		_, stderr, code := run(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the workload ran")
	}
	if _, err := os.Stat(filepath.Join(tmp, "out")); err == nil {
		t.Error("rebuild created its output directory")
	}
}

// okVerdict is an analyze verdict of status ok in which the package needs
// read and write (required) and can stub the rest.
func okVerdict() *verdict.File {
	f, t := verdict.Bool(false), verdict.Bool(true)
	var sys []verdict.Syscall
	for i, n := range []string{"read", "write", "open", "close", "stat", "fstat", "lstat", "poll"} {
		s := verdict.Syscall{Name: n, Number: i, Calls: 2, Outcome: verdict.Outcome{Stub: t, Fake: f}}
		if i < 2 {
			s.Outcome = verdict.Outcome{Stub: f, Fake: f, Required: true}
		}
		sys = append(sys, s)
	}
	return &verdict.File{Status: verdict.StatusOK, Mode: verdict.ModeAnalyze, Source: "app", Package: "app",
		Version: "1.0-1", Architecture: "amd64", Workload: verdict.Workload{Command: []string{"make", "check"}, Replicas: 3},
		Binaries: []verdict.Binary{{Path: "/usr/bin/app", SHA256: "00", Shipped: true, Processes: 1, Syscalls: sys}}}
}

// TestDBStrictRefusesTruncatedVerdicts is the reproduction: a
// verdict cut at 1/2, 2/3 or 3/4 of its lines was accepted by loupe db
// --strict as status ok with fewer syscalls, and loupe plan then reported
// the application as supported without implementing read and write.
func TestDBStrictRefusesTruncatedVerdicts(t *testing.T) {
	whole, err := verdict.Marshal(okVerdict())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(whole), "\n")
	osFile := filepath.Join(t.TempDir(), "None.syscalls")
	os.WriteFile(osFile, []byte("# nothing implemented\n"), 0o644)
	for _, frac := range [][2]int{{1, 2}, {2, 3}, {3, 4}} {
		dir := t.TempDir()
		p := filepath.Join(dir, "app_1.0-1_amd64.loupe.yaml")
		os.WriteFile(p, []byte(strings.Join(lines[:len(lines)*frac[0]/frac[1]], "")), 0o644)
		ds := filepath.Join(dir, "d.dataset.json")
		_, stderr, code := run(t, "db", "--strict", "-o", ds, p)
		if code != 1 || !strings.Contains(stderr, "app_1.0-1_amd64.loupe.yaml") {
			t.Errorf("cut at %d/%d: exit %d, stderr %q; want 1 and the file named", frac[0], frac[1], code, stderr)
		}
		d, err := dataset.ReadFile(ds)
		if err != nil || len(d.Entries) != 0 {
			t.Errorf("cut at %d/%d: dataset %v %+v", frac[0], frac[1], err, d)
		}
		out, _, _ := run(t, "plan", "--os", osFile, ds)
		if strings.Contains(out, "without implementing anything (1 apps)") {
			t.Errorf("cut at %d/%d: plan supports app:\n%s", frac[0], frac[1], out)
		}
	}
	// The whole file is accepted, and planned as needing read and write.
	dir := t.TempDir()
	p := filepath.Join(dir, "app_1.0-1_amd64.loupe.yaml")
	os.WriteFile(p, whole, 0o644)
	ds := filepath.Join(dir, "d.dataset.json")
	if _, stderr, code := run(t, "db", "--strict", "-o", ds, p); code != 0 {
		t.Fatalf("whole verdict: exit %d %s", code, stderr)
	}
	if out, _, _ := run(t, "plan", "--os", osFile, ds); strings.Contains(out, "without implementing anything (1 apps)") ||
		!strings.Contains(out, "read") || !strings.Contains(out, "write") {
		t.Errorf("plan of the whole verdict:\n%s", out)
	}
}

// runLoupe runs the loupe binary (ptrace needs its own process) with extra
// environment, and returns its exit status and stderr.
func runLoupe(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(loupeBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

// TestOutputsCheckedFirst: every command checks that its output can be
// written before it starts working. The issue's case: "loupe trace -o
// /nonexistent/x.yaml -- sh -c 'exit 3'" ran the command, then failed with
// status 2, so the command's status was lost; loupe analyze ran a whole
// analysis, then lost the verdict.
func TestOutputsCheckedFirst(t *testing.T) {
	ptracetest.Require(t)
	tmp := t.TempDir()
	marker := filepath.Join(tmp, "ran")
	bad := "/nonexistent/out"
	chroot, deb := fakeSbuild(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "-o", bad, "--", "sh", "-c", "touch " + marker + "; exit 3"}, "trace: --output: /nonexistent/out: directory /nonexistent: no such file or directory (create it first)"},
		{[]string{"analyze", "--binary", "/bin/true", "-o", bad, "--", "sh", "-c", "touch " + marker}, "analyze: --output: /nonexistent/out: directory /nonexistent"},
		{[]string{"analyze", "--binary", "/bin/true", "-o", tmp, "--", "sh", "-c", "touch " + marker}, "analyze: --output: " + tmp + " is a directory; name a file"},
		{[]string{"db", "-o", bad, tmp}, "db: --output: /nonexistent/out: directory /nonexistent"},
		{[]string{"plan", "--os", "/dev/null", "-o", bad, filepath.Join(tmp, "missing.json")}, "plan: --output: /nonexistent/out: directory /nonexistent"},
		{[]string{"report", "-o", bad, filepath.Join(tmp, "missing.json")}, "report: --output: /nonexistent/out: directory /nonexistent"},
		{[]string{"rebuild", "--chroot", chroot, "--dh-loupe-deb", deb, "--out", filepath.Join(tmp, "out"), "--db", bad, "hello"}, "rebuild: --db: /nonexistent/out: directory /nonexistent"},
	} {
		code, stderr := runLoupe(t, []string{"PATH=" + os.Getenv("PATH")}, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tt.args[0], code, stderr, tt.want)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a workload ran although its output could not be written")
	}
	if _, err := os.Stat(filepath.Join(tmp, "out")); err == nil {
		t.Error("rebuild started")
	}
}

// TestOutputKeptWhenWriteFails: an output that passed the check but still
// cannot be written at the end is kept in the temporary directory, and
// loupe says where; loupe trace still exits with the command's status.
func TestOutputKeptWhenWriteFails(t *testing.T) {
	ptracetest.Require(t)
	keep := t.TempDir()
	env := []string{"TMPDIR=" + keep}
	kept := func(t *testing.T, stderr, pattern string) []byte {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(keep, pattern))
		if len(m) != 1 || !strings.Contains(stderr, "is kept in "+m[0]) {
			t.Fatalf("kept %v; stderr %q", m, stderr)
		}
		b, _ := os.ReadFile(m[0])
		os.Remove(m[0])
		return b
	}
	t.Run("trace: the command removes the output directory", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "d")
		os.Mkdir(d, 0o755)
		code, stderr := runLoupe(t, env, "trace", "-o", filepath.Join(d, "x.yaml"), "--", "sh", "-c", "rm -rf "+d+"; exit 3")
		if code != 3 {
			t.Errorf("exit %d, want the command's 3; stderr %q", code, stderr)
		}
		if b := kept(t, stderr, "loupe-kept-x-*.yaml"); !bytes.Contains(b, []byte("schema: loupe/trace/v1")) {
			t.Errorf("kept trace %q", b)
		}
	})
	t.Run("trace: a full disk", func(t *testing.T) {
		code, stderr := runLoupe(t, env, "trace", "-o", "/dev/full", "--", "sh", "-c", "exit 4")
		if code != 4 || !strings.Contains(stderr, "no space left on device") {
			t.Errorf("exit %d, want the command's 4; stderr %q", code, stderr)
		}
		kept(t, stderr, "loupe-kept-full-*")
	})
	t.Run("analyze", func(t *testing.T) {
		tree := t.TempDir()
		code, stderr := runLoupe(t, env, "analyze", "-q", "--replicas", "1", "--tree", tree, "--binary", "/bin/true", "-o", "/dev/full", "--", "sh", "-c", "exit 0")
		if code != 2 {
			t.Errorf("exit %d; stderr %q", code, stderr)
		}
		f, err := verdict.Parse("kept", kept(t, stderr, "loupe-kept-full-*"))
		if err != nil || f.Status != verdict.StatusNotExercised {
			t.Errorf("kept verdict: %v %+v", err, f)
		}
	})
	t.Run("db", func(t *testing.T) {
		code, stderr := runLoupe(t, env, "db", "-o", "/dev/full", t.TempDir())
		if code != 2 {
			t.Errorf("exit %d; stderr %q", code, stderr)
		}
		if _, err := dataset.Parse("kept", kept(t, stderr, "loupe-kept-full-*")); err != nil {
			t.Error(err)
		}
	})
}

// TestDBLoupeDBNotADatabase: --loupedb at a file or at a directory without
// apps/ imported nothing and exited 0, even with --strict; now status 2.
func TestDBLoupeDBNotADatabase(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "f")
	os.WriteFile(file, nil, 0o644)
	for _, db := range []string{file, tmp} {
		for _, strict := range []bool{false, true} {
			args := []string{"db", "--loupedb", db, "-o", filepath.Join(t.TempDir(), "d.json")}
			if strict {
				args = append(args, "--strict")
			}
			_, stderr, code := run(t, args...)
			if code != 2 || !strings.Contains(stderr, "want a loupedb checkout") {
				t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
			}
		}
	}
}

// TestUnknownSyscallNames: unknown syscall names in verdicts and datasets
// were accepted and planned as "implement: not_a_syscall"; they are now
// refused with a suggestion. In OS files they are warned about (upstream's
// Gvisor.syscalls lists futimensat), and the plan goes on.
func TestUnknownSyscallNames(t *testing.T) {
	dir := t.TempDir()
	v := okVerdict()
	v.Binaries[0].Syscalls[1].Name = "wrte"
	b, _ := verdict.Marshal(v)
	vp := filepath.Join(dir, "app_1.0-1_amd64.loupe.yaml")
	os.WriteFile(vp, b, 0o644)
	_, stderr, code := run(t, "db", "--strict", "-o", filepath.Join(dir, "v.json"), vp)
	if code != 1 || !strings.Contains(stderr, `field binaries[0].syscalls[1].name: unknown amd64 syscall "wrte" (did you mean "write"?)`) {
		t.Errorf("verdict: exit %d, stderr %q", code, stderr)
	}
	ds := filepath.Join(dir, "d.json")
	os.WriteFile(ds, []byte(`{"schema":"loupe/dataset/v1","entries":[{"name":"a","origin":"verdict","architecture":"amd64","status":"ok","mode":"analyze","syscalls":{"required":["not_a_syscall"]}}]}`), 0o644)
	osFile := filepath.Join(dir, "None.syscalls")
	os.WriteFile(osFile, []byte("read\nfutimensat\n"), 0o644)
	out, stderr, code := run(t, "plan", "--os", osFile, ds)
	if code != 2 || !strings.Contains(stderr, `field entries[0].syscalls.required[0]: unknown amd64 syscall "not_a_syscall"`) || strings.Contains(out, "not_a_syscall") {
		t.Errorf("dataset: exit %d, stderr %q, out %q", code, stderr, out)
	}
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"schema":"loupe/dataset/v1","entries":[]}`), 0o644)
	if _, stderr, code := run(t, "plan", "--os", osFile, good); code != 0 ||
		!strings.Contains(stderr, `loupe plan: warning: `+osFile+`:2: field name: unknown amd64 syscall "futimensat" (did you mean "futimesat"?); kept, but no data can use it`) {
		t.Errorf("OS file: exit %d, stderr %q", code, stderr)
	}
}
