package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"pault.ag/go/debian/control"
	"pault.ag/go/debian/version"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/simulate"
)

// VerdictSuffix is the file name suffix of verdict artifacts
// (<binpkg>_<version>_<arch>.loupe.yaml).
const VerdictSuffix = ".loupe.yaml"

// ShardSuffix is the suffix under which dataset files found while walking a
// directory are merged; a dataset file given explicitly may have any name.
const ShardSuffix = ".dataset.json"

// CollectOptions tunes Collect.
type CollectOptions struct {
	// Jobs is the number of files parsed in parallel (default GOMAXPROCS).
	Jobs int
}

type verdictRef struct {
	path    string
	changes string // .changes that listed it
	sha256  string // expected, from the .changes
}

// Collect builds a dataset from paths: verdict files, .changes files, dataset
// files, loupe simulate reports, and directories searched recursively for
// *.changes, *.loupe.yaml, *.dataset.json and *.simulation.yaml (sbuild
// build dirs, trees of verdicts, shard outputs). A
// verdict listed by a .changes records it as provenance. Malformed inputs
// become Problems; the returned error is only for a failure to read the
// inputs at all (a missing path) or cancellation.
func Collect(ctx context.Context, paths []string, opt CollectOptions) (*Dataset, error) {
	var (
		changes, verdicts, shards, sims []string
		problems                        []Problem
	)
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("collect: %w", err)
		}
		if !st.IsDir() {
			switch {
			case strings.HasSuffix(p, ".changes"):
				changes = append(changes, p)
			case strings.HasSuffix(p, ".json"):
				shards = append(shards, p)
			case strings.HasSuffix(p, simulate.Suffix) || isSimulation(p):
				sims = append(sims, p)
			default:
				verdicts = append(verdicts, p)
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				problems = append(problems, Problem{File: path, Msg: "cannot read: " + err.Error()})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			switch name := d.Name(); {
			case strings.HasSuffix(name, ".changes"):
				changes = append(changes, path)
			case strings.HasSuffix(name, VerdictSuffix):
				verdicts = append(verdicts, path)
			case strings.HasSuffix(name, ShardSuffix):
				shards = append(shards, path)
			case strings.HasSuffix(name, simulate.Suffix):
				sims = append(sims, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("collect: walk %s: %w", p, err)
		}
	}

	// .changes first: they name verdicts and give their expected checksums.
	refs := map[string]*verdictRef{}
	var order []string
	add := func(r verdictRef) {
		k := filepath.Clean(r.path)
		if abs, err := filepath.Abs(k); err == nil {
			k = abs
		}
		if old, ok := refs[k]; ok {
			if old.changes == "" {
				old.changes, old.sha256 = r.changes, r.sha256
			}
			return
		}
		refs[k] = &r
		order = append(order, k)
	}
	sort.Strings(changes)
	for _, c := range changes {
		vs, probs, err := ChangesVerdicts(c)
		if err != nil {
			problems = append(problems, Problem{File: c, Msg: err.Error() + " (skipped; its verdicts are still read if found in a searched directory)"})
			continue
		}
		problems = append(problems, probs...)
		for _, v := range vs {
			add(verdictRef{path: v.Path, changes: c, sha256: v.SHA256})
		}
	}
	sort.Strings(verdicts)
	for _, v := range verdicts {
		add(verdictRef{path: v})
	}

	// Parse verdicts in parallel; results go to fixed slots, so the outcome
	// does not depend on scheduling.
	jobs := opt.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	type result struct {
		entry *Entry
		prob  *Problem
	}
	results := make([]result, len(order))
	idx := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				e, p := readVerdict(refs[order[i]])
				results[i] = result{e, p}
			}
		}()
	}
	for i := range order {
		if ctx.Err() != nil {
			break
		}
		idx <- i
	}
	close(idx)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var entries []Entry
	for _, r := range results {
		if r.prob != nil {
			problems = append(problems, *r.prob)
		}
		if r.entry != nil {
			entries = append(entries, *r.entry)
		}
	}
	var simulations []Simulation
	sort.Strings(shards)
	for _, s := range shards {
		d, err := ReadFile(s)
		if err != nil {
			problems = append(problems, Problem{File: s, Msg: err.Error() + " (skipped)"})
			continue
		}
		entries = append(entries, d.Entries...)
		simulations = append(simulations, d.Simulations...)
		problems = append(problems, d.Problems...)
	}
	sort.Strings(sims)
	for _, p := range sims {
		s, prob := readSimulation(p)
		if prob != nil {
			problems = append(problems, *prob)
			continue
		}
		simulations = append(simulations, *s)
	}
	ds := &Dataset{Schema: Schema, Entries: Resolve(entries), Simulations: mergeSimulations(simulations), Problems: problems}
	ds.Normalize()
	return ds, nil
}

