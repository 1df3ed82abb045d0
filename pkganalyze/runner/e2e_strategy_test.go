package runner

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
)

// decisions lists what a verdict decided per binary and syscall: stub,
// fake, required (what --strategy adaptive must reproduce).
func decisions(f *verdict.File) []string {
	var out []string
	for _, b := range f.Binaries {
		for _, s := range b.Syscalls {
			out = append(out, fmt.Sprintf("%s %s stub=%s fake=%s required=%v", filepath.Base(b.Path), s.Name, bp(s.Stub), bp(s.Fake), s.Required))
		}
	}
	sort.Strings(out)
	return out
}

func sameDecisions(t *testing.T, what string, a, b *verdict.File) {
	t.Helper()
	da, db := decisions(a), decisions(b)
	if strings.Join(da, "\n") != strings.Join(db, "\n") {
		t.Errorf("%s:\n  %s\nvs\n  %s", what, strings.Join(da, "\n  "), strings.Join(db, "\n  "))
	}
}

// TestE2EStrategiesAgree analyses real fixtures with known answers under
// both strategies: the stub, fake and required verdicts must be the same.
// "suite" runs three fixtures in one workload, so that the adaptive
// strategy groups units of several programs and has failures to split.
func TestE2EStrategiesAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: two full analyses per fixture")
	}
	ptracetest.Require(t)
	for _, tc := range []struct {
		name string
		cmd  []string
		bins []string
	}{
		{"keepcaps", []string{"./keepcaps"}, []string{"keepcaps"}},
		{"rlimit", []string{"./rlimit"}, []string{"rlimit"}},
		{"suite", []string{"/bin/sh", "-c", "./keepcaps && ./rlimit && ./writer && grep -q hello out.txt"},
			[]string{"keepcaps", "rlimit", "writer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := compile(t, "keepcaps", "rlimit", "writer")
			var fs []*verdict.File
			for _, st := range []pkganalyze.Strategy{pkganalyze.StrategyExhaustive, pkganalyze.StrategyAdaptive} {
				f, err := analyze(t, tree, e2e{cmd: tc.cmd, bins: tc.bins, replicas: 2, jobs: 2, strategy: st})
				mustOK(t, f, err)
				if f.Workload.Strategy != st || f.RunMetadata.Jobs != 2 {
					t.Errorf("workload.strategy %q, run_metadata.jobs %d; want %s and 2", f.Workload.Strategy, f.RunMetadata.Jobs, st)
				}
				t.Logf("%s: %d runs", st, f.Runs.Total)
				fs = append(fs, f)
			}
			sameDecisions(t, "exhaustive vs adaptive", fs[0], fs[1])
			if fs[1].Runs.Total >= fs[0].Runs.Total {
				t.Errorf("adaptive made %d runs, exhaustive %d", fs[1].Runs.Total, fs[0].Runs.Total)
			}
			if tc.name != "rlimit" {
				want(t, fs[1], "keepcaps", "prctl", no, yes, false)
			}
		})
	}
}

// TestE2EUnderLoad analyses a workload that runs a while on the CPU, with an
// explicit timeout only 1.5 times its quiet duration, on a quiet machine
// and then while busy loops load every CPU twice over: the verdicts must be
// the same (no run of the loaded analysis times out, although many take
// longer than the timeout), and the hung run (getrusage stubbed in hang) is
// still killed by the timeout.
func TestE2EUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: two analyses, one on a loaded machine")
	}
	ptracetest.Require(t)
	if _, err := os.ReadFile("/proc/self/schedstat"); err != nil {
		t.Skip("/proc/PID/schedstat is unavailable (kernel without CONFIG_SCHED_INFO): timeouts are on wall time here")
	}
	tree := compile(t, "keepcaps", "hang")
	// About 0.3s of CPU in the shell, then the fixtures.
	script := "i=0; while [ $i -lt 60000 ]; do i=$((i+1)); done; ./keepcaps && ./hang"
	spin := exec.Command("/bin/sh", "-c", script)
	spin.Dir = tree
	start := time.Now()
	if out, err := spin.CombinedOutput(); err != nil {
		t.Fatalf("the workload fails untouched: %v %s", err, out)
	}
	timeout := max(3*time.Since(start)/2, time.Second)
	x := e2e{cmd: []string{"/bin/sh", "-c", script}, bins: []string{"keepcaps", "hang"}, replicas: 2, jobs: 2, timeout: timeout}
	quiet, err := analyze(t, tree, x)
	mustOK(t, quiet, err)
	want(t, quiet, "keepcaps", "prctl", no, yes, false)
	want(t, quiet, "hang", "getrusage", no, yes, false)

	n := 2 * runtime.NumCPU()
	for i := 0; i < n; i++ {
		cmd := exec.Command("/bin/sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	}
	loaded, err := analyze(t, tree, x)
	mustOK(t, loaded, err)
	sameDecisions(t, "quiet vs loaded", quiet, loaded)
	for _, f := range []*verdict.File{quiet, loaded} {
		for _, b := range f.Binaries {
			for _, s := range b.Syscalls {
				if s.Flaky {
					t.Errorf("%s %s flaky: %q", filepath.Base(b.Path), s.Name, s.Evidence)
				}
			}
		}
	}
	slowest := 0.0
	for _, w := range loaded.RunMetadata.ReferenceWall {
		slowest = max(slowest, w)
	}
	t.Logf("timeout %v (on load-corrected time); %d busy loops; slowest loaded reference run %.2fs wall; runs %d quiet, %d loaded",
		timeout, n, slowest, quiet.Runs.Total, loaded.Runs.Total)
}
