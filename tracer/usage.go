package tracer

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Usage is what a run took: wall time, and how much of it the machine's
// load added. On a loaded machine a run's processes spend time runnable but
// waiting for a CPU; the kernel counts it per task (the second field of
// /proc/PID/task/TID/schedstat, "run delay"). Subtracting that waiting from
// the wall time gives the duration the run would have had on an idle
// machine, which is what a timeout should compare: a run that sleeps or
// blocks is charged in full, a run that only waits for a CPU is not.
type Usage struct {
	Wall time.Duration
	// CPU is the time the tree's tasks and the tracer thread ran.
	CPU time.Duration
	// Waited is the time they were runnable but waited for a CPU.
	Waited time.Duration
	// Effective is the load-corrected duration (see Usage): Wall minus
	// the waiting that delayed the run. Waiting of tasks that ran in
	// parallel counts once: in each sampling interval the waiting is
	// divided by the number of tasks that wanted a CPU.
	Effective time.Duration
	// Corrected is false where schedstat is unavailable (a kernel built
	// without CONFIG_SCHED_INFO): Effective is then Wall.
	Corrected bool
}

// usageInterval is how often the tree is sampled.
const usageInterval = 100 * time.Millisecond

// clock measures a run's Usage by sampling the schedstat of the tree's
// tasks. It is driven by its own goroutine (watch), never by the tracer
// thread, so a slow /proc read cannot delay a tracee.
type clock struct {
	mu        sync.Mutex
	ok        bool
	start     time.Time
	last      time.Time
	eff       time.Duration
	cpu       time.Duration
	waited    time.Duration
	prev      map[int][2]int64 // tid -> cpu, delay (ns) at the last sample
	running   int              // runnable tasks at the last sample
	self      string           // the tracer thread's /proc/self/task/TID/
	frozen    bool
	frozenUse Usage
}

func newClock(start time.Time, tracerTid int) *clock {
	c := &clock{start: start, last: start, prev: map[int][2]int64{}}
	c.self = "/proc/self/task/" + strconv.Itoa(tracerTid) + "/"
	_, _, c.ok = readSchedstat(c.self + "schedstat")
	return c
}

// readSchedstat returns a task's on-CPU and run-delay nanoseconds.
func readSchedstat(path string) (cpu, delay int64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, false
	}
	cpu, err1 := strconv.ParseInt(f[0], 10, 64)
	delay, err2 := strconv.ParseInt(f[1], 10, 64)
	return cpu, delay, err1 == nil && err2 == nil
}

// runnable reports whether a task is running or waiting for a CPU (state
// R in /proc/PID/task/TID/stat).
func runnable(stat string) bool {
	b, err := os.ReadFile(stat)
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'R'
}

// sample reads every task of the given processes (and the tracer thread)
// and advances the clock to now. It reports whether a task is starved:
// runnable, yet it barely ran since the last sample. The kernel adds a
// task's waiting to its run delay only when the task gets a CPU, so a
// starved task's waiting is not counted yet, and the clock is ahead.
func (c *clock) sample(now time.Time, tgids []int) (starved bool) {
	var dcpu, ddelay int64
	seen := map[int][2]int64{}
	running := 0
	c.mu.Lock()
	dt := now.Sub(c.last)
	c.mu.Unlock()
	add := func(tid int, dir string) {
		cpu, delay, ok := readSchedstat(dir + "schedstat")
		if !ok {
			return
		}
		p, known := c.prev[tid]
		dcpu += max(cpu-p[0], 0)
		ddelay += max(delay-p[1], 0)
		seen[tid] = [2]int64{cpu, delay}
		if runnable(dir + "stat") {
			running++
			if known && time.Duration(cpu-p[0]) < dt/10 {
				starved = true
			}
		}
	}
	if c.ok {
		add(-1, c.self)
		for _, pid := range tgids {
			dir := "/proc/" + strconv.Itoa(pid) + "/task/"
			ents, err := os.ReadDir(dir)
			if err != nil {
				continue // gone
			}
			for _, en := range ents {
				tid, err := strconv.Atoi(en.Name())
				if err != nil {
					continue
				}
				add(tid, dir+en.Name()+"/")
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen || dt <= 0 {
		return starved
	}
	c.last = now
	c.prev = seen
	c.cpu += time.Duration(dcpu)
	c.waited += time.Duration(ddelay)
	c.eff = advance(c.eff, dt, time.Duration(ddelay), max(running, c.running, 1))
	c.running = running
	return starved
}

// treeOf lists the processes below root, from the children files of
// /proc (each thread's children), or from a scan of /proc where the kernel
// has none (CONFIG_PROC_CHILDREN).
func treeOf(root int) []int {
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		dir := procPath(p, "task/")
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // gone
		}
		for _, en := range ents {
			b, err := os.ReadFile(dir + en.Name() + "/children")
			if err != nil {
				if os.IsNotExist(err) && p == root {
					out = out[:0]
					for _, l := range descendants(root) {
						out = append(out, l.pid)
					}
					return out
				}
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}

// advance moves the effective time eff by an interval dt in which the
// tasks reported delay of waiting for a CPU, par of them wanting one at a
// time: the interval, minus the waiting (which counts once for tasks that
// waited side by side). Waiting is reported late (when the task gets the
// CPU), so one interval may report more than it lasted: eff then goes
// back, never below zero.
func advance(eff, dt, delay time.Duration, par int) time.Duration {
	return max(eff+dt-delay/time.Duration(par), 0)
}

// usage returns the usage up to now (the time after the last sample
// counts in full: nothing is known of its waiting).
func (c *clock) usage(now time.Time) Usage {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.frozenUse
	}
	u := Usage{Wall: now.Sub(c.start), CPU: c.cpu, Waited: c.waited, Corrected: c.ok}
	u.Effective = min(c.eff+max(now.Sub(c.last), 0), u.Wall)
	if !c.ok {
		u.Effective = u.Wall
	}
	return u
}

// freeze fixes the usage at now (the root's exit): later samples, of
// leftovers being killed, do not count.
func (c *clock) freeze(now time.Time) {
	u := c.usage(now)
	c.mu.Lock()
	c.frozen, c.frozenUse = true, u
	c.mu.Unlock()
}

// watch samples the tree until done is closed. With a limit, it kills the
// tree once the effective time exceeds it, and reports that through hit.
func (e *engine) watch(c *clock, limit time.Duration, done <-chan struct{}) {
	t := time.NewTicker(usageInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			var tgids []int
			if e.nt != nil {
				// Notify mode traces only what may be in scope: the
				// tree is the init's descendants.
				tgids = treeOf(e.initPid)
			} else {
				e.liveMu.Lock()
				tgids = make([]int, 0, len(e.live))
				for pid := range e.live {
					tgids = append(tgids, pid)
				}
				e.liveMu.Unlock()
			}
			starved := c.sample(now, tgids)
			// A starved task's waiting is not counted yet: wait until
			// it has run before deciding that the run is over time.
			if limit > 0 && !starved && c.usage(now).Effective > limit && !e.limitHit.Load() {
				e.limitHit.Store(true)
				e.killTree()
			}
		}
	}
}
