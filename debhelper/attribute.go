package debhelper

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/exeid"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Attribution methods, strongest first.
const (
	ByStandIn  = "stand-in" // stand-ins in debian/loupe.yaml: a test-only variant
	ByConfig   = "config"   // binaries.add in debian/loupe.yaml
	ByBuildID  = "build-id" // ELF GNU build-id (survives install and strip)
	BySHA256   = "sha256"   // same content (scripts, or unstripped copies)
	ByLibtool  = "libtool"  // .libs/foo or .libs/lt-foo behind libtool's wrapper script foo
	ByBasename = "basename" // same file name, after libtool's .libs/lt- prefix
)

// Installed is one file in a package's staging directory (debian/<pkg>).
type Installed struct {
	Package string
	Path    string // as installed on a system, e.g. /usr/bin/sed
	File    string // on disk, e.g. debian/sed/usr/bin/sed
	Size    int64
	Exec    bool   // some execute bit is set
	BuildID string // for ELF files with a GNU build-id note
	Script  bool   // starts with "#!"
	sha     string
}

// Index is the content of the staging directories of a build, indexed for
// attribution.
type Index struct {
	files     []*Installed
	byBuildID map[string][]*Installed
	byBase    map[string][]*Installed
	byPath    map[string][]*Installed
}

// IndexPackages indexes the regular files under each package's staging
// directory (package name → directory; directories that do not exist are
// skipped, since not every package is built by every build). The DEBIAN
// control directory is left out. Only ELF headers are read here; content
// hashes are computed later, and only for files whose size matches an
// executable that ran.
func IndexPackages(dirs map[string]string) (*Index, error) {
	idx := &Index{byBuildID: map[string][]*Installed{}, byBase: map[string][]*Installed{}, byPath: map[string][]*Installed{}}
	pkgs := make([]string, 0, len(dirs))
	for p := range dirs {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		root := dirs[pkg]
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				if rel == "DEBIAN" {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			f := &Installed{Package: pkg, Path: "/" + filepath.ToSlash(rel), File: p, Size: fi.Size(), Exec: fi.Mode()&0o111 != 0}
			f.BuildID, f.Script = identify(p)
			idx.add(f)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", root, err)
		}
	}
	return idx, nil
}

func (idx *Index) add(f *Installed) {
	idx.files = append(idx.files, f)
	if f.BuildID != "" {
		idx.byBuildID[f.BuildID] = append(idx.byBuildID[f.BuildID], f)
	}
	idx.byBase[path.Base(f.Path)] = append(idx.byBase[path.Base(f.Path)], f)
	idx.byPath[f.Path] = append(idx.byPath[f.Path], f)
}

// Executables are the installed paths of the files with an execute bit
// that pkg ships, sorted.
func (idx *Index) Executables(pkg string) []string {
	var out []string
	for _, f := range idx.files {
		if f.Package == pkg && f.Exec {
			out = append(out, f.Path)
		}
	}
	sort.Strings(out)
	return out
}

// identify returns the build-id of an ELF file ("" for anything else),
// and whether the file is a script.
func identify(p string) (buildID string, script bool) {
	f, err := os.Open(p)
	if err != nil {
		return "", false
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return "", false
	}
	if magic != [4]byte{0x7f, 'E', 'L', 'F'} {
		return "", magic[0] == '#' && magic[1] == '!'
	}
	id, _ := exeid.BuildID(f)
	return id, false
}

func (f *Installed) sha256() string {
	if f.sha == "" {
		fh, err := os.Open(f.File)
		if err != nil {
			return ""
		}
		defer fh.Close()
		h := sha256.New()
		if _, err := io.Copy(h, fh); err != nil {
			return ""
		}
		f.sha = hex.EncodeToString(h.Sum(nil))
	}
	return f.sha
}

// Owner is a package that ships an executable, and under which path.
type Owner struct {
	Package   string
	Installed string // "" when only configured, with no installed path known
}

// Attribution says whose an executable that the test step ran is.
type Attribution struct {
	// Exec is the traced record; Exec.Path is the absolute build-tree path.
	Exec verdict.Binary
	// Rel is the build-tree path relative to the source tree.
	Rel string
	// Owners are the packages that ship it; none means a test helper.
	Owners []Owner
	// By is the method that found the owners.
	By string
	// StandIn is the declaration that made it a stand-in (By ByStandIn).
	StandIn *StandIn
	// Note explains a helper that looks like a shipped binary (a libtool
	// wrapper script, an exclusion, a stand-in for a path no package
	// installs).
	Note string
}

