package tracer

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestAdvance(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name           string
		eff, dt, delay time.Duration
		par            int
		want           time.Duration
	}{
		{"asleep or running", 0, 100 * ms, 0, 1, 100 * ms},
		{"starved", 0, 100 * ms, 80 * ms, 1, 20 * ms},
		{"two tasks starved side by side", 0, 100 * ms, 160 * ms, 2, 20 * ms},
		{"waiting reported late goes back", 500 * ms, 100 * ms, 400 * ms, 1, 200 * ms},
		{"never below zero", 100 * ms, 100 * ms, 900 * ms, 1, 0},
	} {
		if got := advance(tc.eff, tc.dt, tc.delay, tc.par); got != tc.want {
			t.Errorf("%s: advance(%v, %v, delay %v, par %d) = %v, want %v", tc.name, tc.eff, tc.dt, tc.delay, tc.par, got, tc.want)
		}
	}
}

// requireSchedstat skips where the kernel does not account run delays.
func requireSchedstat(t *testing.T) {
	t.Helper()
	if _, _, ok := readSchedstat("/proc/self/schedstat"); !ok {
		t.Skip("/proc/PID/schedstat is unavailable (kernel without CONFIG_SCHED_INFO): runs are timed by wall time")
	}
}

// hog starts n busy loops pinned to CPU 0, stopped at the end of the test.
func hog(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		cmd := exec.Command("taskset", "-c", "0", "/bin/sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("taskset (util-linux) is needed to load one CPU: %v", err)
		}
		t.Cleanup(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		})
	}
}

// spin is a CPU-bound workload pinned to CPU 0.
var spin = []string{"taskset", "-c", "0", "/bin/sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"}

// TestUsageDiscountsWaitingForACPU: a CPU-bound run that shares its CPU with
// three busy loops takes several times longer, but its effective time stays
// close to its CPU time; a sleeping run is charged in full.
func TestUsageDiscountsWaitingForACPU(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a run sharing its CPU with busy loops")
	}
	requirePtrace(t)
	requireSchedstat(t)
	// The half second asleep is charged in full; only the waiting for a
	// CPU (to start, on a loaded machine) is not.
	res := run(t, []string{"sleep", "0.5"})
	if u := res.Usage; !u.Corrected || u.Effective < 450*time.Millisecond {
		t.Errorf("sleep 0.5: %+v: a sleeping run must be charged its sleep", u)
	}
	hog(t, 3)
	res = run(t, spin)
	u := res.Usage
	if !res.Exit.Success() || !u.Corrected {
		t.Fatalf("spin: %v %+v", res.Exit, u)
	}
	if u.Waited < u.Wall/2 || u.Effective > u.Wall*6/10 {
		t.Errorf("spin sharing its CPU with 3 busy loops: %+v: want most of the wall time waiting, and the effective time well below the wall time", u)
	}
	t.Logf("spin sharing CPU 0 with 3 busy loops: wall %v, cpu %v, waited %v, effective %v", u.Wall, u.CPU, u.Waited, u.Effective)
	if u.Effective < u.CPU/2 {
		t.Errorf("spin: effective %v below half its CPU time %v", u.Effective, u.CPU)
	}
}

// TestLimitIgnoresLoad: a limit above the run's own duration is not hit
// when load stretches the run far beyond it; it is hit by a run that
// sleeps past it.
func TestLimitIgnoresLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a run sharing its CPU with busy loops")
	}
	requirePtrace(t)
	requireSchedstat(t)
	alone := run(t, spin).Usage.Effective
	limit := 2*alone + 500*time.Millisecond
	hog(t, 3)
	res := run(t, spin, func(_ *Command, o *Options) { o.Limit = limit })
	if res.LimitExceeded || !res.Exit.Success() {
		t.Errorf("spin under load, limit %v (alone it took %v): limit exceeded %v, exit %v, usage %+v", limit, alone, res.LimitExceeded, res.Exit, res.Usage)
	}
	t.Logf("spin alone: %v effective; under load: %+v", alone, res.Usage)
	if res.Usage.Wall < limit {
		t.Logf("the load stretched the run less than expected (wall %v, limit %v)", res.Usage.Wall, limit)
	}

	res = run(t, []string{"sleep", "60"}, func(_ *Command, o *Options) { o.Limit = time.Second })
	if !res.LimitExceeded || res.Exit.Signal != syscall.SIGKILL {
		t.Errorf("sleep 60 with a 1s limit: limit exceeded %v, exit %v", res.LimitExceeded, res.Exit)
	}
	if res.Usage.Wall > 30*time.Second {
		t.Errorf("the hung run was killed after %v", res.Usage.Wall)
	}
}

// TestUsageWithoutLimitLeavesRunsAlone: loupe trace sets no limit; the
// clock only measures.
func TestUsageWithoutLimitLeavesRunsAlone(t *testing.T) {
	requirePtrace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, Command{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 0.3"}, Stdout: os.Stderr}, Options{})
	if err != nil || !res.Exit.Success() || res.LimitExceeded {
		t.Fatalf("err %v exit %v limit %v", err, res.Exit, res.LimitExceeded)
	}
	if res.Usage.Wall <= 0 || res.Usage.Effective <= 0 {
		t.Errorf("usage %+v", res.Usage)
	}
}

// TestUsageCountsUntracedProcesses: in notify mode the out-of-scope
// processes are not traced, yet their waiting for a CPU is the run's: a
// spinning shell sharing its CPU with busy loops has its waiting counted,
// as with ptrace, so that a loaded machine does not make its runs time out.
func TestUsageCountsUntracedProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a run sharing its CPU with busy loops")
	}
	requireNotify(t)
	requireSchedstat(t)
	fx := fixture(t)
	hog(t, 3)
	res := run(t, spin, whitelist(fx), followNotify)
	u := res.Usage
	if !res.Exit.Success() || !u.Corrected || res.Follow != FollowNotify {
		t.Fatalf("spin: %v %+v follow %s", res.Exit, u, res.Follow)
	}
	if u.Waited < u.Wall/2 || u.Effective > u.Wall*6/10 {
		t.Errorf("untraced spin sharing its CPU with 3 busy loops: %+v: want most of the wall time waiting, and the effective time well below the wall time", u)
	}
}
