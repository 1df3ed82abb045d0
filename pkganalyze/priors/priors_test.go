package priors

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
)

// TestBuiltinMatchesData: the generated table is what FromEntries makes of
// the bundled loupedb data (run go generate ./pkganalyze/priors otherwise).
func TestBuiltinMatchesData(t *testing.T) {
	es, _, err := loupedb.Import(testutil.LoupeDB(t))
	if err != nil {
		t.Fatal(err)
	}
	want := FromEntries(es)
	got := Builtin()
	if want.Len() != got.Len() {
		t.Fatalf("builtin has %d keys, the data %d: run go generate ./pkganalyze/priors", got.Len(), want.Len())
	}
	for _, k := range want.Keys() {
		w, _ := want.Counts(k)
		if g, _ := got.Counts(k); g != w {
			t.Errorf("%s: builtin %+v, data %+v: run go generate ./pkganalyze/priors", k, g, w)
		}
	}
	// What the adaptive strategy relies on: the syscalls every program
	// needs look required, the usual start-up extras look harmless.
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
	merged := Builtin().Merge(tab)
	b, _ := Builtin().Counts("read")
	if m, _ := merged.Counts("read"); m.Used != b.Used+2 || m.Required != b.Required+2 {
		t.Errorf("merged read %+v, builtin %+v + 2 required", m, b)
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
