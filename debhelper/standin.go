package debhelper

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Suspect is a test helper that looks like a test-only variant of an
// executable the package ships but the test step never ran: a -debug, gcov
// or static build named after it (foo-debug, foo_gcov, foo.static), or a
// same-named build (tests/foo, .libs/foo) that matched nothing.
type Suspect struct {
	Rel       string // the helper's build-tree path
	Installed string // the shipped executable it may stand for
}

// Suspects lists the likely test-only variants of pkg's executables that
// did not run, sorted by installed path then build-tree path. A script is
// a suspect only for a shipped script. Helpers that
// debian/loupe.yaml excludes, libtool wrapper scripts and helpers declared
// as stand-ins for another path are not suspects: the package has said
// what they are.
func Suspects(attrs []Attribution, idx *Index, pkg string) []Suspect {
	ran := map[string]bool{}
	for _, a := range attrs {
		for _, o := range a.Owners {
			ran[o.Installed] = true
		}
	}
	var out []Suspect
	seen := map[Suspect]bool{}
	for _, f := range idx.files {
		if f.Package != pkg || !f.Exec || ran[f.Path] {
			continue
		}
		inst, base := f.Path, path.Base(f.Path)
		for _, a := range attrs {
			// A script is no build of a program (tests/foo.sh is foo's
			// test, not foo).
			if len(a.Owners) > 0 || a.Note != "" || a.Exec.Interpreter != "" && !f.Script {
				continue
			}
			if !variantOf(libtoolBase(a.Rel), base) {
				continue
			}
			s := Suspect{Rel: a.Rel, Installed: inst}
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Installed != out[j].Installed {
			return out[i].Installed < out[j].Installed
		}
		return out[i].Rel < out[j].Rel
	})
	return out
}

// variantOf reports whether name is a build of base: the same name, or
// base followed by "-", "_" or "." and a suffix (foo-debug, foo_g,
// foo.static).
func variantOf(name, base string) bool {
	if name == base {
		return true
	}
	rest, ok := strings.CutPrefix(name, base)
	return ok && len(rest) > 1 && strings.ContainsRune("-_.", rune(rest[0]))
}

// maxListed bounds the paths a reason or a list of evidence names, so that
// a package shipping hundreds of executables keeps a small verdict.
const maxListed = 5

// Explanation says why pkg's verdict is what its attribution makes it:
// Reason for a not-exercised verdict (empty when pkg's binaries ran), and
// Evidence sentences for every verdict (likely test builds of binaries that
// did not run, declared stand-ins that did not run). ShipsExecutables is
// false for packages with no executable at all (documentation, data):
// their verdicts need not list the test helpers.
type Explanation struct {
	Reason           string
	Evidence         []string
	ShipsExecutables bool
	// HelperNotes are notes for the suspects' helper entries, by build-tree
	// path.
	HelperNotes map[string]string
}

// Explain works out pkg's Explanation from the attribution of the test
// step's executables (attrs), the installed files and the configuration
// (cfg may be nil).
func Explain(attrs []Attribution, idx *Index, cfg *Config, pkg string) Explanation {
	exes := idx.Executables(pkg)
	ex := Explanation{ShipsExecutables: len(exes) > 0, HelperNotes: map[string]string{}}
	suspects := Suspects(attrs, idx, pkg)
	for _, s := range suspects {
		ex.HelperNotes[s.Rel] = "looks like a test build of " + s.Installed + " (declare a stand-in)"
	}
	for i, s := range suspects {
		if i == maxListed {
			ex.Evidence = append(ex.Evidence, fmt.Sprintf("... and %d more likely test builds of %s's executables", len(suspects)-i, pkg))
			break
		}
		ex.Evidence = append(ex.Evidence, fmt.Sprintf("%s did not run, but the test step ran %s, which looks like a test build of it: "+
			"if it is, declare it in %s (stand-ins: {%s: %s})", s.Installed, s.Rel, ConfigFile, s.Rel, s.Installed))
	}
	if cfg != nil {
		for _, st := range cfg.StandIns {
			ran := false
			for _, a := range attrs {
				ran = ran || a.StandIn != nil && a.StandIn.Path == st.Path
			}
			ships := false
			for _, f := range idx.byPath[st.Installed] {
				ships = ships || f.Package == pkg
			}
			if ships && !ran {
				ex.Evidence = append(ex.Evidence, fmt.Sprintf("the stand-in %s for %s (%s) did not run in the test step",
					st.Path, st.Installed, st.Where(cfg.File)))
			}
		}
	}
	if len(Shipped(attrs, pkg)) > 0 {
		return ex
	}
	switch {
	case !ex.ShipsExecutables:
		ex.Reason = fmt.Sprintf("%s ships no executable", pkg)
	case len(suspects) == 1:
		s := suspects[0]
		ex.Reason = fmt.Sprintf("the test step ran none of the executables %s ships; it ran %s, which looks like a test build of %s: "+
			"declare a stand-in (see evidence)", pkg, s.Rel, s.Installed)
	case len(suspects) > 1:
		ex.Reason = fmt.Sprintf("the test step ran none of the executables %s ships; it ran %s and %d more likely test builds of them: "+
			"declare stand-ins (see evidence)", pkg, suspects[0].Rel, len(suspects)-1)
	default:
		ex.Reason = fmt.Sprintf("the test step ran none of the executables %s ships (%s)", pkg, listPaths(exes))
	}
	return ex
}

// listPaths names up to maxListed paths, then how many more.
func listPaths(ps []string) string {
	if len(ps) <= maxListed {
		return strings.Join(ps, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ps[:maxListed], ", "), len(ps)-maxListed)
}
