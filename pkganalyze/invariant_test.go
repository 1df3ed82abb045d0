package pkganalyze

// Invariants of the method over the scenarios and recorded journals: the
// verdict does not depend on Jobs, survives a resume, matches what the
// confirmation applied, and masking is handled as documented.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/priors"
)

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
