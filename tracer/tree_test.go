package tracer

// Following the tree: threads, forks, execs, and the rare orderings of
// tree.go (early deaths with reused pids, parked stops).

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestThreadsForksAndExecs(t *testing.T) {
	fx := fixture(t)
	mechanisms(t, func(t *testing.T, mech runOpt) {
		tests := []struct {
			mode  string
			args  []string
			exit  int
			procs int // process images of the fixture
			check func(t *testing.T, b *Binary)
		}{
			{mode: "threads", args: []string{"4"}, procs: 1, check: func(t *testing.T, b *Binary) {
				if calls(b, "getppid") != 400 {
					t.Errorf("getppid from 4 threads = %d, want 400", calls(b, "getppid"))
				}
			}},
			// fixture -> sh -> fixture: the forked child (replaced by sh) and
			// the fixture that sh runs.
			{mode: "forkexec", procs: 3, check: func(t *testing.T, b *Binary) {
				var saw bool
				for _, p := range b.Processes {
					if len(p.Argv) == 3 && p.Argv[1] == "exit" && p.Exit.Code == 4 {
						saw = true
					}
				}
				if !saw {
					t.Errorf("grandchild fixture not recorded: %+v", b.Processes)
				}
			}},
			{mode: "spawn", procs: 3},
			// An exec from a non-leader thread takes over the leader's pid.
			{mode: "threadexec", exit: 5, procs: 2, check: func(t *testing.T, b *Binary) {
				if b.Processes[0].PID != b.Processes[1].PID || !b.Processes[0].Replaced || b.Processes[1].Exit.Code != 5 {
					t.Errorf("thread exec records %+v", b.Processes)
				}
			}},
			{mode: "signal", procs: 1},
			{mode: "jobctl", procs: 2},
		}
		for _, tt := range tests {
			t.Run(tt.mode, func(t *testing.T) {
				res := run(t, append([]string{fx, tt.mode}, tt.args...), whitelist(fx), mech)
				if res.Exit.Code != tt.exit || res.Exit.Signal != 0 {
					t.Fatalf("exit %v, want %d", res.Exit, tt.exit)
				}
				b := binOf(res, fx)
				if b == nil || len(b.Processes) != tt.procs {
					t.Fatalf("fixture images = %v, want %d", b, tt.procs)
				}
				if tt.check != nil {
					tt.check(t, b)
				}
			})
		}
	})
}

// seedNextPids remembers deaths of the next pids the kernel will hand out,
// as a stale record would after pid_max wraps: the children of the run
// below are born with pids the tracer believes dead.
func seedNextPids(t *testing.T) func(*Command, *Options) {
	b, err := os.ReadFile("/proc/sys/kernel/ns_last_pid")
	if err != nil {
		t.Skipf("cannot read the next pid: %v", err)
	}
	mb, _ := os.ReadFile("/proc/sys/kernel/pid_max")
	last, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	max, _ := strconv.Atoi(strings.TrimSpace(string(mb)))
	if max <= 0 {
		max = 32768
	}
	var pids []int
	for i := 1; i <= 20000 && i < max; i++ {
		if p := (last + i) % max; p > 300 {
			pids = append(pids, p)
		}
	}
	return func(_ *Command, o *Options) { o.hooks.seedDeadEarly = pids }
}

// A remembered early death whose pid is reused by a new child must not
// leave that child stopped forever (it hung sed's make check).
func TestReusedPidOfEarlyDeath(t *testing.T) {
	script := "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done; echo done"
	mechanisms(t, func(t *testing.T, mech runOpt) {
		res, out := runOut(t, []string{"/bin/sh", "-c", script}, seedNextPids(t), mech,
			func(_ *Command, o *Options) { o.hooks.adoptAfter = time.Hour })
		if !res.Exit.Success() || out != "done\n" {
			t.Fatalf("exit %v, output %q", res.Exit, out)
		}
		if res.Processes < 11 {
			t.Errorf("%d processes followed, want the shell and its 10 children", res.Processes)
		}
	})
}

// A parked first stop whose parent's event never names it is adopted from
// /proc (here the event is ignored by trusting the stale death records).
func TestParkedStopAdopted(t *testing.T) {
	script := "for i in 1 2 3; do /bin/true; done; echo done"
	res, out := runOut(t, []string{"/bin/sh", "-c", script}, seedNextPids(t),
		func(_ *Command, o *Options) {
			o.hooks.trustDeadEarly, o.hooks.adoptAfter = true, 20*time.Millisecond
		})
	if !res.Exit.Success() || out != "done\n" {
		t.Fatalf("exit %v, output %q", res.Exit, out)
	}
	if res.Processes < 4 {
		t.Errorf("%d processes followed, want the shell and its 3 children adopted", res.Processes)
	}
}
