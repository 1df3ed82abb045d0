package loupecli

import (
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
)

func TestAnalyzeMetricUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no better", []string{"--metric", `rate: (\d+)`}, "--metric needs --metric-better higher"},
		{"better alone", []string{"--metric-better", "higher"}, "--metric-better without --metric"},
		{"bad better", []string{"--metric", `rate: (\d+)`, "--metric-better", "up"}, `--metric-better "up": want higher`},
		{"two groups", []string{"--metric", `(\w+): (\d+)`, "--metric-better", "lower"}, "has 2 capture groups, want exactly one"},
		{"bad regex", []string{"--metric", `rate: (\d+`, "--metric-better", "lower"}, "missing closing )"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"analyze", "--binary", "/bin/true"}, tc.args...), "--", "/bin/true")
			code, _, stderr := runCLI(t, "", args...)
			if code != 2 || !strings.Contains(stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.msg)
			}
		})
	}
}

// TestAnalyzeMetricCLI: loupe analyze --metric on the batch fixture flags
// prlimit64 (it stops batching), says so on stderr and records the metric.
func TestAnalyzeMetricCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("analyses a benchmark fixture")
	}
	ptracetest.Require(t)
	tree := t.TempDir()
	compileFixture(t, tree, "batch")
	out := filepath.Join(t.TempDir(), "v.yaml")
	code, _, stderr := runCLI(t, tree, "analyze", "-q", "--strategy", "exhaustive", "--replicas", "2", "--binary", "./batch",
		"--metric", `throughput: ([0-9]+) records/s`, "--metric-better", "higher", "-o", out, "--", "./batch")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	f, err := verdict.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Workload.Metric == nil || f.Workload.Metric.Regex != `throughput: ([0-9]+) records/s` || len(f.RunMetadata.Metric.Reference) != 2 {
		t.Errorf("metric %+v, runs %+v", f.Workload.Metric, f.RunMetadata.Metric)
	}
	if !strings.Contains(stderr, "prlimit64=stub down (worse)") || !strings.Contains(stderr, "(higher is better)") {
		t.Errorf("stderr lacks the metric summary:\n%s", stderr)
	}
	// Missing from the output: status error, the output shown.
	code, _, stderr = runCLI(t, tree, "analyze", "-q", "--replicas", "1", "--binary", "./batch",
		"--metric", `requests: ([0-9]+)`, "--metric-better", "higher", "-o", out, "--", "./batch")
	if code != 2 || !strings.Contains(stderr, "matched no line of the output of baseline replica 1") || !strings.Contains(stderr, "throughput:") {
		t.Errorf("metric missing: exit %d\n%s", code, stderr)
	}
}
