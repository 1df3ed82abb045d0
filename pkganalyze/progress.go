package pkganalyze

// Progress is a snapshot of an analysis under way, for progress lines
// (Config.Progress). It is reported after every run.
type Progress struct {
	// Phase is baseline, sensitivity, experiments or confirmation.
	Phase string
	// Runs are the runs finished so far, made or taken from the journal.
	Runs int
	// Planned is the expected total: an estimate, revised as outcomes come
	// in (a failing group costs more runs, a passing one fewer).
	Planned int
	// Units are the units under test (0 until the baseline found them);
	// Settled those whose stub and fake verdicts are decided.
	Units, Settled int
}

// setPhase names the phase and how to estimate the runs it still needs.
// Precondition: no runJobs is active.
func (e *engine) setPhase(phase string, remaining func() int) {
	e.phase, e.remaining = phase, remaining
	e.report()
}

// report calls Config.Progress with a snapshot. It runs where the chains
// are not being changed: between batches, or under runJobs's lock.
func (e *engine) report() {
	if e.cfg.Progress == nil {
		return
	}
	e.mu.Lock()
	done := len(e.used)
	e.mu.Unlock()
	p := Progress{Phase: e.phase, Runs: done, Planned: done, Units: len(e.units)}
	if e.remaining != nil {
		p.Planned += e.remaining()
	}
	for _, u := range e.units {
		if u.settled(e.n) {
			p.Settled++
		}
	}
	e.cfg.Progress(p)
}

// settled reports whether both of the unit's chains are decided.
func (u *unit) settled(n int) bool {
	for _, a := range []Action{Stub, Fake} {
		c := u.chains[a]
		if c == nil || !(len(c.outs) >= n || c.failedAt() >= 0) {
			return false
		}
	}
	return true
}

// chainsLeft estimates the runs the chains still need: every replica not
// made yet (the most they can need).
func chainsLeft(chains []*chain) func() int {
	return func() int {
		left := 0
		for _, c := range chains {
			if !c.done() {
				left += c.n - len(c.outs)
			}
		}
		return left
	}
}
