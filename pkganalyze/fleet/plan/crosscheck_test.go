package plan

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
)

// upstreamApp is what upstream's used_by_apps returns for one app, with its
// stub/fake swap: column "works faked" lands in stubbed, "works stubbed" in
// faked.
type upstreamApp struct {
	name                           string
	required, stubbed, faked, both map[int]bool
}

// upstreamApps reads loupedb as upstream's loader does for -w bench: every
// benchmark-* workload of an app, one run each (the last by name stands in
// for upstream's "latest ctime"), rows 0..334, columns as they are (so the
// inclusive dialect's "both" rows also land in stubbed and faked), and any
// workload's required makes it required. Apps without a benchmark get empty
// sets, as upstream.
func upstreamApps(t *testing.T, db string) []*upstreamApp {
	appsDir := filepath.Join(db, "apps")
	dirs, err := os.ReadDir(appsDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*upstreamApp
	for _, d := range dirs {
		a := &upstreamApp{name: d.Name(), required: map[int]bool{}, stubbed: map[int]bool{}, faked: map[int]bool{}, both: map[int]bool{}}
		wls, _ := os.ReadDir(filepath.Join(appsDir, d.Name()))
		for _, wl := range wls {
			if !strings.HasPrefix(wl.Name(), "benchmark") {
				continue
			}
			runs, _ := os.ReadDir(filepath.Join(appsDir, d.Name(), wl.Name()))
			run := runs[len(runs)-1].Name()
			f, err := os.Open(filepath.Join(appsDir, d.Name(), wl.Name(), run, "data", "dyn.csv"))
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				c := strings.Split(strings.TrimSpace(sc.Text()), ",")
				if strings.HasPrefix(c[0], "#") || len(c) != 5 {
					continue
				}
				var nr int
				fmt.Sscan(c[0], &nr)
				if nr > 334 || c[1] != "Y" {
					continue
				}
				if c[2] == "N" && c[3] == "N" && c[4] == "N" {
					a.required[nr] = true
				}
				if c[2] == "Y" {
					a.stubbed[nr] = true // the swap
				}
				if c[3] == "Y" {
					a.faked[nr] = true // the swap
				}
				if c[4] == "Y" {
					a.both[nr] = true
				}
			}
			f.Close()
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

type upstreamStep struct {
	impl, stub, fake []int
	apps             []string
}

// upstreamPlan reproduces support_plan(): step 0 = required within the OS
// (stub/fake needs ignored), then repeatedly the app with the fewest missing
// required syscalls (strict <, first by name), stub (= "stubbed" ∪ "both")
// and fake needs minus implemented and already listed, only implementations
// added to the supported set; apps needing nothing are batched into the
// next printed step.
func upstreamPlan(o *OS, apps []*upstreamApp) []upstreamStep {
	sup := map[int]bool{}
	for n, a := range o.State {
		if nr, ok := sysent.AMD64.Number(n); ok && nr <= 334 && a == Implemented {
			sup[nr] = true
		}
	}
	missing := func(a *upstreamApp) []int {
		var m []int
		for s := range a.required {
			if !sup[s] {
				m = append(m, s)
			}
		}
		sort.Ints(m)
		return m
	}
	var steps []upstreamStep
	var s0 upstreamStep
	var rest []*upstreamApp
	for _, a := range apps {
		if len(missing(a)) == 0 {
			s0.apps = append(s0.apps, a.name)
		} else {
			rest = append(rest, a)
		}
	}
	steps = append(steps, s0)
	stubbed, faked := map[int]bool{}, map[int]bool{}
	var batch []string
	for len(rest) > 0 {
		bi := 0
		for i, a := range rest {
			if len(missing(a)) < len(missing(rest[bi])) {
				bi = i
			}
		}
		a := rest[bi]
		rest = append(rest[:bi], rest[bi+1:]...)
		st := upstreamStep{impl: missing(a)}
		for s := range a.stubbed {
			if !sup[s] && !stubbed[s] {
				st.stub = append(st.stub, s)
			}
		}
		for s := range a.both {
			if !sup[s] && !stubbed[s] && !contains(st.stub, s) {
				st.stub = append(st.stub, s)
			}
		}
		for s := range a.faked {
			if !sup[s] && !faked[s] {
				st.fake = append(st.fake, s)
			}
		}
		sort.Ints(st.stub)
		sort.Ints(st.fake)
		batch = append(batch, a.name)
		for _, s := range st.impl {
			sup[s] = true
		}
		for _, s := range st.stub {
			stubbed[s] = true
		}
		for _, s := range st.fake {
			faked[s] = true
		}
		if len(st.impl)+len(st.stub)+len(st.fake) > 0 {
			st.apps = batch
			batch = nil
			steps = append(steps, st)
		}
	}
	return steps
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func nums(names []string) string {
	var out []string
	for _, n := range names {
		nr, _ := sysent.AMD64.Number(n)
		out = append(out, fmt.Sprint(nr))
	}
	return strings.Join(out, ",")
}

func ints(xs []int) string {
	var out []string
	for _, x := range xs {
		out = append(out, fmt.Sprint(x))
	}
	return strings.Join(out, ",")
}

// TestCrossCheckUpstream compares loupe's plan with a faithful reproduction
// of upstream's for Kerla and Zephyr with --workload bench, and writes the
// step-by-step comparison to testdata/crosscheck-<OS>.txt (doc/plan.md
// explains the differences). The reproduction is checked against the facts
// known about upstream's published plans (its step 0 counts 7 apps for
// Kerla and 6 for Zephyr; Zephyr's step 1).
func TestCrossCheckUpstream(t *testing.T) {
	db := testutil.LoupeDB(t)
	entries, _, err := loupedb.Import(db)
	if err != nil {
		t.Fatal(err)
	}
	ups := upstreamApps(t, db)
	for _, tt := range []struct {
		os     string
		step0  int
		check1 func(upstreamStep) bool
	}{
		{"Kerla", 7, nil},
		{"Zephyr", 6, func(s upstreamStep) bool {
			return ints(s.impl) == "59,158" && ints(s.stub) == "10,12,13,17,21,107,108,202,218,231,257,262,273,302,318,334" &&
				strings.Join(s.apps, ",") == "perl"
		}},
	} {
		o, err := ReadOS(filepath.Join(db, tt.os+".syscalls"))
		if err != nil {
			t.Fatal(err)
		}
		up := upstreamPlan(o, ups)
		if len(up[0].apps) != tt.step0 {
			t.Errorf("%s: upstream reproduction has %d apps at step 0, upstream's published plan %d", tt.os, len(up[0].apps), tt.step0)
		}
		if tt.check1 != nil && !tt.check1(up[1]) {
			t.Errorf("%s: upstream reproduction step 1 = %+v, not upstream's published one", tt.os, up[1])
		}
		ours := Auto(o, entries, Bench, nil, nil, false)

		var b strings.Builder
		fmt.Fprintf(&b, "# %s, --workload bench: loupe's plan vs upstream's support_plan (reproduced)\n", tt.os)
		fmt.Fprintf(&b, "# syscalls by x86_64 number; upstream's stub/fake columns are as upstream prints them (swapped)\n\n")
		upImpl, ourImpl := 0, 0
		for i := 0; i < max(len(up), len(ours.Steps)); i++ {
			fmt.Fprintf(&b, "step %d\n", i)
			if i < len(up) {
				s := up[i]
				upImpl += len(s.impl)
				if i == 0 {
					fmt.Fprintf(&b, "  upstream: supported %d: %s\n", len(s.apps), strings.Join(s.apps, " "))
				} else {
					fmt.Fprintf(&b, "  upstream: impl [%s] stub [%s] fake [%s] +%s (impl total %d)\n", ints(s.impl), ints(s.stub), ints(s.fake), strings.Join(s.apps, " "), upImpl)
				}
			}
			if i < len(ours.Steps) {
				s := ours.Steps[i]
				var apps []string
				for _, u := range s.Unlocks {
					apps = append(apps, u.App)
				}
				ourImpl = s.Implemented
				if i == 0 {
					fmt.Fprintf(&b, "  loupe:    supported %d: %s; stub [%s] fake [%s]\n", len(apps), strings.Join(apps, " "), nums(s.Stub), nums(s.Fake))
				} else {
					fmt.Fprintf(&b, "  loupe:    impl [%s] stub [%s] fake [%s] +%d: %s (impl total %d, apps %d)\n", nums(s.Implement), nums(s.Stub), nums(s.Fake), len(apps), strings.Join(apps, " "), ourImpl, s.Supported)
				}
			}
		}
		var nd []string
		noData := map[string]bool{}
		for _, n := range ours.NoData {
			nd = append(nd, n.App)
			noData[n.App] = true
		}
		// The effort curve in numbers: implementations needed before k of
		// the apps with data are supported (upstream's no-data apps are
		// not counted for it, since nothing says they run).
		need := func(k int) (int, int) {
			u, l := -1, -1
			apps, impl := 0, 0
			for _, s := range up {
				impl += len(s.impl)
				for _, a := range s.apps {
					if !noData[a] {
						apps++
					}
				}
				if apps >= k && u < 0 {
					u = impl
				}
			}
			for _, s := range ours.Steps {
				if s.Supported >= k && l < 0 {
					l = s.Implemented
				}
			}
			return u, l
		}
		fmt.Fprintf(&b, "\nsyscalls implemented before k of the %d apps with data run (upstream / loupe):\n", ours.Apps)
		for _, q := range []int{10, 25, 50, 75, 90, 100} {
			k := (ours.Apps*q + 99) / 100
			u, l := need(k)
			fmt.Fprintf(&b, "  %3d%% (%3d apps): %3d / %3d\n", q, k, u, l)
		}
		// Apps upstream counts as supported although, by the data's own
		// columns, the stubs/fakes it prescribes break them (the swap):
		// the syscall is stub-only but only ever faked, or fake-only but
		// only ever stubbed, and never implemented.
		trueApps, _ := Apps(entries, Bench, false, nil)
		byName := map[string]*App{}
		for _, a := range trueApps {
			byName[a.Name] = a
		}
		impl, stubbedU, fakedU := map[int]bool{}, map[int]bool{}, map[int]bool{}
		for n, a := range o.State {
			if nr, ok := sysent.AMD64.Number(n); ok && a == Implemented {
				impl[nr] = true
			}
		}
		var broken []string
		for i, st := range up {
			for _, x := range st.impl {
				impl[x] = true
			}
			for _, x := range st.stub {
				stubbedU[x] = true
			}
			for _, x := range st.fake {
				fakedU[x] = true
			}
			if i == 0 {
				continue
			}
			for _, an := range st.apps {
				a := byName[an]
				if a == nil {
					continue
				}
				var bad []string
				for sname, stt := range a.Syscalls {
					nr, _ := sysent.AMD64.Number(sname)
					if impl[nr] {
						continue
					}
					if stt.Class() == "fake" && stubbedU[nr] && !fakedU[nr] || stt.Class() == "stub" && fakedU[nr] && !stubbedU[nr] {
						bad = append(bad, fmt.Sprintf("%s(%d) %s-only", sname, nr, stt.Class()))
					}
				}
				if len(bad) > 0 {
					sort.Strings(bad)
					broken = append(broken, fmt.Sprintf("%s at step %d: %s", an, i, strings.Join(bad, ", ")))
				}
			}
		}
		fmt.Fprintf(&b, "\nupstream apps whose prescribed stub/fake contradicts the data (swap), when unlocked: %d\n", len(broken))
		for _, x := range broken {
			fmt.Fprintf(&b, "  %s\n", x)
		}
		fmt.Fprintf(&b, "\nloupe no data: %s\n", strings.Join(nd, " "))
		fmt.Fprintf(&b, "steps: upstream %d, loupe %d; syscalls implemented: upstream %d, loupe %d\n", len(up)-1, len(ours.Steps)-1, upImpl, ourImpl)
		golden(t, "crosscheck-"+tt.os+".txt", []byte(b.String()))
	}
}

// check that dataset is used (keeps imports honest if the test shrinks).
var _ = dataset.KindBenchmark
