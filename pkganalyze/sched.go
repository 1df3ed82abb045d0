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

type task struct{ replica, idx int }

type taskHeap []task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if h[i].replica != h[j].replica {
		return h[i].replica < h[j].replica
	}
	return h[i].idx < h[j].idx
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(task)) }
func (h *taskHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// runChains runs the chains with at most e.jobs runs at a time. Ready runs
// are taken breadth-first (every chain's first replica, then the second
// ones...), in chain order, so a serial analysis always runs in the same
// order and early replicas, which are the ones that fail fast, come first.
// The replicas of one chain run one after the other, so which runs are made
// never depends on timing or on the number of jobs.
func (e *engine) runChains(ctx context.Context, chains []*chain) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		q        taskHeap
		pending  int
		firstErr error
	)
	for i, c := range chains {
		if !c.done() {
			heap.Push(&q, task{len(c.outs), i})
			pending++
		}
	}
	worker := func() {
		mu.Lock()
		defer mu.Unlock()
		for {
			for q.Len() == 0 && pending > 0 && firstErr == nil {
				cond.Wait()
			}
			if pending == 0 || firstErr != nil {
				cond.Broadcast()
				return
			}
			t := heap.Pop(&q).(task)
			c := chains[t.idx]
			spec := c.spec
			spec.Replica = t.replica
			mu.Unlock()
			out, err := e.run(ctx, spec)
			mu.Lock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				cond.Broadcast()
				continue
			}
			c.outs = append(c.outs, out)
			if c.done() {
				pending--
			} else {
				heap.Push(&q, task{len(c.outs), t.idx})
			}
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
