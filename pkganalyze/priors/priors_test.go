package priors

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
)

// TestBuiltinMatchesData: the generated tables are what FromEntries makes
// of the bundled loupedb data and of the bundled Debian verdicts (run go
// generate ./pkganalyze/priors otherwise).
func TestBuiltinMatchesData(t *testing.T) {
	es, _, err := loupedb.Import(testutil.LoupeDB(t))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Collect(context.Background(), []string{filepath.Join(filepath.Dir(testutil.LoupeDB(t)), "debian", "verdicts")},
		dataset.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Problems) > 0 {
		t.Fatalf("data/debian/verdicts: %v", ds.Problems)
	}
	var usable int
	for _, e := range ds.Entries {
		if e.Usable() {
			usable++
		}
	}
	if len(debian) != usable {
		t.Errorf("the generated table has %d Debian analyses, data/debian/verdicts %d usable ones: run go generate ./pkganalyze/priors", len(debian), usable)
	}
	for _, tc := range []struct {
		name      string
		want, got *Table
	}{
		{"upstream", FromEntries(es), Upstream()},
		{"debian", FromEntries(ds.Entries), Debian()},
	} {
		if tc.want.Len() != tc.got.Len() {
			t.Fatalf("%s: the generated table has %d keys, the data %d: run go generate ./pkganalyze/priors", tc.name, tc.got.Len(), tc.want.Len())
		}
		for _, k := range tc.want.Keys() {
			w, _ := tc.want.Counts(k)
			if g, _ := tc.got.Counts(k); g != w {
				t.Errorf("%s: %s: generated %+v, data %+v: run go generate ./pkganalyze/priors", tc.name, k, g, w)
			}
		}
	}
	// What the adaptive strategy relies on: the syscalls every program
	// needs look required, the usual start-up extras look harmless.
	got := Builtin()
	for _, k := range []string{"read", "mmap", "openat", "arch_prctl"} {
		if r := got.FailureRate(k, "stub"); r < 0.9 {
			t.Errorf("%s stub failure rate %.2f, want > 0.9", k, r)
		}
	}
	for _, k := range []string{"set_robust_list", "rseq", "brk"} {
		if r := got.FailureRate(k, "stub"); r > 0.15 {
			t.Errorf("%s stub failure rate %.2f, want < 0.15", k, r)
		}
	}
}

// TestLayered: a key the top table has counts for is estimated from them,
// smoothed towards the base's estimate with the layer's weight; other keys
// get the base's estimate; excluded analyses are left out.
func TestLayered(t *testing.T) {
	base := New(map[string]Counts{
		"close": {Used: 100, Stub: 2, Fake: 70, Required: 30},
		"rseq":  {Used: 100, Stub: 90, Fake: 90, Required: 8},
	})
	top := New(map[string]Counts{
		"close": {Used: 8, Stub: 0, Fake: 8, Required: 0},
	})
	l := &Layered{Top: top, Base: base, Weight: 2}
	for _, tc := range []struct {
		key, action string
		want        float64
	}{
		{"close", "fake", (0 + 2*base.FailureRate("close", "fake")) / (8 + 2)},
		{"close", "stub", (8 + 2*base.FailureRate("close", "stub")) / (8 + 2)},
		{"rseq", "stub", base.FailureRate("rseq", "stub")}, // top has not seen it
		{"nosuch", "fake", Default},
	} {
		if got := l.FailureRate(tc.key, tc.action); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("FailureRate(%s, %s) = %.4f, want %.4f", tc.key, tc.action, got, tc.want)
		}
	}
	// close: stubbing failed in all 8 top analyses, faking held in all of
	// them: given that stubbing failed, faking fails in 0 of 8.
	want := (0 + 2*base.FailureRateGiven("close", "fake", false)) / (8 + 2)
	if got := l.FailureRateGiven("close", "fake", false); math.Abs(got-want) > 1e-9 {
		t.Errorf("FailureRateGiven(close, fake, false) = %.4f, want %.4f", got, want)
	}
	if got, want := l.FailureRateGiven("rseq", "fake", true), base.FailureRateGiven("rseq", "fake", true); got != want {
		t.Errorf("FailureRateGiven of a key top has not seen = %.4f, want the base's %.4f", got, want)
	}

	// Bundled: the Debian analyses over upstream's; leaving one out
	// removes exactly its counts.
	if len(debian) == 0 {
		t.Fatal("no bundled Debian analysis")
	}
	a := debian[0]
	all, without := Debian(), Debian(a.name)
	for k, c := range a.counts {
		w, _ := all.Counts(k)
		g, _ := without.Counts(k)
		if g.add(c) != w {
			t.Errorf("Debian(%q) %s: %+v + %+v != %+v", a.name, k, g, c, w)
		}
	}
	if b := Bundled([]string{a.name}); b.Top.Len() > all.Len() || b.Weight != LayerWeight {
		t.Errorf("Bundled without %s: %d keys (all: %d), weight %v", a.name, b.Top.Len(), all.Len(), b.Weight)
	}
}

