// Command table reads the verdicts bench/analyze wrote (one per workload,
// strategy and jobs, named WORKLOAD.STRATEGY.jJOBS.yaml, with the analysis's
// wall seconds in WORKLOAD.STRATEGY.jJOBS.wall) and prints a Markdown table:
// per analysis, the units, the runs, the ratio of the runs to upstream
// Loupe's (2 + 2s)·r, the wall time and its ratio to the exhaustive
// strategy's with the same jobs, and whether the stub, fake and required
// verdicts of every unit equal those of the exhaustive strategy with one job.
//
// Usage: go run ./bench/analyze.d/table DIR
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

type analysis struct {
	workload, strategy string
	jobs               int
	f                  *verdict.File
	wall               float64
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: table DIR")
		os.Exit(2)
	}
	paths, _ := filepath.Glob(filepath.Join(os.Args[1], "*.*.j*.yaml"))
	var as []analysis
	for _, p := range paths {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(p), ".yaml"), ".")
		if len(parts) != 3 {
			continue
		}
		jobs, err := strconv.Atoi(strings.TrimPrefix(parts[2], "j"))
		if err != nil {
			continue
		}
		f, err := verdict.ReadFile(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "table: %v\n", err)
			continue
		}
		a := analysis{workload: parts[0], strategy: parts[1], jobs: jobs, f: f, wall: f.RunMetadata.WallSeconds}
		if b, err := os.ReadFile(strings.TrimSuffix(p, ".yaml") + ".wall"); err == nil {
			if w, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64); err == nil {
				a.wall = w
			}
		}
		as = append(as, a)
	}
	sort.Slice(as, func(i, j int) bool {
		a, b := as[i], as[j]
		if a.workload != b.workload {
			return a.workload < b.workload
		}
		if a.strategy != b.strategy {
			return a.strategy > b.strategy // exhaustive first
		}
		return a.jobs < b.jobs
	})
	ref := map[string]analysis{}
	for _, a := range as {
		if a.strategy == "exhaustive" {
			if r, ok := ref[a.workload]; !ok || a.jobs < r.jobs {
				ref[a.workload] = a
			}
			if _, ok := ref[fmt.Sprintf("%s/%d", a.workload, a.jobs)]; !ok {
				ref[fmt.Sprintf("%s/%d", a.workload, a.jobs)] = a
			}
		}
	}
	fmt.Println("| workload | s | strategy | jobs | status | runs | upstream (2+2s)·3 | runs / upstream | wall | wall / exhaustive | same verdicts |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, a := range as {
		s := units(a.f)
		up := (2 + 2*s) * a.f.Workload.Replicas
		ratio := "—"
		if up > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*float64(a.f.Runs.Total)/float64(up))
		}
		wr := "—"
		if r, ok := ref[fmt.Sprintf("%s/%d", a.workload, a.jobs)]; ok && r.wall > 0 {
			wr = fmt.Sprintf("%.2f", a.wall/r.wall)
		}
		same := "—"
		if r, ok := ref[a.workload]; ok {
			same = "yes"
			if d := diff(decisions(r.f), decisions(a.f)); d != "" {
				same = "no: " + d
			}
		}
		fmt.Printf("| %s | %d | %s | %d | %s | %d | %d | %s | %.0fs | %s | %s |\n",
			a.workload, s, a.strategy, a.jobs, a.f.Status, a.f.Runs.Total, up, ratio, a.wall, wr, same)
	}
}

// units counts the distinct units of the verdict.
func units(f *verdict.File) int {
	seen := map[string]bool{}
	for _, b := range f.Binaries {
		for _, s := range b.Syscalls {
			seen[s.Name] = true
		}
		for _, x := range append(append([]verdict.Feature{}, b.Features...), b.PseudoFiles...) {
			seen[x.Key] = true
		}
	}
	return len(seen)
}

func decisions(f *verdict.File) map[string]string {
	out := map[string]string{}
	add := func(bin, key string, o verdict.Outcome) {
		out[bin+" "+key] = fmt.Sprintf("stub=%s fake=%s required=%v", b(o.Stub), b(o.Fake), o.Required)
	}
	for _, bin := range f.Binaries {
		for _, s := range bin.Syscalls {
			add(bin.Path, s.Name, s.Outcome)
		}
		for _, x := range append(append([]verdict.Feature{}, bin.Features...), bin.PseudoFiles...) {
			add(bin.Path, x.Key, x.Outcome)
		}
	}
	return out
}

func b(p *bool) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatBool(*p)
}

// diff names the units whose decisions differ.
func diff(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, fmt.Sprintf("%s (%s vs %s)", filepath.Base(k), v, b[k]))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, filepath.Base(k)+" only here")
		}
	}
	sort.Strings(d)
	return strings.Join(d, "; ")
}