// isSimulation tells a simulation report given under another name (loupe
// simulate -o report.yaml) from a verdict, by its schema line.
func isSimulation(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 512)
	n, _ := f.Read(b)
	return strings.HasPrefix(string(b[:n]), "schema: "+simulate.Schema+"\n")
}

// ChangesVerdict is a verdict file a .changes lists.
type ChangesVerdict struct {
	Path   string // beside the .changes
	SHA256 string // from Checksums-Sha256; "" if not listed
}

// ChangesVerdicts returns the verdicts (*.loupe.yaml) the .changes file at
// path lists. A .changes names files in its own directory: an entry that
// is not a plain file name there (../x, a/b, /abs), or that is missing or
// not a regular file (a symlink), is returned as a Problem instead. The
// error is for a .changes that cannot be read or parsed.
func ChangesVerdicts(path string) ([]ChangesVerdict, []Problem, error) {
	ch, err := control.ParseChangesFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot parse .changes: %w", err)
	}
	sums := map[string]string{}
	for _, h := range ch.ChecksumsSha256 {
		sums[h.Filename] = h.Hash
	}
	var out []ChangesVerdict
	var probs []Problem
	for _, f := range ch.Files {
		if !strings.HasSuffix(f.Filename, VerdictSuffix) {
			continue
		}
		if f.Filename != filepath.Base(f.Filename) || strings.HasPrefix(f.Filename, ".") {
			probs = append(probs, Problem{File: path, Field: "Files", Msg: fmt.Sprintf("lists %q, which is not a file name beside the .changes (skipped)", f.Filename)})
			continue
		}
		p := filepath.Join(filepath.Dir(path), f.Filename)
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
			probs = append(probs, Problem{File: path, Field: "Files", Msg: fmt.Sprintf("lists %s, which is missing: %v", f.Filename, err)})
			continue
		case !fi.Mode().IsRegular():
			probs = append(probs, Problem{File: path, Field: "Files", Msg: fmt.Sprintf("lists %s, which is not a regular file (%v) (skipped)", f.Filename, fi.Mode().Type())})
			continue
		}
		out = append(out, ChangesVerdict{Path: p, SHA256: sums[f.Filename]})
	}
	return out, probs, nil
}

func readVerdict(r *verdictRef) (*Entry, *Problem) {
	b, err := os.ReadFile(r.path)
	if err != nil {
		return nil, &Problem{File: r.path, Msg: "cannot read: " + err.Error()}
	}
	sum := sha256.Sum256(b)
	hexsum := hex.EncodeToString(sum[:])
	if r.sha256 != "" && !strings.EqualFold(r.sha256, hexsum) {
		return nil, &Problem{File: r.path, Field: "Checksums-Sha256",
			Msg: fmt.Sprintf("sha256 %s differs from %s in %s: the file changed after the build (skipped)", hexsum, r.sha256, r.changes)}
	}
	v, err := fastParse(r.path, b)
	if err != nil {
		v, err = verdict.Parse(r.path, b)
	}
	if err != nil {
		var fe *verdict.FieldError
		if errors.As(err, &fe) {
			return nil, &Problem{File: r.path, Line: fe.Line, Field: fe.Field, Msg: fe.Msg + " (skipped)"}
		}
		if errors.Is(err, verdict.ErrNotVerdict) {
			return nil, &Problem{File: r.path, Field: "schema", Msg: verdict.ErrNotVerdict.Error() + " (skipped)"}
		}
		return nil, &Problem{File: r.path, Msg: err.Error() + " (skipped)"}
	}
	var missing []string
	for _, f := range []struct{ name, val string }{{"package", v.Package}, {"architecture", v.Architecture}} {
		if f.val == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, &Problem{File: r.path, Field: strings.Join(missing, ","), Msg: "missing; cannot tell which package this verdict is about (skipped; " +
			"a verdict of loupe analyze gets them from --app NAME)"}
	}
	e := FromVerdict(v, Provenance{File: r.path, SHA256: hexsum, Changes: r.changes})
	if v.Legacy() {
		// Kept, but reported: a v1 file cut at a line boundary reads as a
		// whole one, so loupe db --strict (any problem) refuses it.
		e.Notes = append(e.Notes, LegacyVerdictNote)
		return &e, &Problem{File: r.path, Field: "schema", Msg: LegacyVerdictNote + " (kept)"}
	}
	return &e, nil
}

