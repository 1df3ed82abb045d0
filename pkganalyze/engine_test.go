package pkganalyze

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/priors"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/verdict"
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
		cfg.Metric = &verdict.Metric{Regex: `throughput: (\S+)`, Better: s.MetricBetter}
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
				if f.Workload.Strategy != string(st.st) {
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

// TestJobsDoNotChangeTheVerdict: the runs made and the verdict are the same
// for any number of jobs.
func TestJobsDoNotChangeTheVerdict(t *testing.T) {
	for _, name := range []string{"mixed", "conflict", "flaky-unit", "features", "timeout", "unexercised"} {
		for _, st := range strategies {
			t.Run(name+st.suffix, func(t *testing.T) {
				jobsDoNotChange(t, name, st.st)
			})
		}
	}
}

func jobsDoNotChange(t *testing.T, name string, st Strategy) {
	{
		{
			s, err := loadScenario("testdata/scenarios/" + name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			var ref []byte
			var refRuns int
			for _, jobs := range []int{1, 2, 5} {
				r := &scenarioRunner{s: s}
				cfg := scenarioConfig(t, s, st)
				cfg.Jobs = jobs
				f, err := Analyze(context.Background(), r, cfg)
				if err != nil {
					t.Fatal(err)
				}
				stripVarying(f)
				b, _ := verdict.Marshal(f)
				if ref == nil {
					ref, refRuns = b, len(r.made)
					continue
				}
				if len(r.made) != refRuns {
					t.Errorf("jobs=%d made %d runs, jobs=1 made %d", jobs, len(r.made), refRuns)
				}
				if !bytes.Equal(ref, b) {
					t.Errorf("jobs=%d changed the verdict:\n%s", jobs, testutil.Diff(t, ref, b))
				}
			}
		}
	}
}

// TestResume interrupts an analysis after k runs, at every k, and resumes it
// with the same state directory: no run is made twice and the verdict is the
// one of an uninterrupted analysis.
func TestResume(t *testing.T) {
	for _, st := range strategies {
		t.Run(string(st.st), func(t *testing.T) { resume(t, st.st) })
	}
}

func resume(t *testing.T, st Strategy) {
	s, err := loadScenario("testdata/scenarios/conflict.yaml")
	if err != nil {
		t.Fatal(err)
	}
	whole := &scenarioRunner{s: s}
	f, err := Analyze(context.Background(), whole, scenarioConfig(t, s, st))
	if err != nil {
		t.Fatal(err)
	}
	stripVarying(f)
	want, _ := verdict.Marshal(f)
	total := len(whole.made)
	step := 6
	if testing.Short() {
		step = 25
	}
	for _, jobs := range []int{1, 3} {
		for k := 1; k < total; k += step {
			t.Run(fmt.Sprintf("jobs%d-after%d", jobs, k), func(t *testing.T) {
				dir := t.TempDir()
				cfg := scenarioConfig(t, s, st)
				cfg.Jobs = jobs
				state, err := OpenState(dir, cfg)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Journal = state
				ctx, cancel := context.WithCancel(context.Background())
				first := &scenarioRunner{s: s, cancelAfter: k, cancel: cancel}
				f, err := Analyze(ctx, first, cfg)
				cancel()
				if f != nil || !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted analysis: verdict %v, error %v; want nil and context.Canceled", f != nil, err)
				}
				recorded := state.Len()
				state.Close()

				state, err = OpenState(dir, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer state.Close()
				if state.Len() != recorded {
					t.Fatalf("reopened journal has %d runs, %d were recorded", state.Len(), recorded)
				}
				cfg.Journal = state
				second := &scenarioRunner{s: s}
				f, err = Analyze(context.Background(), second, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if f.RunMetadata.ResumedRuns != recorded {
					t.Errorf("resumed_runs = %d, want %d", f.RunMetadata.ResumedRuns, recorded)
				}
				// Nothing the first invocation finished is made again.
				done := map[string]bool{}
				fp := Fingerprint(cfg)
				for _, sp := range first.made[:min(len(first.made), k)] {
					done[runKey(fp, sp)] = true
				}
				redone := 0
				for _, sp := range second.made {
					if done[runKey(fp, sp)] {
						redone++
					}
				}
				// Runs cut short by the cancellation (jobs > 1) are not
				// journaled and are legitimately made again.
				if redone > k-recorded {
					t.Errorf("%d finished runs were made again", redone-(k-recorded))
				}
				if recorded+len(second.made) != total {
					t.Errorf("%d recorded + %d made = %d runs, want %d", recorded, len(second.made), recorded+len(second.made), total)
				}
				stripVarying(f)
				got, _ := verdict.Marshal(f)
				if !bytes.Equal(want, got) {
					t.Errorf("resumed verdict differs:\n%s", testutil.Diff(t, want, got))
				}
			})
		}
	}
}

func TestRangeTest(t *testing.T) {
	fd := Margins[MetricMaxFDs]
	rss := Margins[MetricPeakRSS]
	wall := Margins[MetricWall]
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
	} {
		if got := RangeTest(tc.b, tc.o, tc.m); got != tc.want {
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

// replayRunner refuses to run: every run must come from the journal.
type replayRunner struct{ t *testing.T }

func (r replayRunner) Run(_ context.Context, spec RunSpec) (Outcome, error) {
	r.t.Errorf("run %s is not in the recorded journal", spec)
	return Outcome{}, fmt.Errorf("not recorded: %s", spec)
}

// TestRecordedJournals replays state directories recorded by real analyses
// of the C fixtures (loupe analyze --state, see testdata/recorded/README.md):
// every run must come from the journal, and the verdict must match the
// golden file.
func TestRecordedJournals(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/recorded/*/analysis.json")
	if len(dirs) == 0 {
		t.Fatal("no recorded journals")
	}
	byName := map[string]map[string]string{}
	for _, h := range dirs {
		dir := filepath.Dir(h)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(h)
			if err != nil {
				t.Fatal(err)
			}
			var hdr stateHeader
			if err := json.Unmarshal(b, &hdr); err != nil {
				t.Fatal(err)
			}
			// OpenState writes (lock, truncation): work on a copy.
			tmp := t.TempDir()
			for _, f := range []string{"analysis.json", "journal.jsonl"} {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(tmp, f), b, 0o644)
			}
			cfg := Config{Command: hdr.Command, Dir: hdr.Dir, Binaries: hdr.Binaries, Replicas: hdr.Replicas,
				Timeout: hdr.Timeout, Granularity: verdict.Granularity(hdr.Granularity), Jobs: 2,
				Strategy: Strategy(hdr.Strategy), Priors: priors.Upstream(),
				Environment: verdict.Environment{Kernel: "recorded", Libc: "recorded", Loupe: "test"},
				Now:         func() time.Time { return fixedNow }}
			st, err := OpenState(tmp, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			cfg.Journal = st
			f, err := Analyze(context.Background(), replayRunner{t}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if f.RunMetadata.ExecutedRuns != 0 || f.RunMetadata.ResumedRuns != f.Runs.Total || f.Runs.Total != st.Len() {
				t.Errorf("executed %d resumed %d total %d journal %d", f.RunMetadata.ExecutedRuns, f.RunMetadata.ResumedRuns, f.Runs.Total, st.Len())
			}
			f.RunMetadata.Jobs = 0
			out, err := verdict.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "recorded-"+name+".verdict.yaml", out)
			byName[name] = unitVerdicts(f)
		})
	}
	// The same fixtures analysed for real under both strategies: the same
	// verdict on every unit.
	for name, ada := range byName {
		if base, ok := strings.CutSuffix(name, "-adaptive"); ok && byName[base] != nil {
			t.Run(base+"-strategies", func(t *testing.T) { compareUnits(t, byName[base], ada) })
		}
	}
}

// TestConfirmationMatchesVerdict: what the verdict says an OS can stub or
// fake (stub preferred), minus the sub-features whose syscall is applied as
// a whole, passed applied at once in every replica: the confirmation's
// guarantee. In particular a syscall made required by a required
// sub-feature is not applied as a whole, its working sub-features are. (The
// adaptive strategy may have made those runs as groups before the
// confirmation asked for them.)
func TestConfirmationMatchesVerdict(t *testing.T) {
	for _, name := range []string{"features", "features-propagate", "mixed", "conflict-pairs"} {
		for _, st := range strategies {
			t.Run(name+st.suffix, func(t *testing.T) { confirmationMatches(t, name, st.st) })
		}
	}
}

func confirmationMatches(t *testing.T, name string, st Strategy) {
	{
		{
			s, err := loadScenario(filepath.Join("testdata", "scenarios", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			r := &scenarioRunner{s: s}
			f, err := Analyze(context.Background(), r, scenarioConfig(t, s, st))
			if err != nil || f.Status != verdict.StatusOK {
				t.Fatalf("status %v: %v", f.Status, err)
			}
			required := map[string]bool{}
			action := map[string]Action{}
			add := func(key string, o verdict.Outcome) {
				required[key] = required[key] || o.Required
				switch {
				case o.Stub != nil && *o.Stub:
					action[key] = Stub
				case o.Fake != nil && *o.Fake:
					action[key] = Fake
				}
			}
			for _, b := range f.Binaries {
				for _, x := range b.Syscalls {
					add(x.Name, x.Outcome)
				}
				for _, x := range append(append([]verdict.Feature{}, b.Features...), b.PseudoFiles...) {
					add(x.Key, x.Outcome)
				}
			}
			var want []string
			for _, k := range sortedKeys(action) {
				if required[k] {
					continue
				}
				if p := ParentSyscall(k); p != "" && action[p] != "" && !required[p] {
					continue // covered by the whole syscall
				}
				want = append(want, Intervention{k, action[k]}.String())
			}
			passed := map[int]bool{}
			for _, spec := range r.made {
				var got []string
				for _, iv := range spec.Interventions {
					got = append(got, iv.String())
				}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					continue
				}
				o, _ := (&scenarioRunner{s: s}).Run(context.Background(), spec)
				passed[spec.Replica] = passed[spec.Replica] || o.Pass
			}
			for i := 0; i < s.Replicas; i++ {
				if !passed[i] {
					t.Errorf("no run applying what the verdict says an OS can stub or fake passed at replica %d:\n  %v", i+1, want)
				}
			}
		}
	}
}

// TestMasking asserts the documented outcome of a workload that is not
// monotone (testdata/scenarios/masking.yaml): where stubbing getrandom
// masks the failure of faking getcwd, the exhaustive strategy finds getcwd
// required and the adaptive one fakeable; the adaptive confirmation then
// applies getcwd=fake together with getrandom=stub, and that combination
// passes: the joint guarantee holds, the per-unit one does not.
func TestMasking(t *testing.T) {
	s, err := loadScenario("testdata/scenarios/masking.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := map[Strategy]verdict.Outcome{}
	for _, st := range strategies {
		r := &scenarioRunner{s: s}
		f, err := Analyze(context.Background(), r, scenarioConfig(t, s, st.st))
		if err != nil || f.Status != verdict.StatusOK {
			t.Fatalf("%s: %v %v", st.st, f.Status, err)
		}
		for _, x := range f.Binaries[0].Syscalls {
			if x.Name == "getcwd" {
				got[st.st] = x.Outcome
			}
		}
		if st.st == StrategyAdaptive {
			ok := false
			for _, spec := range r.made {
				o, _ := (&scenarioRunner{s: s}).Run(context.Background(), spec)
				ok = ok || (interventionsString(spec.Interventions) == "getcwd=fake,getrandom=stub" && o.Pass)
			}
			if !ok {
				t.Errorf("no passing run applied getcwd=fake with getrandom=stub")
			}
		}
	}
	e, a := got[StrategyExhaustive], got[StrategyAdaptive]
	if bstr(e.Fake) != "false" || !e.Required {
		t.Errorf("exhaustive: getcwd fake %s required %v, want false, required", bstr(e.Fake), e.Required)
	}
	if bstr(a.Fake) != "true" || a.Required {
		t.Errorf("adaptive: getcwd fake %s required %v, want true, not required (the documented difference)", bstr(a.Fake), a.Required)
	}
}
