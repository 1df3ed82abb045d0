package pkganalyze

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/priors"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var fixedNow = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// strategies are the strategies every scenario runs under, with the suffix
// of their golden files.
var strategies = []struct {
	st     Strategy
	suffix string
}{{StrategyExhaustive, ""}, {StrategyAdaptive, ".adaptive"}}

func scenarioConfig(t *testing.T, s *scenario, st Strategy) Config {
	t.Helper()
	cfg := Config{
		Strategy: st,
		// The upstream table, not the default (Builtin): the golden runs
		// must not change each time a Debian analysis is bundled.
		Priors:      priors.Upstream(),
		Command:     []string{"./run-tests"},
		Dir:         "/src/demo",
		Binaries:    []BinaryRef{{Path: "/src/demo/demo", SHA256: "00"}},
		Replicas:    s.Replicas,
		Jobs:        s.Jobs,
		Granularity: verdict.Granularity(s.Granularity),
		Environment: verdict.Environment{Kernel: "6.1.0", Libc: "2.36", Loupe: "test"},
		Isolation:   "scenario",
		Now:         func() time.Time { return fixedNow },
	}
	if s.Metric != 0 {
		cfg.Metric = &verdict.Metric{Regex: `throughput: (\S+)`, Better: verdict.Better(s.MetricBetter)}
	}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Timeout = d
	}
	return cfg
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", "golden", name), got, *update)
}

func runsList(made []RunSpec) []byte {
	var b bytes.Buffer
	for _, s := range made {
		fmt.Fprintf(&b, "%s timeout=%s record=%s\n", s, s.Timeout, s.Record)
	}
	return b.Bytes()
}

// TestScenarios runs the engine on every scenario, under each strategy, and
// compares the verdict and the list of runs made (serially) with golden
// files. The adaptive strategy must reach the exhaustive one's verdict on
// every unit, unless the scenario documents why not (adaptive_differs).
func TestScenarios(t *testing.T) {
	paths, err := filepath.Glob("testdata/scenarios/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			s, err := loadScenario(path)
			if err != nil {
				t.Fatal(err)
			}
			units := map[Strategy]map[string]string{}
			for _, st := range strategies {
				f, made := runScenario(t, name+st.suffix, s, st.st)
				units[st.st] = unitVerdicts(f)
				if f.Workload.Strategy != st.st {
					t.Errorf("workload.strategy %q, want %q", f.Workload.Strategy, st.st)
				}
				if st.st == StrategyAdaptive {
					upstream := (2 + 2*len(unitVerdicts(f))) * s.Replicas
					t.Logf("%s: %d runs adaptive (upstream %d)", name, made, upstream)
				}
			}
			if s.AdaptiveDiffers == "" {
				compareUnits(t, units[StrategyExhaustive], units[StrategyAdaptive])
			}
		})
	}
}

// runScenario analyses a scenario and checks the verdict against the
// golden files name.verdict.yaml and name.runs; it returns the verdict and
// the number of runs made.
func runScenario(t *testing.T, name string, s *scenario, st Strategy) (*verdict.File, int) {
	t.Helper()
	r := &scenarioRunner{s: s}
	f, err := Analyze(context.Background(), r, scenarioConfig(t, s, st))
	if f == nil {
		t.Fatalf("%s: no verdict: %v", name, err)
	}
	var be *BaselineError
	switch {
	case f.Status == verdict.StatusBaselineFailed:
		if !errors.As(err, &be) {
			t.Fatalf("%s: baseline-failed without a *BaselineError: %v", name, err)
		}
		if !strings.Contains(err.Error(), "scenario: the check failed") {
			t.Errorf("%s: baseline error does not show the failing output: %v", name, err)
		}
	case f.Status == verdict.StatusError:
		if err == nil {
			t.Fatalf("%s: status error without an error", name)
		}
	case err != nil:
		t.Fatalf("%s: status %s with error %v", name, f.Status, err)
	}
	b, err := verdict.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	// What is written must parse back, identical.
	back, err := verdict.Parse(name, b)
	if err != nil {
		t.Fatalf("%s: the verdict does not parse back: %v", name, err)
	}
	b2, _ := verdict.Marshal(back)
	if !bytes.Equal(b, b2) {
		t.Errorf("%s: round trip changed the verdict:\n%s", name, testutil.Diff(t, b, b2))
	}
	golden(t, name+".verdict.yaml", b)
	if s.Jobs <= 1 {
		golden(t, name+".runs", runsList(r.made))
	}
	made := len(r.made)
	if f.Status == verdict.StatusError && s.RunnerError > 0 {
		made-- // the run that failed is not one the method used
	}
	if f.Runs.Total != made {
		t.Errorf("%s: runs.total = %d, but %d runs were made", name, f.Runs.Total, made)
	}
	return f, made
}

