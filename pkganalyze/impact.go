package pkganalyze

import (
	"math"
	"sort"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Impact metrics.
const (
	MetricPeakRSS = "peak_rss_kb"
	MetricMaxFDs  = "max_fds"
	MetricWall    = "wall_seconds"
	// MetricBenchmark is the workload's own metric (Config.Metric).
	MetricBenchmark = verdict.MetricName
)

// Margin is the least difference that can count as an impact, whatever the
// baseline spread: the larger of Abs and Rel times the reference median.
// With Ratio, the test compares logarithms: the spread is a ratio
// (max/min), and the floor is a factor 1+Rel (Abs is unused). That suits a
// figure whose noise is multiplicative, such as a benchmark's throughput on
// a loaded machine: one reference run slowed 3x by other work widens a
// linear range below zero, and then no drop, however large, could show.
type Margin struct {
	Rel, Abs float64
	Ratio    bool
}

// Margins per metric. RSS moves by a few pages between identical runs;
// descriptor counts are exact; wall time on a shared machine is noisy, so
// only large changes count.
var Margins = map[string]Margin{
	MetricPeakRSS: {Rel: 0.05, Abs: 256},
	MetricMaxFDs:  {Rel: 0, Abs: 0},
	MetricWall:    {Rel: 0.25, Abs: 0.25},
	// A benchmark's own figure is what it is for: 5% beyond the
	// reference's spread counts.
	MetricBenchmark: {Rel: 0.05, Ratio: true},
}

// RangeTest is the impact test. With reference values b (the N untouched,
// unrecorded reference runs) and observed values o (the N replicas of a
// passing experiment), let spread = max(b) - min(b) and
// delta = max(spread, margin.Abs, margin.Rel*median(b)). It reports Up
// when every observed value exceeds max(b)+delta, Down when every one is
// below min(b)-delta, and "" otherwise.
//
// This is a range test with a margin: with N = 3 no parametric test has any
// power, but requiring all N replicas to lie outside the reference range
// widened by the reference's own spread rejects ordinary noise (both
// samples would have to be shifted by more than the spread seen among
// identical runs) while catching the effects of paper Table 2 (close stubbed
// -> many more fds, brk stubbed -> more RSS).
func RangeTest(b, o []float64, m Margin) verdict.Direction {
	if len(b) == 0 || len(o) == 0 {
		return ""
	}
	if m.Ratio {
		lb, lo := logs(b), logs(o)
		if lb == nil || lo == nil {
			// A figure of 0 or below has no ratio: compare the
			// values themselves, with the relative floor.
			return RangeTest(b, o, Margin{Rel: m.Rel})
		}
		return RangeTest(lb, lo, Margin{Abs: math.Log1p(m.Rel)})
	}
	bs := append([]float64(nil), b...)
	sort.Float64s(bs)
	os := append([]float64(nil), o...)
	sort.Float64s(os)
	bmin, bmax := bs[0], bs[len(bs)-1]
	med := bs[len(bs)/2]
	if len(bs)%2 == 0 {
		med = (bs[len(bs)/2-1] + bs[len(bs)/2]) / 2
	}
	delta := max(bmax-bmin, m.Abs, m.Rel*med)
	switch {
	case os[0] > bmax+delta:
		return verdict.Up
	case os[len(os)-1] < bmin-delta:
		return verdict.Down
	}
	return ""
}

// logs are the natural logarithms of v, or nil if one is not positive.
func logs(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		if !(x > 0) {
			return nil
		}
		out[i] = math.Log(x)
	}
	return out
}

