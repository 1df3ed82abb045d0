package debhelper

import (
	"bytes"
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

	"salsa.debian.org/loupe-team/loupe/pkganalyze/verdict"
	"salsa.debian.org/loupe-team/loupe/tracer/exeid"
)

// Attribution methods, strongest first.
const (
	ByConfig   = "config"   // binaries.add in debian/loupe.yaml
	ByBuildID  = "build-id" // ELF GNU build-id (survives install and strip)
	BySHA256   = "sha256"   // same content (scripts, or unstripped copies)
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
	sha     string
}

// Index is the content of the staging directories of a build, indexed for
// attribution.
type Index struct {
	files     []*Installed
	byBuildID map[string][]*Installed
	byBase    map[string][]*Installed
}

// IndexPackages indexes the regular files under each package's staging
// directory (package name → directory; directories that do not exist are
// skipped, since not every package is built by every build). The DEBIAN
// control directory is left out. Only ELF headers are read here; content
// hashes are computed later, and only for files whose size matches an
// executable that ran.
func IndexPackages(dirs map[string]string) (*Index, error) {
	idx := &Index{byBuildID: map[string][]*Installed{}, byBase: map[string][]*Installed{}}
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
			f.BuildID = elfBuildID(p)
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
}

// elfBuildID returns the build-id of an ELF file, "" for anything else.
func elfBuildID(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || magic != [4]byte{0x7f, 'E', 'L', 'F'} {
		return ""
	}
	id, _ := exeid.BuildID(f)
	return id
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
	// Note explains a helper that looks like a shipped binary (a libtool
	// wrapper script, an exclusion).
	Note string
}

// Attribute matches the executables the test step ran from the build tree
// (srcDir) to the files installed in the packages' staging directories: by
// build-id, then sha256, then basename (libtool's ".libs/lt-foo" counts as
// "foo"). debian/loupe.yaml can add and exclude binaries; exclusions win.
// Executables outside srcDir are dropped: make, sh, perl, python, git and
// debhelper are never a package's binaries, nor its test helpers.
func Attribute(srcDir string, execs []verdict.Binary, idx *Index, cfg *Config) []Attribution {
	var out []Attribution
	claimed := map[*Installed]bool{}
	// First pass: the exact methods, which also claim installed files so
	// that the basename fallback cannot hand them to a second executable.
	pending := []int{}
	for _, e := range execs {
		rel, ok := relPath(srcDir, e.Path)
		if !ok {
			continue
		}
		a := Attribution{Exec: e, Rel: rel}
		if cfg != nil {
			if r, ok := matchAdd(cfg.Add, rel); ok {
				a.By = ByConfig
				inst := r.Installed
				if inst == "" {
					if f := idx.exact(e, r.Package); f != nil {
						inst = f.Path
					}
				}
				a.Owners = []Owner{{Package: r.Package, Installed: inst}}
			}
		}
		if a.By == "" {
			if isLibtoolWrapper(e) {
				a.Note = "libtool wrapper script (its processes run the shell)"
			} else if files, by := idx.match(e); by != "" {
				a.By = by
				a.Owners = owners(files, libtoolBase(rel))
				for _, f := range files {
					claimed[f] = true
				}
			} else {
				pending = append(pending, len(out))
			}
		}
		out = append(out, a)
	}
	for _, i := range pending {
		a := &out[i]
		var files []*Installed
		for _, f := range idx.byBase[libtoolBase(a.Rel)] {
			if f.Exec && !claimed[f] {
				files = append(files, f)
			}
		}
		if len(files) > 0 {
			a.By, a.Owners = ByBasename, owners(files, libtoolBase(a.Rel))
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

// isLibtoolWrapper recognises libtool's "temporary wrapper script", whose
// processes are the shell's, not the program's.
func isLibtoolWrapper(e verdict.Binary) bool {
	if e.Interpreter == "" {
		return false
	}
	f, err := os.Open(e.Path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	return bytes.Contains(head[:n], []byte("temporary wrapper script for"))
}

// Binaries returns the entries of pkg's verdict: the executables pkg ships
// (Shipped, with the installed path and the build-tree path) and the test
// helpers (not Shipped, with the build-tree path). Executables shipped by
// other packages of the same source are left out.
func Binaries(attrs []Attribution, pkg string) []verdict.Binary {
	var out []verdict.Binary
	for _, a := range attrs {
		b := a.Exec
		b.BuildPath, b.Package, b.Shipped = "", "", false
		if len(a.Owners) == 0 {
			b.Path = a.Rel
			out = append(out, b)
			continue
		}
		for _, o := range a.Owners {
			if o.Package != pkg {
				continue
			}
			b.Path, b.BuildPath = o.Installed, a.Rel
			if b.Path == "" {
				b.Path, b.BuildPath = a.Rel, ""
			}
			b.Shipped, b.Package = true, pkg
			out = append(out, b)
		}
	}
	return out
}

// Shipped returns the build-tree executables (absolute paths) that pkg
// ships: in analyze mode, the whitelist of pkg's experiments.
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