// unitVerdicts lists, per binary and unit, what the verdict decided: stub,
// fake, required, flaky and the evidence (impact aside: the adaptive
// strategy measures grouped units on their groups).
func unitVerdicts(f *verdict.File) map[string]string {
	out := map[string]string{}
	add := func(bin, key string, o verdict.Outcome) {
		out[bin+" "+key] = fmt.Sprintf("stub=%s fake=%s required=%v flaky=%v evidence=%q",
			bstr(o.Stub), bstr(o.Fake), o.Required, o.Flaky, o.Evidence)
	}
	for _, b := range f.Binaries {
		for _, x := range b.Syscalls {
			add(b.Path, x.Name, x.Outcome)
		}
		for _, x := range append(append([]verdict.Feature{}, b.Features...), b.PseudoFiles...) {
			add(b.Path, x.Key, x.Outcome)
		}
	}
	return out
}

func bstr(b *bool) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprint(*b)
}

// compareUnits reports every unit whose verdict differs between strategies.
func compareUnits(t *testing.T, exh, ada map[string]string) {
	t.Helper()
	if len(exh) != len(ada) {
		t.Errorf("exhaustive has %d units, adaptive %d", len(exh), len(ada))
	}
	for _, k := range sortedKeys(exh) {
		if exh[k] != ada[k] {
			t.Errorf("%s:\n  exhaustive %s\n  adaptive   %s", k, exh[k], ada[k])
		}
	}
}

// stripVarying removes what may legitimately differ between invocations of
// the same analysis.
func stripVarying(f *verdict.File) {
	f.RunMetadata.Jobs = 0
	f.RunMetadata.ExecutedRuns = 0
	f.RunMetadata.ResumedRuns = 0
}