// LegacyVerdictNote is what a verdict of schema v1 gets: it is read, but
// cannot prove it is whole.
const LegacyVerdictNote = "schema " + verdict.SchemaV1 + ", written before verdicts ended with their counts: " +
	"it cannot prove it is whole (a file cut short reads as a smaller one); regenerate it " +
	"(a new build with dh_loupe, or loupe analyze) to be sure"

// Resolve keeps one entry per Key: the newest Debian version; at equal
// versions analyze over trace, then status ok over others, then the lowest
// sha256, then the lowest file name. The others go to Superseded.
func Resolve(entries []Entry) []Entry {
	groups := map[string][]int{}
	var keys []string
	for i := range entries {
		k := entries[i].Key()
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	sort.Strings(keys)
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		sort.SliceStable(g, func(i, j int) bool { return better(&entries[g[i]], &entries[g[j]]) })
		win := entries[g[0]]
		for _, i := range g[1:] {
			l := &entries[i]
			win.Superseded = append(win.Superseded, Superseded{
				Version: l.Version, Status: l.Status, Mode: l.Mode,
				Why: why(&win, l), Provenance: l.Provenance,
			})
			win.Superseded = append(win.Superseded, l.Superseded...)
		}
		out = append(out, win)
	}
	return out
}

func why(w, l *Entry) string {
	switch {
	case cmpVersion(w.Version, l.Version) != 0:
		return "older version than " + w.Version
	case w.Mode != l.Mode:
		return "same version; " + w.Mode + " beats " + l.Mode
	case w.Status != l.Status:
		return "same version; status " + w.Status + " beats " + l.Status
	case provSHA(w) == provSHA(l):
		return "identical copy"
	}
	return "same version, same status: tie broken by lowest sha256"
}

var statusRank = map[string]int{"ok": 0, "insensitive": 1, "not-exercised": 2, "baseline-failed": 3, "skipped": 4, "error": 5}

func rank(s string) int {
	if r, ok := statusRank[s]; ok {
		return r
	}
	return len(statusRank)
}

func provSHA(e *Entry) string {
	if len(e.Provenance) == 0 {
		return ""
	}
	return e.Provenance[0].SHA256
}

// better reports whether a wins over b.
func better(a, b *Entry) bool {
	if c := cmpVersion(a.Version, b.Version); c != 0 {
		return c > 0
	}
	if (a.Mode == "analyze") != (b.Mode == "analyze") {
		return a.Mode == "analyze"
	}
	if ra, rb := rank(a.Status), rank(b.Status); ra != rb {
		return ra < rb
	}
	if sa, sb := provSHA(a), provSHA(b); sa != sb {
		return sa < sb
	}
	return firstFile(a.Provenance) < firstFile(b.Provenance)
}

// cmpVersion compares Debian versions; unparsable ones sort before any
// parsable one, and among themselves as strings.
func cmpVersion(a, b string) int {
	if a == b {
		return 0
	}
	va, ea := version.Parse(a)
	vb, eb := version.Parse(b)
	switch {
	case ea == nil && eb == nil:
		return version.Compare(va, vb)
	case ea == nil:
		return 1
	case eb == nil:
		return -1
	}
	return strings.Compare(a, b)
}
