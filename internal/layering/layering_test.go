package layering

import (
	"bufio"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// graph is the import graph of the module's packages, read from the source
// (go/build, for linux/amd64 and the default build tags), with packages named
// relative to the module: "tracer", "pkganalyze/fleet/plan".
type graph struct {
	module string
	// imports are a package's non-test imports, loupe's relative, others
	// (the standard library, golang.org/x/sys/unix) by their full path.
	imports map[string][]string
	// testImports are those of its _test.go files, both packages.
	testImports map[string][]string
}

func readGraph(t *testing.T) *graph {
	t.Helper()
	root := moduleRoot(t)
	module := modulePath(t, filepath.Join(root, "go.mod"))
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "linux", "amd64", false
	g := &graph{module: module, imports: map[string][]string{}, testImports: map[string][]string{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		p, err := ctx.ImportDir(path, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		g.imports[rel] = g.local(p.Imports)
		g.testImports[rel] = g.local(append(append([]string{}, p.TestImports...), p.XTestImports...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// local names loupe's packages relative to the module.
func (g *graph) local(imports []string) []string {
	out := make([]string, 0, len(imports))
	for _, imp := range imports {
		if rest, ok := strings.CutPrefix(imp, g.module+"/"); ok {
			imp = rest
		}
		out = append(out, imp)
	}
	return out
}

func (g *graph) isLocal(p string) bool { _, ok := g.imports[p]; return ok }

// deps returns every loupe package p reaches through non-test imports, with
// the chain by which it reaches each.
func (g *graph) deps(p string) map[string][]string {
	chains := map[string][]string{}
	queue := []string{p}
	chains[p] = []string{p}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, imp := range g.imports[cur] {
			if _, seen := chains[imp]; seen || !g.isLocal(imp) {
				continue
			}
			chains[imp] = append(append([]string{}, chains[cur]...), imp)
			queue = append(queue, imp)
		}
	}
	delete(chains, p)
	return chains
}

func (g *graph) packages(pattern string) []string {
	var out []string
	for p := range g.imports {
		if match(pattern, p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// match reports whether package p matches pattern: a path, a path
// followed by "/..." for it and everything below it, or "..." for all.
func match(pattern, p string) bool {
	if pattern == "..." {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pattern
}

func matchAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		if match(pat, p) {
			return true
		}
	}
	return false
}

// A rule forbids the packages matching From to import those matching To,
// unless they match Except. Reach extends it to indirect imports.
type rule struct {
	From, Except []string // packages the rule applies to, and exceptions
	To, Allowed  []string // imports it forbids, and exceptions
	Reach        bool     // also through other packages
	Why          string
}

var rules = []rule{
	{
		From: []string{"..."}, Except: []string{"tracer/..."},
		To:  []string{"golang.org/x/sys/..."},
		Why: "tracer is the only package that talks to the kernel's tracing interfaces",
	},
	{
		From: []string{"internal/..."},
		To:   []string{"tracer/...", "pkganalyze/...", "debhelper/...", "cmd/...", "bench/..."},
		Why:  "internal/ is what every part may use: it cannot depend on any of them",
	},
	{
		From: []string{"tracer/..."}, Except: []string{"tracer/ptracetest"},
		To:  []string{"pkganalyze/...", "debhelper/...", "cmd/...", "internal/verdict"},
		Why: "the tracer knows processes and syscalls, nothing about Debian or verdicts",
	},
	{
		From: []string{"..."}, Except: []string{"tracer/...", "cmd/...", "pkganalyze/runner"},
		To:  []string{"tracer/..."},
		Why: "only the commands and pkganalyze/runner run the tracer",
	},
	{
		From: []string{"pkganalyze", "pkganalyze/fleet/..."},
		To:   []string{"tracer/...", "debhelper/...", "cmd/..."}, Reach: true,
		Why: "the method and the fleet are pure: tested without ptrace or Debian",
	},
	{
		From: []string{"pkganalyze"},
		To:   []string{"pkganalyze/fleet/...", "pkganalyze/runner", "pkganalyze/priors"},
		Why:  "the method knows neither how a run is executed nor where its estimates come from",
	},
	{
		From: []string{"pkganalyze/fleet/..."},
		To:   []string{"pkganalyze", "pkganalyze/runner", "pkganalyze/priors"}, Reach: true,
		Why: "the fleet reads verdicts; it never runs the method",
	},
	{
		From: []string{"pkganalyze/runner", "pkganalyze/priors"},
		To:   []string{"debhelper/...", "cmd/..."}, Reach: true,
		Why: "the method's side knows nothing of Debian",
	},
	{
		From: []string{"debhelper/..."},
		To:   []string{"tracer/...", "cmd/..."}, Reach: true,
		Why: "debhelper is Debian knowledge: no ptrace",
	},
	{
		From: []string{"debhelper/..."}, Except: []string{"debhelper/rebuild"},
		To:  []string{"pkganalyze/..."},
		Why: "dh_loupe's Debian knowledge stands apart from the method",
	},
	{
		From: []string{"debhelper/rebuild"},
		To:   []string{"pkganalyze/..."}, Allowed: []string{"pkganalyze/fleet/dataset"},
		Why: "a rebuild reads the verdicts a .changes lists as loupe db does, and nothing else of pkganalyze",
	},
	{
		From: []string{"..."}, Except: []string{"cmd/..."},
		To:  []string{"cmd/..."},
		Why: "the commands are the top: nothing imports them",
	},
}

func TestLayering(t *testing.T) {
	g := readGraph(t)
	for _, r := range rules {
		from := []string{}
		for _, pat := range r.From {
			ps := g.packages(pat)
			if len(ps) == 0 {
				t.Errorf("rule %q: no package matches %s: update the rule with the layout", r.Why, pat)
			}
			from = append(from, ps...)
		}
		for _, p := range from {
			if matchAny(r.Except, p) {
				continue
			}
			check := func(imp string, chain []string) {
				if !matchAny(r.To, imp) || matchAny(r.Allowed, imp) {
					return
				}
				t.Errorf("%s imports %s (%s): %s", p, imp, strings.Join(chain, " -> "), r.Why)
			}
			for _, imp := range g.imports[p] {
				check(imp, []string{p, imp})
			}
			if r.Reach {
				for imp, chain := range g.deps(p) {
					if len(chain) > 2 {
						check(imp, chain)
					}
				}
			}
		}
	}
}

func (g *graph) String() string { return fmt.Sprintf("%d packages of %s", len(g.imports), g.module) }

// TestLayeringSeesTheTree checks the graph the rules run on: the imports the
// rules are about exist, so a rule cannot pass because the test read
// nothing.
func TestLayeringSeesTheTree(t *testing.T) {
	g := readGraph(t)
	has := func(p, imp string) bool {
		for _, i := range g.imports[p] {
			if i == imp {
				return true
			}
		}
		return false
	}
	for _, c := range []struct{ pkg, imp string }{
		{"tracer", "golang.org/x/sys/unix"},
		{"tracer", "internal/sysent"},
		{"pkganalyze/runner", "tracer"},
		{"pkganalyze/runner", "pkganalyze"},
		{"debhelper", "internal/verdict"},
		{"debhelper/rebuild", "pkganalyze/fleet/dataset"},
		{"cmd/internal/loupecli", "tracer"},
	} {
		if !has(c.pkg, c.imp) {
			t.Errorf("%s: %s does not import %s, or the test did not read it (%d packages read)", g, c.pkg, c.imp, len(g.imports))
		}
	}
	// Tests may import what the code may not (ptracetest to skip where
	// ptrace is denied), but never the kernel interfaces outside tracer.
	for p, imps := range g.testImports {
		if match("tracer/...", p) {
			continue
		}
		for _, imp := range imps {
			if match("golang.org/x/sys/...", imp) {
				t.Errorf("tests of %s import %s: only tracer talks to the kernel's tracing interfaces", p, imp)
			}
		}
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("go.mod not found above %s", dir)
		}
	}
}

func modulePath(t *testing.T, gomod string) string {
	t.Helper()
	f, err := os.Open(gomod)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`)
		}
	}
	t.Fatalf("%s: no module line", gomod)
	return ""
}
