// Command compare reads traces of the same workload made with
// `loupe trace --counts exact` and `--counts seen` and checks that they
// found the same syscalls, sub-features and pseudo-files for every binary
// (the contract of --counts seen: the sets are exact, counts are lower
// bounds). It prints one line per trace pair: sets equal or not, the
// number of keys, the ptrace stops of each and their ratio, and what
// differs. Extra exact traces (EXACT2...) give the workload's own variation:
// a key that exact runs disagree on is reported as such, not as a failure.
//
// Usage: go run ./bench/counts/compare NAME EXACT.yaml SEEN.yaml [EXACT2.yaml...]
// Exit status 1 when the sets differ beyond the exact runs' own variation.
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// traceFile is what compare reads of a trace file (doc/trace-schema.md);
// it does not use tracer/tracefile, which would tie a benchmark to the
// tracer (internal/layering).
type traceFile struct {
	Schema   string  `yaml:"schema"`
	Counts   string  `yaml:"counts"`
	Stops    uint64  `yaml:"ptrace_stops"`
	WallSecs float64 `yaml:"wall_seconds"`
	Binaries []struct {
		Path        string `yaml:"path"`
		Interpreter string `yaml:"interpreter"`
		Syscalls    []struct {
			Name string `yaml:"name"`
		} `yaml:"syscalls"`
		Features []struct {
			Key string `yaml:"key"`
		} `yaml:"features"`
		PseudoFiles []struct {
			Key string `yaml:"key"`
		} `yaml:"pseudo_files"`
	} `yaml:"binaries"`
}

func readTrace(path string) (*traceFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f traceFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Schema != "loupe/trace/v1" {
		return nil, fmt.Errorf("%s: schema %q, want loupe/trace/v1", path, f.Schema)
	}
	return &f, nil
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: compare NAME EXACT.yaml SEEN.yaml [EXACT2.yaml...]")
		os.Exit(2)
	}
	name := os.Args[1]
	var fs []*traceFile
	for _, p := range os.Args[2:] {
		f, err := readTrace(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "compare: %v\n", err)
			os.Exit(2)
		}
		fs = append(fs, f)
	}
	exact, seen := fs[0], fs[1]
	if seen.Counts != "seen" || exact.Counts != "" {
		fmt.Fprintf(os.Stderr, "compare: %s must be an exact trace and %s a seen one (counts %q, %q)\n",
			os.Args[2], os.Args[3], exact.Counts, seen.Counts)
		os.Exit(2)
	}
	e, s := sets(exact), sets(seen)
	// Keys on which exact runs disagree are the workload's own variation.
	varying := map[string]bool{}
	for _, f := range fs[2:] {
		o := sets(f)
		for k := range union(e, o) {
			if e[k] != o[k] {
				varying[k] = true
			}
		}
	}
	var diffs, noise []string
	for k := range union(e, s) {
		if e[k] == s[k] {
			continue
		}
		side := "exact only"
		if s[k] {
			side = "seen only"
		}
		if varying[k] {
			noise = append(noise, k+" ("+side+", varies between exact runs)")
		} else {
			diffs = append(diffs, k+" ("+side+")")
		}
	}
	slices.Sort(diffs)
	slices.Sort(noise)
	verdict := "same sets"
	if len(diffs) > 0 {
		verdict = "DIFFERENT SETS"
	}
	fmt.Printf("%-24s %s: %d keys; ptrace stops exact %d, seen %d (%.2fx); wall exact %.2fs, seen %.2fs\n",
		name, verdict, len(e), exact.Stops, seen.Stops, float64(seen.Stops)/float64(max(exact.Stops, 1)),
		exact.WallSecs, seen.WallSecs)
	for _, d := range diffs {
		fmt.Println("    differs:", d)
	}
	for _, d := range noise {
		fmt.Println("    noise:  ", d)
	}
	if len(diffs) > 0 {
		os.Exit(1)
	}
}

// sets is what a trace found: "binary syscall NAME", "binary feature KEY",
// "binary pseudo KEY".
func sets(f *traceFile) map[string]bool {
	m := map[string]bool{}
	for _, b := range f.Binaries {
		bin := b.Path
		if b.Interpreter != "" {
			bin += " (" + b.Interpreter + ")"
		}
		for _, c := range b.Syscalls {
			m[strings.Join([]string{bin, "syscall", c.Name}, " ")] = true
		}
		for _, c := range b.Features {
			m[strings.Join([]string{bin, "feature", c.Key}, " ")] = true
		}
		for _, c := range b.PseudoFiles {
			m[strings.Join([]string{bin, "pseudo", c.Key}, " ")] = true
		}
	}
	return m
}

func union(a, b map[string]bool) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}
