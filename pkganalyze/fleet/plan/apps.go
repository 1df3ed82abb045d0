package plan

import (
	"fmt"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/suggest"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

// Workload selects which workloads count.
type Workload string

const (
	Bench Workload = "bench"
	Suite Workload = "suite"
	Any   Workload = "any"
)

// ParseWorkload accepts bench|benchmark, suite|testsuite and any|*.
func ParseWorkload(s string) (Workload, error) {
	switch s {
	case "bench", "benchmark":
		return Bench, nil
	case "suite", "testsuite":
		return Suite, nil
	case "any", "*", "":
		return Any, nil
	}
	return "", fmt.Errorf("workload %q: want bench, suite or any", s)
}

func (w Workload) matches(kind string) bool {
	switch w {
	case Bench:
		return kind == dataset.KindBenchmark
	case Suite:
		return kind == dataset.KindSuite
	}
	return true
}

// App is one application's combined needs.
type App struct {
	Name string
	// Workloads lists the entries used, "<origin>:<workload>" (or the
	// version for verdicts).
	Workloads []string
	Syscalls  map[string]dataset.State
	Features  map[string]dataset.State // sub-features, "ioctl:TCGETS"
	// PseudoFiles are the pseudo-files it opens, "/proc/self/status".
	PseudoFiles map[string]dataset.State
	// Ignored lists entries of the selected kind that were not usable
	// while others were ("<label> status ..."): the plan covers the app
	// only as far as its usable workloads exercised it.
	Ignored []string
}

// NoData is an application that has no usable evidence.
type NoData struct {
	App    string `json:"app" yaml:"app"`
	Reason string `json:"reason" yaml:"reason"`
}

// Apps builds the applications a plan works on. With naive false only
// status ok + mode analyze entries count; with naive true every status ok
// entry counts and every used syscall is required (implement everything
// traced). Several workloads of one app combine conservatively: a syscall
// used by any workload is needed, and stubbing (faking) it is acceptable
// only if every workload that used it accepts it; so any workload that
// requires a syscall makes it required. only, if non-empty, restricts the
// apps (names not in the dataset are reported as no data).
func Apps(entries []dataset.Entry, w Workload, naive bool, only []string) ([]*App, []NoData) {
	type acc struct {
		app     *App
		unusabl []string
		any     bool // has an entry of the selected kind
	}
	want := map[string]bool{}
	for _, a := range only {
		want[a] = true
	}
	m := map[string]*acc{}
	var names []string
	for i := range entries {
		e := &entries[i]
		if len(want) > 0 && !want[e.Name] {
			continue
		}
		a := m[e.Name]
		if a == nil {
			a = &acc{}
			m[e.Name] = a
			names = append(names, e.Name)
		}
		if !w.matches(e.Workload.Kind) {
			continue
		}
		a.any = true
		label := string(e.Origin) + ":" + e.Workload.Name
		if e.Origin == dataset.OriginVerdict {
			// loupe analyze --app verdicts have no version: their
			// workload kind tells a suite from a benchmark.
			v := e.Version
			if v == "" {
				v = e.Workload.Kind
			}
			label = "verdict:" + v + "/" + e.Architecture
		}
		usable := e.Usable()
		if naive {
			usable = e.Status == "ok"
		}
		if !usable {
			why := "status " + e.Status
			if e.Status == "ok" && !naive {
				why = "mode " + e.Mode + " (no stub/fake experiments; only a naive plan can use it)"
			}
			if e.Reason != "" {
				why += ": " + e.Reason
			}
			a.unusabl = append(a.unusabl, label+" "+why)
			continue
		}
		if a.app == nil {
			a.app = &App{Name: e.Name, Syscalls: map[string]dataset.State{}, Features: map[string]dataset.State{},
				PseudoFiles: map[string]dataset.State{}}
		}
		a.app.Workloads = append(a.app.Workloads, label)
		merge(a.app.Syscalls, e.Syscalls.States(), naive)
		merge(a.app.Features, e.Features.States(), naive)
		merge(a.app.PseudoFiles, e.PseudoFiles.States(), naive)
	}
	sort.Strings(names)
	var apps []*App
	var nodata []NoData
	for _, n := range names {
		a := m[n]
		switch {
		case a.app != nil:
			sort.Strings(a.app.Workloads)
			sort.Strings(a.unusabl)
			a.app.Ignored = a.unusabl
			apps = append(apps, a.app)
		case !a.any:
			nodata = append(nodata, NoData{n, "no " + kindName(w) + " workload in the data"})
		default:
			sort.Strings(a.unusabl)
			nodata = append(nodata, NoData{n, "no usable evidence: " + strings.Join(a.unusabl, "; ")})
		}
	}
	for _, o := range only {
		if m[o] == nil {
			nodata = append(nodata, NoData{o, notInDataset(entries, o)})
		}
	}
	sort.Slice(nodata, func(i, j int) bool { return nodata[i].App < nodata[j].App })
	return apps, nodata
}

// UnknownApps says, for each name of only that no entry of the dataset
// has, that it is not in the dataset, with the closest name that is: the
// warning for a mistyped --apps, which would otherwise only show as "no
// data" at the end of the plan.
func UnknownApps(entries []dataset.Entry, only []string) []string {
	have := map[string]bool{}
	for i := range entries {
		have[entries[i].Name] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, o := range only {
		if !have[o] && !seen[o] {
			seen[o] = true
			out = append(out, fmt.Sprintf("--apps: %s", notInDataset(entries, o)))
		}
	}
	return out
}

// notInDataset is the reason an application name has no data because no
// entry has it, with a suggestion when one is close.
func notInDataset(entries []dataset.Entry, name string) string {
	var names []string
	seen := map[string]bool{}
	for i := range entries {
		if n := entries[i].Name; !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if s := suggest.Closest(names, name); s != "" {
		return fmt.Sprintf("%q is not in the dataset (did you mean %q?)", name, s)
	}
	return fmt.Sprintf("%q is not in the dataset", name)
}

func kindName(w Workload) string {
	switch w {
	case Bench:
		return "benchmark"
	case Suite:
		return "test-suite"
	}
	return ""
}

func merge(dst, src map[string]dataset.State, naive bool) {
	for k, s := range src {
		if naive {
			s = dataset.Tested // used: implement it
		}
		if old, ok := dst[k]; ok {
			s = dataset.Combine(old, s)
		}
		dst[k] = s
	}
}
