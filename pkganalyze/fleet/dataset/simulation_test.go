package dataset

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/simulate"
)

func writeReport(t *testing.T, path string, r *simulate.Report) {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCollectSimulations: reports given by name (any name) or found in a
// directory are folded in, copies once; one without an app is a problem;
// a shard keeps them.
func TestCollectSimulations(t *testing.T) {
	dir := t.TempDir()
	yes := true
	r := &simulate.Report{App: "srv", OS: simulate.OS{Name: "Kerla after plan step 2", File: "/x/Kerla.syscalls", SHA256: "aa"},
		Plan:    &simulate.PlanStep{Dataset: "d.json", DatasetSHA256: "bb", Step: 2, Steps: 9, AppClaimed: &yes},
		Command: []string{"make", "check"}, Exit: simulate.Exit{Code: 2},
		Lacking:  []simulate.Lack{{Name: "socket", Calls: 1, State: "absent", Returns: "-ENOSYS", Rule: "not listed"}},
		Features: []simulate.Lack{{Name: "ioctl:TCGETS", Calls: 1, State: "faked", Returns: "0", Rule: "plan step 2"}}}
	writeReport(t, filepath.Join(dir, "a"+simulate.Suffix), r)
	named := filepath.Join(t.TempDir(), "report.yaml")
	writeReport(t, named, r) // the same report, under another name
	r2 := *r
	r2.App, r2.Plan, r2.Exit, r2.Passed, r2.Lacking, r2.Features = "other", nil, simulate.Exit{}, true, nil, nil
	writeReport(t, filepath.Join(dir, "b"+simulate.Suffix), &r2)
	r3 := r2
	r3.App = ""
	writeReport(t, filepath.Join(dir, "c"+simulate.Suffix), &r3)

	ds, err := Collect(context.Background(), []string{dir, named}, CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Simulations) != 2 || len(ds.Problems) != 1 || !strings.Contains(ds.Problems[0].String(), "field app: missing") {
		t.Fatalf("simulations %+v, problems %v", ds.Simulations, ds.Problems)
	}
	s := ds.Simulations[1]
	if s.App != "srv" || s.OS != "Kerla" || *s.PlanStep != 2 || !*s.Claimed || s.Passed || s.Exit != "exit 2" ||
		strings.Join(s.Lacking, " ") != "socket=absent ioctl:TCGETS=faked" || s.PlanDataset != "bb" || s.Command != "make check" {
		t.Errorf("simulation %+v", s)
	}
	if o := ds.Simulations[0]; o.App != "other" || !o.Passed || o.PlanStep != nil || o.Claimed != nil {
		t.Errorf("plain OS simulation %+v", o)
	}
	shard := filepath.Join(t.TempDir(), "s"+ShardSuffix)
	if err := WriteFile(shard, ds); err != nil {
		t.Fatal(err)
	}
	ds2, err := Collect(context.Background(), []string{shard, named}, CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds2.Simulations) != 2 {
		t.Errorf("through a shard (and the same report again): %+v", ds2.Simulations)
	}
	if _, err := Parse("d", []byte(`{"schema":"loupe/dataset/v1","entries":[],"simulations":[{"app":""}]}`)); err == nil ||
		!strings.Contains(err.Error(), "d: field simulations[0]: simulation without app or os") {
		t.Errorf("a simulation without app: %v", err)
	}
}

// TestImpactsFromVerdict: the impacts of the counted binaries enter the
// entry, once each, with the metric that says what "benchmark" is.
func TestImpactsFromVerdict(t *testing.T) {
	v, err := verdict.ReadFile("../../testdata/golden/metric.verdict.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v.Package, v.Architecture = "bench", "amd64"
	d := &Dataset{Schema: Schema, Entries: []Entry{FromVerdict(v, Provenance{File: "v"})}}
	b, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("d", b)
	if err != nil {
		t.Fatal(err)
	}
	e := back.Entries[0]
	var got []string
	for _, im := range e.Impacts {
		got = append(got, im.String())
	}
	want := "getrandom=stub: benchmark up (better)|prlimit64=fake: benchmark down (worse)|prlimit64=stub: benchmark down (worse)"
	if strings.Join(got, "|") != want || e.Metric == nil || e.Metric.Better != "higher" {
		t.Errorf("impacts %q, metric %+v\nwant %q", got, e.Metric, want)
	}
}
