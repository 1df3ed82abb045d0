package loupecli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/tracer/tracefile"

	"gopkg.in/yaml.v3"
)

var (
	buildOnce sync.Once
	loupeBin  string
	buildErr  error
)

// loupeBinary returns a loupe binary: $LOUPE_BIN/loupe (make test builds
// it) or one built now.
func loupeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if d := os.Getenv("LOUPE_BIN"); d != "" {
			loupeBin = filepath.Join(d, "loupe")
			return
		}
		dir, err := os.MkdirTemp("", "loupe-cli-test-")
		if err != nil {
			buildErr = err
			return
		}
		loupeBin = filepath.Join(dir, "loupe")
		out, err := exec.Command("go", "build", "-o", loupeBin, "salsa.debian.org/loupe-team/loupe/cmd/loupe").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build loupe: %v", buildErr)
	}
	return loupeBin
}

func cfixture(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command("gcc", "-O1", "-o", out, filepath.Join("testdata", name+".c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc (make deps installs it): %v\n%s", err, b)
	}
	return out
}

func TestTraceCLI(t *testing.T) {
	loupe := loupeBinary(t)
	fx := cfixture(t, "tool")
	marker := filepath.Join(t.TempDir(), "marker")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stderr   string // substring
		check    func(t *testing.T, f *tracefile.File)
	}{
		{name: "records the whitelisted binary", args: []string{"--binary", fx, "--", "sh", "-c", fx + " ok; ls / >/dev/null"},
			check: func(t *testing.T, f *tracefile.File) {
				if len(f.Binaries) != 1 || f.Binaries[0].Path != fx {
					t.Fatalf("binaries %+v", f.Binaries)
				}
				seen := map[string]bool{}
				for _, s := range f.Binaries[0].Syscalls {
					seen[s.Name] = true
				}
				if !seen["sysinfo"] || seen["getdents64"] {
					t.Fatalf("syscalls %v", seen)
				}
			}},
		{name: "kill-leftovers contains the command", args: []string{"--kill-leftovers", "--", "sh", "-c", "(sleep 0.3; touch " + marker + ") & exit 0"},
			check: func(t *testing.T, f *tracefile.File) {
				want := "subreaper"
				if os.Geteuid() == 0 {
					want = "pid-namespace"
				}
				if f.Containment != want {
					t.Errorf("containment %q, want %q", f.Containment, want)
				}
				time.Sleep(600 * time.Millisecond)
				if _, err := os.Stat(marker); err == nil {
					t.Error("a leftover outlived loupe trace --kill-leftovers")
				}
			}},
		{name: "counts seen says so", args: []string{"--counts", "seen", "--binary", fx, "--", "sh", "-c", fx + " ok; " + fx + " ok"},
			check: func(t *testing.T, f *tracefile.File) {
				if f.Counts != "seen" || len(f.Binaries) != 1 {
					t.Fatalf("counts %q, binaries %+v", f.Counts, f.Binaries)
				}
				for _, s := range f.Binaries[0].Syscalls {
					if s.Name == "sysinfo" && s.Calls >= 1 {
						return
					}
				}
				t.Errorf("sysinfo not recorded: %+v", f.Binaries[0].Syscalls)
			}},
		{name: "counts exact is not written", args: []string{"--counts", "exact", "--binary", fx, "--", fx, "ok"},
			check: func(t *testing.T, f *tracefile.File) {
				if f.Counts != "" {
					t.Errorf("counts %q in an exact trace", f.Counts)
				}
			}},
		{name: "counts bad value", args: []string{"--counts", "some", "--", "true"}, wantCode: 2, stderr: `--counts "some": want exact or seen`},
		{name: "exit code propagated", args: []string{"--binary", fx, "--", fx, "exit7"}, wantCode: 7},
		{name: "stub", args: []string{"--binary", fx, "--stub", "sysinfo", "--", fx, "ok"}, wantCode: 38},
		{name: "fake", args: []string{"--binary", fx, "--fake", "sysinfo", "--", fx, "ok"}},
		{name: "missing binary", args: []string{"--binary", "/nonexistent", "--", "true"}, wantCode: 2, stderr: "--binary /nonexistent"},
		// Accepted silently before: a typo traced nothing and said nothing.
		{name: "missing binary dir", args: []string{"--binary-dir", "/nonexistent", "--", "true"}, wantCode: 2, stderr: "--binary-dir /nonexistent: stat /nonexistent: no such file or directory"},
		{name: "binary dir is a file", args: []string{"--binary-dir", "/bin/true", "--", "true"}, wantCode: 2, stderr: "--binary-dir /bin/true: not a directory"},
		{name: "binary is a dir", args: []string{"--binary", "/usr/bin", "--", "true"}, wantCode: 2, stderr: "--binary /usr/bin: is a directory (use --binary-dir)"},
		{name: "unknown syscall suggests", args: []string{"--stub", "sysinfoo", "--", "true"}, wantCode: 2, stderr: `did you mean "sysinfo"`},
		{name: "command not found", args: []string{"--", "/nonexistent/cmd"}, wantCode: 127, stderr: "cannot run"},
		{name: "no command", args: []string{}, wantCode: 2, stderr: "no command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "trace.yaml")
			cmd := exec.Command(loupe, append([]string{"trace", "-o", out}, tt.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if tt.stderr != "" && !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
			if tt.check != nil {
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				var f tracefile.File
				if err := yaml.Unmarshal(b, &f); err != nil {
					t.Fatal(err)
				}
				tt.check(t, &f)
			}
		})
	}
}

// A command killed by a signal makes loupe die of the same signal, so the
// shell that runs loupe reports it exactly as without loupe.
func TestTraceReraisesSignal(t *testing.T) {
	loupe := loupeBinary(t)
	fx := cfixture(t, "tool")
	for _, sig := range []string{"segv", "term"} {
		native, _ := exec.Command("/bin/bash", "-c", fx+" "+sig+"; echo status=$?").Output()
		traced, _ := exec.Command("/bin/bash", "-c", loupe+" trace -o /dev/null -- "+fx+" "+sig+"; echo status=$?").Output()
		if string(native) != string(traced) || !strings.Contains(string(native), "status=1") {
			t.Errorf("%s: native %q, traced %q", sig, native, traced)
		}
	}
}
