package runner

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
)

func TestReadMetric(t *testing.T) {
	re := regexp.MustCompile(`Requests/sec: *([0-9.,]+)`)
	long := strings.Repeat("x", 100<<10)
	for _, tt := range []struct {
		out  string
		want float64 // -1: none
	}{
		{"Requests/sec: 1200.5\n", 1200.5},
		{"warm-up\nRequests/sec: 10\nRequests/sec: 1,234.5\ndone\n", 1234.5}, // the last match
		{"Requests/sec: 99\nRequests/sec: .\n", 99},                          // a match without a number is no match
		{"Requests/sec: 7", 7},                                               // no final newline
		{"Requests/sec: 5\n" + long + "Requests/sec: 6\n\n", 5},              // a huge line is skipped whole
		{"nothing here\n", -1},
	} {
		got := -1.0
		if v := ReadMetric(strings.NewReader(tt.out), re); v != nil {
			got = *v
		}
		if got != tt.want {
			t.Errorf("%.40q: %v, want %v", tt.out, got, tt.want)
		}
	}
	for _, tt := range []struct {
		m    verdict.Metric
		want string
	}{
		{verdict.Metric{Regex: `rate (\d+) (\w+)`, Better: "higher"}, "has 2 capture groups, want exactly one"},
		{verdict.Metric{Regex: `rate \d+`, Better: "higher"}, "has 0 capture groups"},
		{verdict.Metric{Regex: `rate (\d+`, Better: "higher"}, "missing closing )"},
		{verdict.Metric{Regex: `rate (\d+)`, Better: "faster"}, `--metric-better "faster": want higher`},
	} {
		if _, err := CheckMetric(&tt.m); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.m, err, tt.want)
		}
	}
}

// TestE2EMetricImpact: the batch fixture's throughput falls when prlimit64
// is stubbed or faked (it stops batching its writes); the analysis flags
// both as an impact for the worse on the benchmark metric, and records the
// metric of every run that counts.
func TestE2EMetricImpact(t *testing.T) {
	if testing.Short() {
		t.Skip("two analyses of a benchmark fixture")
	}
	ptracetest.Require(t)
	tree := compile(t, "batch")
	for _, st := range []pkganalyze.Strategy{pkganalyze.StrategyExhaustive, pkganalyze.StrategyAdaptive} {
		t.Run(string(st), func(t *testing.T) {
			var log bytes.Buffer
			f, _, err := Analyze(context.Background(), Analysis{Command: []string{"./batch"}, Dir: tree,
				Binaries: []string{filepath.Join(tree, "batch")}, Replicas: 3, Jobs: 2, Strategy: st, Log: &log,
				Metric: &verdict.Metric{Regex: `throughput: ([0-9]+) records/s`, Better: verdict.BetterHigher}})
			if err != nil || f.Status != verdict.StatusOK {
				t.Fatalf("status %v, %v\n%s", f.Status, err, log.String())
			}
			m := f.RunMetadata.Metric
			if f.Workload.Metric == nil || f.Workload.Metric.Better != "higher" || m == nil || len(m.Baseline) != 3 || len(m.Reference) != 3 {
				t.Fatalf("workload metric %+v, run metadata %+v", f.Workload.Metric, m)
			}
			worse := func(im []verdict.Impact, action string) bool {
				for _, x := range im {
					if x.Action == action && x.Metric == verdict.MetricName && x.Direction == "down" && x.Effect == "worse" {
						return true
					}
				}
				return false
			}
			var comb bool
			for _, c := range f.CombinationImpact {
				comb = comb || (c.Metric == verdict.MetricName && c.Direction == "down" && c.Effect == "worse")
			}
			s := syscallOf(t, f, "batch", "prlimit64")
			switch st {
			case pkganalyze.StrategyExhaustive:
				// Every unit alone, three replicas: the unit's own impact.
				if !worse(s.Impact, "stub") || !worse(s.Impact, "fake") || len(m.Experiments["prlimit64"]["stub"]) != 3 {
					t.Errorf("prlimit64: impact %+v, metric of its runs %v", s.Impact, m.Experiments["prlimit64"])
				}
			default:
				// prlimit64 may only have run in groups: its own impact
				// is then unmeasured, but the combination, which stubs
				// it, shows it.
				if !comb && !worse(s.Impact, "stub") {
					t.Errorf("neither prlimit64's impact %+v nor the combination's %+v", s.Impact, f.CombinationImpact)
				}
			}
			if !comb {
				t.Errorf("the combination (prlimit64 stubbed among others) is not flagged: %+v (metric %v against %v)", f.CombinationImpact, m.Combination, m.Reference)
			}
		})
	}
}