func TestFailureRate(t *testing.T) {
	tab := New(map[string]Counts{
		"read":   {Used: 100, Stub: 0, Fake: 2, Required: 98},
		"rseq":   {Used: 98, Stub: 98, Fake: 90, Required: 0},
		"ioctl":  {Used: 10, Stub: 6, Fake: 4, Required: 3},
		"rare":   {Used: 2, Stub: 2, Fake: 2},
		"unused": {},
	})
	for _, tc := range []struct {
		key, action string
		want        float64
	}{
		{"read", "stub", (100 + 1) / 102.0},
		{"read", "fake", (98 + 1) / 102.0},
		{"rseq", "stub", 1 / 100.0},
		{"rseq", "fake", 9 / 100.0},
		{"rare", "stub", 0.25},                  // two analyses: not certain
		{"ioctl:TCGETS", "stub", (2 + 1) / 7.0}, // the syscall's, at half weight
		{"/proc/self/status", "stub", Default},  // pseudo-files borrow nothing
		{"nosuch", "fake", Default},             // never seen
		{"unused", "stub", Default},             // no analysis
	} {
		if got := tab.FailureRate(tc.key, tc.action); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("FailureRate(%s, %s) = %.4f, want %.4f", tc.key, tc.action, got, tc.want)
		}
	}
	// ioctl: stubbing held in 6 of 10, faking in 4, both in 3, neither in 3.
	for _, tc := range []struct {
		action    string
		otherHeld bool
		want      float64
	}{
		{"fake", true, (3 + 2*7/12.0) / (6 + 2)},  // faking failed in 3 of the 6 where stubbing held
		{"fake", false, (3 + 2*7/12.0) / (4 + 2)}, // and in 3 of the 4 where it failed
		{"stub", true, (1 + 2*5/12.0) / (4 + 2)},  // stubbing failed in 1 of the 4 where faking held
	} {
		if got := tab.FailureRateGiven("ioctl", tc.action, tc.otherHeld); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("FailureRateGiven(ioctl, %s, %v) = %.4f, want %.4f", tc.action, tc.otherHeld, got, tc.want)
		}
	}
	if got, want := tab.FailureRateGiven("nosuch", "fake", true), Default; got != want {
		t.Errorf("FailureRateGiven of an unknown key = %v, want %v", got, want)
	}
	var none *Table
	if got := none.FailureRate("read", "stub"); got != Default {
		t.Errorf("nil table: %v, want Default", got)
	}
}

func TestFromDataset(t *testing.T) {
	dir := t.TempDir()
	ds := &dataset.Dataset{Schema: dataset.Schema, Entries: []dataset.Entry{
		{Name: "a", Architecture: "amd64", Origin: dataset.OriginVerdict, Status: "ok", Mode: "analyze",
			Syscalls: dataset.Features{Required: []string{"read"}, Both: []string{"rseq"}, Stub: []string{"getcwd"}},
			Features: dataset.Features{Fake: []string{"ioctl:TCGETS"}}},
		{Name: "b", Architecture: "amd64", Origin: dataset.OriginVerdict, Status: "ok", Mode: "analyze",
			Syscalls: dataset.Features{Required: []string{"read"}, Fake: []string{"getcwd"}, Traced: []string{"rseq"}}},
		// not usable: trace mode, insensitive
		{Name: "c", Architecture: "amd64", Origin: dataset.OriginVerdict, Status: "ok", Mode: "trace",
			Syscalls: dataset.Features{Traced: []string{"read"}}},
		{Name: "d", Architecture: "amd64", Origin: dataset.OriginVerdict, Status: "insensitive", Mode: "analyze",
			Syscalls: dataset.Features{Both: []string{"read"}}},
	}}
	p := filepath.Join(dir, "my.dataset.json")
	if err := dataset.WriteFile(p, ds); err != nil {
		t.Fatal(err)
	}
	tab, err := FromDataset(p)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]Counts{
		"read":         {Used: 2, Required: 2},
		"rseq":         {Used: 1, Stub: 1, Fake: 1},
		"getcwd":       {Used: 2, Stub: 1, Fake: 1},
		"ioctl:TCGETS": {Used: 1, Fake: 1},
	} {
		if got, _ := tab.Counts(k); got != want {
			t.Errorf("%s: %+v, want %+v", k, got, want)
		}
	}
	merged := Upstream().Merge(tab)
	b, _ := Upstream().Counts("read")
	if m, _ := merged.Counts("read"); m.Used != b.Used+2 || m.Required != b.Required+2 {
		t.Errorf("merged read %+v, builtin %+v + 2 required", m, b)
	}

	// Left out by name.
	without, err := FromDataset(p, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := without.Counts("read"); got != (Counts{Used: 1, Required: 1}) {
		t.Errorf("without a: read %+v, want only b's", got)
	}
	if _, ok := without.Counts("ioctl:TCGETS"); ok {
		t.Error("without a: ioctl:TCGETS (only a used it) is still counted")
	}

	// Bad inputs: a clear error naming the file.
	empty := filepath.Join(dir, "empty.dataset.json")
	if err := dataset.WriteFile(empty, &dataset.Dataset{Schema: dataset.Schema}); err != nil {
		t.Fatal(err)
	}
	if _, err := FromDataset(empty); err == nil || !strings.Contains(err.Error(), "no usable entry") {
		t.Errorf("empty dataset: %v", err)
	}
	junk := filepath.Join(dir, "junk.json")
	os.WriteFile(junk, []byte("{not json"), 0o644)
	if _, err := FromDataset(junk); err == nil || !strings.Contains(err.Error(), "junk.json") {
		t.Errorf("junk: %v, want an error naming the file", err)
	}
}