// Attribute matches the executables the test step ran from the build tree
// (srcDir) to the files installed in the packages' staging directories.
// In order: debian/loupe.yaml's stand-ins (test-only variants that count as
// the installed path they name) and binaries.add; then build-id, sha256;
// then libtool's ".libs/foo" or ".libs/lt-foo" next to its wrapper script
// "foo" counts as an installed "foo"; then the basename. Libtool wrapper
// scripts themselves are test helpers: their processes run the shell, whose
// syscalls are not the program's. Exclusions in debian/loupe.yaml win.
// Executables outside srcDir are dropped: make, sh, perl, python, git and
// debhelper are never a package's binaries, nor its test helpers.
func Attribute(srcDir string, execs []verdict.Binary, idx *Index, cfg *Config) []Attribution {
	var out []Attribution
	claimed := map[*Installed]bool{}
	// First pass: the declared and exact methods, which also claim
	// installed files so that the name-based fallbacks cannot hand them to
	// a second executable.
	var libtool, pending []int
	for _, e := range execs {
		rel, ok := relPath(srcDir, e.Path)
		if !ok {
			continue
		}
		a := Attribution{Exec: e, Rel: rel}
		if cfg != nil {
			if r, ok := matchStandIn(cfg.StandIns, rel); ok {
				a.By, a.StandIn = ByStandIn, &r
				for _, f := range idx.byPath[r.Installed] {
					a.Owners = append(a.Owners, Owner{Package: f.Package, Installed: f.Path})
				}
				if len(a.Owners) == 0 {
					a.By = ""
					a.Note = fmt.Sprintf("declared a stand-in for %s (%s), but no package of this build installs %s",
						r.Installed, r.Where(cfg.File), r.Installed)
				}
				out = append(out, a)
				continue
			}
			if r, ok := matchAdd(cfg.Add, rel); ok {
				a.By = ByConfig
				inst := r.Installed
				if inst == "" {
					if f := idx.exact(e, r.Package); f != nil {
						inst = f.Path
					}
				}
				a.Owners = []Owner{{Package: r.Package, Installed: inst}}
				out = append(out, a)
				continue
			}
		}
		if target, ok := libtoolWrapperTarget(e); ok {
			a.Note = "libtool wrapper script of " + path.Join(path.Dir(rel), target) + " (its processes run the shell)"
		} else if files, by := idx.match(e); by != "" {
			a.By = by
			a.Owners = owners(files, libtoolBase(rel))
			for _, f := range files {
				claimed[f] = true
			}
		} else if isLibtoolBinary(e.Path) {
			libtool = append(libtool, len(out))
		} else {
			pending = append(pending, len(out))
		}
		out = append(out, a)
	}
	// Libtool's binaries before other names: tests/foo must not take
	// /usr/bin/foo from src/.libs/foo.
	for _, group := range []struct {
		by  string
		idx []int
	}{{ByLibtool, libtool}, {ByBasename, pending}} {
		for _, i := range group.idx {
			a := &out[i]
			var files []*Installed
			for _, f := range idx.byBase[libtoolBase(a.Rel)] {
				if f.Exec && !claimed[f] {
					files = append(files, f)
				}
			}
			if len(files) > 0 {
				a.By, a.Owners = group.by, owners(files, libtoolBase(a.Rel))
			}
		}
		for _, i := range group.idx {
			for _, o := range out[i].Owners {
				for _, f := range idx.byPath[o.Installed] {
					claimed[f] = true
				}
			}
		}
	}
	if cfg != nil {
		for i := range out {
			excludeOwners(&out[i], cfg.Exclude)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out
}

// match finds installed files identical to e: by build-id, else by sha256.
func (idx *Index) match(e verdict.Binary) ([]*Installed, string) {
	if e.BuildID != "" {
		if fs := idx.byBuildID[e.BuildID]; len(fs) > 0 {
			return fs, ByBuildID
		}
	}
	if e.SHA256 != "" {
		// Hash only the installed files whose size matches; if the
		// build-tree file is gone, every executable-looking file.
		fi, statErr := os.Stat(e.Path)
		var files []*Installed
		for _, f := range idx.files {
			if statErr == nil && f.Size != fi.Size() || statErr != nil && !f.Exec && f.BuildID == "" {
				continue
			}
			if f.sha256() == e.SHA256 {
				files = append(files, f)
			}
		}
		if len(files) > 0 {
			return files, BySHA256
		}
	}
	return nil, ""
}

// exact is match restricted to one package, falling back to the basename.
func (idx *Index) exact(e verdict.Binary, pkg string) *Installed {
	files, _ := idx.match(e)
	for _, f := range files {
		if f.Package == pkg {
			return f
		}
	}
	for _, f := range idx.byBase[libtoolBase(e.Path)] {
		if f.Package == pkg && f.Exec {
			return f
		}
	}
	return nil
}

// owners turns matched files into one Owner per package. A package may
// ship identical copies under several names (bzip2, bunzip2, bzcat): the
// one named like the executable that ran (base) is preferred, then the
// first in sort order.
func owners(fs []*Installed, base string) []Owner {
	best := map[string]string{}
	better := func(p, cur string) bool {
		if pb, cb := path.Base(p) == base, path.Base(cur) == base; pb != cb {
			return pb
		}
		return p < cur
	}
	for _, f := range fs {
		if cur, ok := best[f.Package]; !ok || better(f.Path, cur) {
			best[f.Package] = f.Path
		}
	}
	out := make([]Owner, 0, len(best))
	for p, inst := range best {
		out = append(out, Owner{Package: p, Installed: inst})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Package < out[j].Package })
	return out
}

func excludeOwners(a *Attribution, globs []string) {
	for _, g := range globs {
		if !path.IsAbs(g) {
			if ok, _ := path.Match(g, a.Rel); ok {
				if len(a.Owners) > 0 {
					a.Note = "excluded by " + ConfigFile
				}
				a.Owners, a.By = nil, ""
				return
			}
			continue
		}
		kept := a.Owners[:0]
		for _, o := range a.Owners {
			if ok, _ := path.Match(g, o.Installed); ok {
				a.Note = "excluded by " + ConfigFile
				continue
			}
			kept = append(kept, o)
		}
		a.Owners = kept
		if len(kept) == 0 {
			a.Owners, a.By = nil, ""
		}
	}
}

func matchStandIn(rules []StandIn, rel string) (StandIn, bool) {
	for _, r := range rules {
		if ok, _ := path.Match(r.Path, rel); ok {
			return r, true
		}
	}
	return StandIn{}, false
}

func matchAdd(rules []AddRule, rel string) (AddRule, bool) {
	for _, r := range rules {
		if ok, _ := path.Match(r.Path, rel); ok {
			return r, true
		}
	}
	return AddRule{}, false
}

// relPath returns p relative to dir, and false when p is outside dir.
func relPath(dir, p string) (string, bool) {
	if !filepath.IsAbs(p) {
		return filepath.ToSlash(filepath.Clean(p)), !strings.HasPrefix(filepath.Clean(p), "..")
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// libtoolBase is the installed name libtool gives a build-tree executable:
// ".libs/lt-foo" and ".libs/foo" become "foo".
func libtoolBase(p string) string {
	base := path.Base(filepath.ToSlash(p))
	if path.Base(path.Dir(filepath.ToSlash(p))) == ".libs" {
		base = strings.TrimPrefix(base, "lt-")
	}
	return base
}

// libtoolWrapperTarget recognises libtool's "temporary wrapper script"
// (whose processes are the shell's, not the program's) and returns the
// binary it runs, relative to the script's directory: ".libs/foo" or
// ".libs/lt-foo", from the script's header comment
// "# foo - temporary wrapper script for .libs/lt-foo".
func libtoolWrapperTarget(e verdict.Binary) (string, bool) {
	if e.Interpreter == "" {
		return "", false
	}
	f, err := os.Open(e.Path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	const marker = "temporary wrapper script for "
	for _, line := range strings.Split(string(head[:n]), "\n") {
		if _, target, ok := strings.Cut(line, marker); ok && strings.HasPrefix(line, "#") {
			target = strings.TrimSpace(target)
			if target == "" || path.IsAbs(target) {
				target = ".libs/" + path.Base(e.Path)
			}
			return path.Clean(target), true
		}
	}
	return "", false
}

// isLibtoolBinary reports whether p is libtool's uninstalled program
// behind a wrapper script: .libs/foo or .libs/lt-foo, with ../foo a libtool
// wrapper script that runs it.
func isLibtoolBinary(p string) bool {
	dir := filepath.Dir(p)
	if filepath.Base(dir) != ".libs" {
		return false
	}
	wrapper := filepath.Join(filepath.Dir(dir), libtoolBase(p))
	target, ok := libtoolWrapperTarget(verdict.Binary{Path: wrapper, Interpreter: "sh"})
	return ok && filepath.Join(filepath.Dir(wrapper), target) == filepath.Clean(p)
}

// Entry is the record b of a's executable as pkg's verdict names it: the
// installed path, the build-tree path, and for a stand-in its declaration.
// ok is false when pkg does not ship it.
func (a Attribution) Entry(pkg string, b verdict.Binary) (verdict.Binary, bool) {
	for _, o := range a.Owners {
		if o.Package != pkg {
			continue
		}
		b.Path, b.BuildPath, b.Shipped, b.Package, b.StandIn = o.Installed, a.Rel, true, pkg, ""
		if b.Path == "" {
			b.Path, b.BuildPath = a.Rel, ""
		}
		if a.By == ByStandIn {
			b.StandIn = a.Rel
		}
		return b, true
	}
	return verdict.Binary{}, false
}

// Binaries returns the entries of pkg's verdict for the executables pkg
// ships, named as installed, with the build-tree path.
func Binaries(attrs []Attribution, pkg string) []verdict.Binary {
	var out []verdict.Binary
	for _, a := range attrs {
		if b, ok := a.Entry(pkg, a.Exec); ok {
			out = append(out, b)
		}
	}
	return out
}

// Helpers returns the test helpers: the executables no package ships, one
// entry per build-tree path (an executable recorded under several
// interpreters is merged, its process counts added). Only the path, the
// process count and a note are kept unless full, which keeps the syscalls,
// sub-features and pseudo-files too (calls added up, never experimented
// on). notes adds notes by build-tree path.
func Helpers(attrs []Attribution, full bool, notes map[string]string) []verdict.Helper {
	var out []verdict.Helper
	at := map[string]int{}
	for _, a := range attrs {
		if len(a.Owners) > 0 {
			continue
		}
		i, seen := at[a.Rel]
		if !seen {
			i = len(out)
			at[a.Rel] = i
			note := a.Note
			if n := notes[a.Rel]; n != "" {
				note = strings.TrimPrefix(note+"; "+n, "; ")
			}
			out = append(out, verdict.Helper{Path: a.Rel, Note: note})
		}
		h := &out[i]
		h.Processes += a.Exec.Processes
		if full {
			h.Syscalls = mergeSyscalls(h.Syscalls, a.Exec.Syscalls)
			h.Features = mergeFeatures(h.Features, a.Exec.Features)
			h.PseudoFiles = mergeFeatures(h.PseudoFiles, a.Exec.PseudoFiles)
		}
	}
	return out
}

// mergeUses adds b's uses to a's, by key, summing the calls. Both come
// from the trace, so their outcomes are untested.
func mergeUses[T any](a, b []T, key func(*T) string, calls func(*T) *uint64) []T {
	at := map[string]int{}
	for i := range a {
		at[key(&a[i])] = i
	}
	for _, u := range b {
		if i, ok := at[key(&u)]; ok {
			*calls(&a[i]) += *calls(&u)
			continue
		}
		at[key(&u)] = len(a)
		a = append(a, u)
	}
	return a
}

func mergeSyscalls(a, b []verdict.Syscall) []verdict.Syscall {
	return mergeUses(a, b, func(s *verdict.Syscall) string { return s.Name }, func(s *verdict.Syscall) *uint64 { return &s.Calls })
}

func mergeFeatures(a, b []verdict.Feature) []verdict.Feature {
	return mergeUses(a, b, func(f *verdict.Feature) string { return f.Key }, func(f *verdict.Feature) *uint64 { return &f.Calls })
}

// Shipped returns the build-tree executables (absolute paths) that pkg
// ships, stand-ins included: in analyze mode, the whitelist of pkg's
// experiments.
func Shipped(attrs []Attribution, pkg string) []string {
	var out []string
	for _, a := range attrs {
		for _, o := range a.Owners {
			if o.Package == pkg {
				out = append(out, a.Exec.Path)
			}
		}
	}
	return sortedUnique(out)
}
