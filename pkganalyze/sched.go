package pkganalyze

import (
	"container/heap"
	"context"
	"sync"
)

// chain is a sequence of replicas of one run spec. With stopOnFail the chain
// ends at its first failing replica: a verdict needs every replica to pass,
// so the remaining replicas could not change it (see doc.go, "Cost").
type chain struct {
	spec       RunSpec // Replica is set per run
	n          int
	stopOnFail bool
	outs       []Outcome // in replica order
	// grouped[i] is set when outs[i] came from a run that applied other
	// units too (strategy adaptive); nil for the exhaustive strategy.
	grouped []bool
}

func (c *chain) done() bool {
	if len(c.outs) >= c.n {
		return true
	}
	return c.stopOnFail && len(c.outs) > 0 && !c.outs[len(c.outs)-1].Pass
}

// failedAt returns the index of the first failing replica, or -1.
func (c *chain) failedAt() int {
	for i, o := range c.outs {
		if !o.Pass {
			return i
		}
	}
	return -1
}

func (c *chain) passed() bool { return len(c.outs) == c.n && c.failedAt() < 0 }

// job is one run whose outcome may call for more runs. then is called with
// the scheduler's lock held, so jobs may update shared state; it must only
// touch state that no other job of the same batch touches, so that the set
// of runs made never depends on the order in which runs finish.
type job struct {
	// prio orders ready jobs: smallest first, then in push order.
	prio int
	spec RunSpec
	then func(Outcome) []*job
}

type queued struct {
	j   *job
	seq int
}

type jobHeap []queued

func (h jobHeap) Len() int { return len(h) }
func (h jobHeap) Less(i, j int) bool {
	if h[i].j.prio != h[j].j.prio {
		return h[i].j.prio < h[j].j.prio
	}
	return h[i].seq < h[j].seq
}
func (h jobHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)   { *h = append(*h, x.(queued)) }
func (h *jobHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// runJobs runs the jobs, and the jobs their outcomes call for, with at most
// e.jobs runs at a time, until none is left. With one job at a time the
// order is fixed (priority, then push order), so a serial analysis always
// runs in the same order; with more, only the order changes, never which
// runs are made.
func (e *engine) runJobs(ctx context.Context, jobs []*job) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		q        jobHeap
		seq      int
		running  int
		firstErr error
	)
	push := func(js []*job) {
		for _, j := range js {
			heap.Push(&q, queued{j, seq})
			seq++
		}
	}
	push(jobs)
	worker := func() {
		mu.Lock()
		defer mu.Unlock()
		for {
			for q.Len() == 0 && running > 0 && firstErr == nil {
				cond.Wait()
			}
			if q.Len() == 0 || firstErr != nil {
				cond.Broadcast()
				return
			}
			j := heap.Pop(&q).(queued).j
			running++
			mu.Unlock()
			out, err := e.run(ctx, j.spec)
			mu.Lock()
			running--
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				cond.Broadcast()
				continue
			}
			if j.then != nil {
				push(j.then(out))
			}
			e.report()
			cond.Broadcast()
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < e.jobs; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); worker() }()
	}
	wg.Wait()
	return firstErr
}

// runChains runs the chains with at most e.jobs runs at a time. Ready runs
// are taken breadth-first (every chain's first replica, then the second
// ones...), in chain order, so a serial analysis always runs in the same
// order and early replicas, which are the ones that fail fast, come first.
// The replicas of one chain run one after the other, so which runs are made
// never depends on timing or on the number of jobs.
func (e *engine) runChains(ctx context.Context, chains []*chain) error {
	var next func(c *chain) *job
	next = func(c *chain) *job {
		spec := c.spec
		spec.Replica = len(c.outs)
		if spec.Kind == KindBaseline && spec.Replica > 0 && spec.Record != RecordNone {
			// The first baseline replica counts every call (a unit's calls,
			// which rank culprits); the others need only say what is used
			// (doc/analyze.md, Phases).
			spec.Counts = CountsSeen
		}
		// Breadth first: replica r of every chain before replica r+1 of
		// any; push order keeps chain order within a replica.
		return &job{prio: spec.Replica, spec: spec, then: func(o Outcome) []*job {
			c.outs = append(c.outs, o)
			if c.done() {
				return nil
			}
			return []*job{next(c)}
		}}
	}
	var jobs []*job
	for _, c := range chains {
		if !c.done() {
			jobs = append(jobs, next(c))
		}
	}
	return e.runJobs(ctx, jobs)
}