// impact compares every passing experiment with the reference runs: per
// binary that uses the unit, its peak RSS and max fds; for the workload, the
// wall time. A unit's impact is measured on the runs that applied it alone
// (the adaptive strategy may have fewer of them than replicas, or none);
// the impact of the confirmed combination, on the confirmation's runs.
func (e *engine) impact() {
	e.impacts = map[string]map[string][]verdict.Impact{}
	e.figs = map[string][]verdict.ImpactFig{}
	refWall := walls(e.ref.outs)
	for _, u := range e.units {
		for _, a := range []Action{Stub, Fake} {
			r := u.stub
			if a == Fake {
				r = u.fake
			}
			if r.ok == nil || !*r.ok {
				continue
			}
			// Only the runs that applied the unit alone measure its own
			// impact (all of them in the exhaustive strategy).
			var outs []Outcome
			for i, o := range u.chains[a].outs {
				if i >= len(u.chains[a].grouped) || !u.chains[a].grouped[i] {
					outs = append(outs, o)
				}
			}
			if len(outs) == 0 {
				continue
			}
			users := e.users(u.key)
			for _, b := range users {
				bb, bo := binMetric(e.ref.outs, b, rss), binMetric(outs, b, rss)
				e.flag(u.key, a, MetricPeakRSS, b, bb, bo, []string{b})
				bb, bo = binMetric(e.ref.outs, b, fds), binMetric(outs, b, fds)
				e.flag(u.key, a, MetricMaxFDs, b, bb, bo, []string{b})
			}
			e.flag(u.key, a, MetricWall, "", refWall, walls(outs), users)
			if e.cfg.Metric != nil {
				obs := metrics(outs)
				e.recordMetric(u.key, a, obs)
				e.flag(u.key, a, MetricBenchmark, "", metrics(e.ref.outs), obs, users)
			}
		}
	}
	e.combinationImpact()
}

// combinationImpact compares the confirmation's runs (everything that
// holds, applied at once) with the reference runs, per binary and for the
// workload's wall time.
func (e *engine) combinationImpact() {
	if len(e.confirmed) == 0 {
		return
	}
	test := func(metric, bin string, base, obs []float64) {
		dir := RangeTest(base, obs, Margins[metric])
		if dir == "" {
			return
		}
		e.comb = append(e.comb, verdict.CombinationImpact{Metric: metric, Binary: bin, Direction: dir, Effect: e.effect(metric, dir)})
		e.combFigs = append(e.combFigs, verdict.ImpactFig{Action: "combination", Metric: metric, Binary: bin, Baseline: base, Observed: obs})
	}
	for _, b := range e.obs.bins {
		test(MetricPeakRSS, b.path, binMetric(e.ref.outs, b.path, rss), binMetric(e.confirmed, b.path, rss))
		test(MetricMaxFDs, b.path, binMetric(e.ref.outs, b.path, fds), binMetric(e.confirmed, b.path, fds))
	}
	test(MetricWall, "", walls(e.ref.outs), walls(e.confirmed))
	if e.cfg.Metric != nil {
		test(MetricBenchmark, "", metrics(e.ref.outs), metrics(e.confirmed))
	}
}

// flag records an impact on the unit's entry of each binary in on.
func (e *engine) flag(key string, a Action, metric, bin string, base, obs []float64, on []string) {
	dir := RangeTest(base, obs, Margins[metric])
	if dir == "" {
		return
	}
	for _, b := range on {
		if e.impacts[b] == nil {
			e.impacts[b] = map[string][]verdict.Impact{}
		}
		e.impacts[b][key] = append(e.impacts[b][key], verdict.Impact{Action: string(a), Metric: metric, Direction: dir, Effect: e.effect(metric, dir)})
	}
	e.figs[key] = append(e.figs[key], verdict.ImpactFig{Action: string(a), Metric: metric, Binary: bin, Baseline: base, Observed: obs})
}

// users are the binaries whose baseline used key.
func (e *engine) users(key string) []string {
	var out []string
	for _, b := range e.obs.bins {
		if b.syscalls[key] != nil || b.features[key] != nil || b.pseudo[key] != nil {
			out = append(out, b.path)
		}
	}
	return out
}

func rss(b *BinaryUse) float64 { return float64(b.PeakRSSKB) }
func fds(b *BinaryUse) float64 { return float64(b.MaxFDs) }

func binMetric(outs []Outcome, path string, f func(*BinaryUse) float64) []float64 {
	var v []float64
	for _, o := range outs {
		if b := findBinary(o, path); b != nil {
			v = append(v, f(b))
		}
	}
	return v
}

func walls(outs []Outcome) []float64 {
	v := make([]float64, len(outs))
	for i, o := range outs {
		v[i] = ms(o.Wall.Seconds())
	}
	return v
}
