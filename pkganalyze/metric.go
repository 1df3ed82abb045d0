package pkganalyze

import (
	"fmt"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// The benchmark metric (paper §5.3, Table 2): a workload prints a figure
// (requests/s, MB/s, seconds), the Runner reads it from every run's output
// (Outcome.Metric), and a stub or fake whose runs move it beyond the noise
// of the reference runs is an impact, by the same RangeTest as RSS, fds and
// time, with Margins[MetricBenchmark]. The figures of the baseline, the
// reference runs, every passing run that applied a unit alone and the
// passing confirmation runs go into the verdict's run metadata.

// checkMetric refuses an analysis whose untouched runs did not print the
// metric: the user asked for it, and no impact could be measured.
func (e *engine) checkMetric() error {
	if e.cfg.Metric == nil {
		return nil
	}
	for _, c := range []*chain{e.base, e.ref} {
		for i, o := range c.outs {
			if o.Metric != nil {
				continue
			}
			out := strings.TrimRight(o.Output, "\n")
			if out == "" {
				out = "(nothing)"
			}
			return fmt.Errorf("--metric '%s' matched no line of the output of %s replica %d (want one capture group around a number); the output ended with:\n%s",
				e.cfg.Metric.Regex, c.spec.Kind, i+1, out)
		}
	}
	return nil
}

// metrics are the benchmark figures of the runs that printed one.
func metrics(outs []Outcome) []float64 {
	var v []float64
	for _, o := range outs {
		if o.Metric != nil {
			v = append(v, *o.Metric)
		}
	}
	return v
}

func (e *engine) recordMetric(key string, a Action, obs []float64) {
	if len(obs) == 0 {
		return
	}
	if e.metricExp == nil {
		e.metricExp = map[string]map[string][]float64{}
	}
	if e.metricExp[key] == nil {
		e.metricExp[key] = map[string][]float64{}
	}
	e.metricExp[key][string(a)] = obs
}

// metricRuns is the run metadata's record of the metric.
func (e *engine) metricRuns() *verdict.MetricRuns {
	if e.cfg.Metric == nil || e.base == nil {
		return nil
	}
	return &verdict.MetricRuns{Baseline: metrics(e.base.outs), Reference: metrics(e.ref.outs),
		Experiments: e.metricExp, Combination: metrics(e.confirmed)}
}

// effect says whether a change of the benchmark metric is for the worse or
// the better; "" for the other metrics.
func (e *engine) effect(metric string, dir verdict.Direction) verdict.Effect {
	if metric != MetricBenchmark || e.cfg.Metric == nil {
		return ""
	}
	return verdict.EffectOf(dir, e.cfg.Metric.Better)
}