func TestRangeTest(t *testing.T) {
	fd := Margins[MetricMaxFDs]
	rss := Margins[MetricPeakRSS]
	wall := Margins[MetricWall]
	bench := Margins[MetricBenchmark]
	for _, tc := range []struct {
		name    string
		b, o    []float64
		m       Margin
		want    string
		comment string
	}{
		{"fds same", []float64{4, 4, 4}, []float64{4, 4, 4}, fd, "", ""},
		{"fds leak", []float64{4, 4, 4}, []float64{12, 12, 12}, fd, "up", "close stubbed"},
		{"fds fewer", []float64{6, 6, 6}, []float64{4, 4, 4}, fd, "down", "pipe2 stubbed"},
		{"fds noisy baseline", []float64{4, 6, 5}, []float64{7, 7, 7}, fd, "", "within max+spread"},
		{"fds beyond spread", []float64{4, 6, 5}, []float64{9, 9, 10}, fd, "up", ""},
		{"one replica inside", []float64{4, 4, 4}, []float64{12, 4, 12}, fd, "", "every replica must be outside"},
		{"rss noise", []float64{2000, 2010, 2004}, []float64{2040, 2050, 2040}, rss, "", "below 256 KB"},
		{"rss brk fallback", []float64{2000, 2010, 2004}, []float64{2600, 2610, 2600}, rss, "up", ""},
		{"rss big relative", []float64{100000, 100100, 100050}, []float64{104000, 104000, 104000}, rss, "", "4% < 5%"},
		{"rss big up", []float64{100000, 100100, 100050}, []float64{120000, 120000, 119000}, rss, "up", ""},
		{"wall noise", []float64{0.02, 0.05, 0.03}, []float64{0.2, 0.1, 0.15}, wall, "", "below 0.25s"},
		{"wall slower", []float64{1, 1.1, 1.05}, []float64{2, 2.1, 2}, wall, "up", ""},
		{"wall faster", []float64{2, 2.1, 2.05}, []float64{1, 1.1, 1}, wall, "down", ""},
		{"no data", nil, []float64{1}, wall, "", ""},
		{"bench 6% down", []float64{100, 100, 100}, []float64{94, 94, 94}, bench, "down", "beyond the 5% floor"},
		{"bench 4% down", []float64{100, 100, 100}, []float64{96, 96, 96}, bench, "", "within the 5% floor"},
		{"bench noise", []float64{100, 120, 110}, []float64{95, 90, 92}, bench, "", "within the reference's ratio 1.2"},
		{"bench one slow reference", []float64{1.27e9, 1.15e9, 3.78e8}, []float64{7.3e6, 4.9e6, 7.3e6}, bench, "down",
			"a 3.4x spread from load hides nothing 50x below (linear: min-spread < 0, never down)"},
		{"bench up", []float64{10, 11, 10.5}, []float64{30, 31, 29}, bench, "up", ""},
		{"bench zero figure", []float64{0, 1, 1}, []float64{5, 5, 5}, bench, "up", "no ratio: linear"},
	} {
		if got := RangeTest(tc.b, tc.o, tc.m); string(got) != tc.want {
			t.Errorf("%s: RangeTest(%v, %v) = %q, want %q %s", tc.name, tc.b, tc.o, got, tc.want, tc.comment)
		}
	}
}

func TestSplit(t *testing.T) {
	var c []Intervention
	for i := 0; i < 7; i++ {
		c = append(c, Intervention{fmt.Sprint(i), Stub})
	}
	for n := 1; n <= 7; n++ {
		parts := split(c, n)
		if len(parts) != n {
			t.Fatalf("split(7, %d) gave %d parts", n, len(parts))
		}
		total := 0
		for _, p := range parts {
			if len(p) < 7/n || len(p) > 7/n+1 {
				t.Errorf("split(7, %d): part of %d", n, len(p))
			}
			total += len(p)
		}
		if total != 7 {
			t.Errorf("split(7, %d) covers %d", n, total)
		}
	}
}

func TestUnitKinds(t *testing.T) {
	for _, tc := range []struct {
		key    string
		kind   UnitKind
		parent string
	}{
		{"mkdir", UnitSyscall, ""},
		{"syscall_463", UnitSyscall, ""},
		{"ioctl:TCGETS", UnitFeature, "ioctl"},
		{"mmap:anon+private", UnitFeature, "mmap"},
		{"/proc/self/status", UnitPseudoFile, ""},
		{"/dev/pts/[n]", UnitPseudoFile, ""},
	} {
		if k, p := KindOf(tc.key), ParentSyscall(tc.key); k != tc.kind || p != tc.parent {
			t.Errorf("%s: kind %d parent %q, want %d %q", tc.key, k, p, tc.kind, tc.parent)
		}
	}
}

func TestDefaultTimeout(t *testing.T) {
	for _, tc := range []struct{ slowest, want time.Duration }{
		{2 * time.Second, 6 * time.Second},
		{20 * time.Millisecond, TimeoutFloor},
		{time.Minute, 3 * time.Minute},
	} {
		if got := DefaultTimeout(tc.slowest); got != tc.want {
			t.Errorf("DefaultTimeout(%s) = %s, want %s", tc.slowest, got, tc.want)
		}
	}
}
