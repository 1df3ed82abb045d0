// Command compare reads verdict files of the same workload analysed at
// several granularities (loupe analyze --granularity syscalls, features,
// pseudo-files) and prints, as Markdown:
//
//   - the cost of each granularity: units by kind, runs, wall time;
//   - for every syscall with sub-features, its whole-syscall verdict next to
//     the verdicts of its sub-features, and how many whole-syscall
//     "required" verdicts are only partly required (at least one of the
//     syscall's sub-features can be stubbed or faked);
//   - the pseudo-file verdicts.
//
// The whole-syscall verdict is taken from the syscalls-granularity file when
// one is given (else from the finest file's own syscall rows, which include
// the propagation from required sub-features).
//
// Usage: go run ./bench/subfeatures/compare VERDICT.yaml...
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compare VERDICT.yaml...")
		os.Exit(2)
	}
	var files []*verdict.File
	for _, p := range os.Args[1:] {
		f, err := verdict.ReadFile(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "compare: %v\n", err)
			os.Exit(1)
		}
		files = append(files, f)
	}
	if err := report(os.Stdout, files); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		os.Exit(1)
	}
}

// label is a one-word verdict: required, stub (stubbable), fake (fakeable
// only), untested; with "(flaky)" appended when replicas disagreed.
func label(o verdict.Outcome) string {
	var s string
	switch {
	case o.Stub == nil && o.Fake == nil:
		s = "untested"
	case o.Required:
		s = "required"
	case o.Stub != nil && *o.Stub:
		s = "stub"
	default:
		s = "fake"
	}
	if o.Flaky {
		s += " (flaky)"
	}
	return s
}

func replaceable(o verdict.Outcome) bool {
	return !o.Required && ((o.Stub != nil && *o.Stub) || (o.Fake != nil && *o.Fake))
}

func report(w io.Writer, files []*verdict.File) error {
	byGran := map[verdict.Granularity]*verdict.File{}
	for _, f := range files {
		if f.Status != verdict.StatusOK {
			return fmt.Errorf("granularity %s: status %s (%s): nothing to compare", f.Granularity, f.Status, strings.Join(f.Evidence, "; "))
		}
		byGran[f.Granularity] = f
	}
	fmt.Fprintln(w, "| granularity | syscalls | sub-features | pseudo-files | units | runs (experiments) | wall |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, g := range []verdict.Granularity{verdict.GranSyscalls, verdict.GranFeatures, verdict.GranPseudoFiles} {
		f := byGran[g]
		if f == nil {
			continue
		}
		var s, ft, pf int
		for _, b := range f.Binaries {
			s += len(b.Syscalls)
			ft += len(b.Features)
			pf += len(b.PseudoFiles)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d (%d) | %.0f s |\n", g, s, ft, pf, s+ft+pf,
			f.Runs.Total, f.Runs.Experiments, f.RunMetadata.WallSeconds)
	}
	fine := byGran[verdict.GranPseudoFiles]
	if fine == nil {
		fine = byGran[verdict.GranFeatures]
	}
	if fine == nil {
		return nil
	}
	whole := byGran[verdict.GranSyscalls]
	if whole == nil {
		whole = fine
	}
	for _, b := range fine.Binaries {
		wholeOf := map[string]verdict.Outcome{}
		var wb *verdict.Binary
		for i := range whole.Binaries {
			if whole.Binaries[i].Path == b.Path {
				wb = &whole.Binaries[i]
			}
		}
		if wb == nil {
			return fmt.Errorf("%s: not in the %s verdict", b.Path, whole.Granularity)
		}
		required := 0
		for _, s := range wb.Syscalls {
			wholeOf[s.Name] = s.Outcome
			if s.Required {
				required++
			}
		}
		ownOf := map[string]verdict.Outcome{}
		for _, s := range b.Syscalls {
			ownOf[s.Name] = s.Outcome
		}
		subs := map[string][]verdict.Feature{}
		for _, ft := range b.Features {
			p := pkganalyze.ParentSyscall(ft.Key)
			subs[p] = append(subs[p], ft)
		}
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "\n%s (whole-syscall verdicts from the %s analysis, sub-features from the %s analysis)\n\n", b.Path, whole.Granularity, fine.Granularity)
		fmt.Fprintln(w, "| syscall | whole syscall | in the finer analysis | sub-features |")
		fmt.Fprintln(w, "|---|---|---|---|")
		partly, withSubs, allSubsReplaceable := 0, 0, 0
		for _, n := range names {
			wo, ok := wholeOf[n]
			wl := "not used"
			if ok {
				wl = label(wo)
			}
			var parts []string
			some, all := false, true
			for _, ft := range subs[n] {
				parts = append(parts, fmt.Sprintf("`%s` %s", strings.TrimPrefix(ft.Key, n+":"), label(ft.Outcome)))
				if replaceable(ft.Outcome) {
					some = true
				} else {
					all = false
				}
			}
			if ok && wo.Required {
				withSubs++
				if some {
					partly++
				}
				if all {
					allSubsReplaceable++
				}
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", n, wl, label(ownOf[n]), strings.Join(parts, ", "))
		}
		fmt.Fprintf(w, "\n%d syscalls, %d required as whole syscalls; %d of those have decoded sub-features; %d are only partly required (at least one sub-feature stubbable or fakeable); for %d every sub-feature is stubbable or fakeable.\n",
			len(wb.Syscalls), required, withSubs, partly, allSubsReplaceable)
		if len(b.PseudoFiles) > 0 {
			fmt.Fprintln(w, "\n| pseudo-file | calls | verdict |")
			fmt.Fprintln(w, "|---|---|---|")
			for _, pf := range b.PseudoFiles {
				fmt.Fprintf(w, "| `%s` | %d | %s |\n", pf.Key, pf.Calls, label(pf.Outcome))
			}
		}
	}
	return nil
}
