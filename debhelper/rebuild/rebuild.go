package rebuild

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"salsa.debian.org/loupe-team/loupe/debhelper"
	"salsa.debian.org/loupe-team/loupe/internal/journal"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

// Status of one package.
type Status string

const (
	Built       Status = "built"
	TestsFailed Status = "tests-failed"
	Insensitive Status = "insensitive"
	LoupeError  Status = "loupe-error"
	BuildFailed Status = "build-failed"
)

// Statuses in summary order.
var Statuses = []Status{Built, TestsFailed, Insensitive, LoupeError, BuildFailed}

// Binary is what dh_loupe said about one binary package.
type Binary struct {
	Package  string         `json:"package"`
	Status   verdict.Status `json:"status"`
	Mode     verdict.Mode   `json:"mode,omitempty"`
	Syscalls int            `json:"syscalls,omitempty"`
	Verdict  string         `json:"verdict,omitempty"` // file, when the .changes listed one
}

// Result is one journal line.
type Result struct {
	Spec     string    `json:"spec"` // as given: name, name_version or a .dsc
	Status   Status    `json:"status"`
	Detail   string    `json:"detail,omitempty"`
	Dir      string    `json:"dir"`
	Changes  string    `json:"changes,omitempty"`
	Log      string    `json:"log,omitempty"`
	Binaries []Binary  `json:"binaries,omitempty"`
	Seconds  float64   `json:"seconds"`
	Finished time.Time `json:"finished"`
}

// ParseSummaries reads dh_loupe's summary lines (debhelper.Summary) from a
// build log. A package reported twice (dh_loupe runs in the build and
// binary targets) keeps its last line.
func ParseSummaries(log io.Reader) []Binary {
	by := map[string]Binary{}
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		s, ok := debhelper.ParseSummary(sc.Text())
		if !ok {
			continue
		}
		b := Binary{Package: s.Package, Status: s.Status, Mode: s.Mode}
		if s.Syscalls != nil {
			b.Syscalls = *s.Syscalls
		}
		by[b.Package] = b
	}
	return sortedBinaries(by)
}

func sortedBinaries(by map[string]Binary) []Binary {
	out := make([]Binary, 0, len(by))
	for _, b := range by {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Package < out[j].Package })
	return out
}

var testFailRE = regexp.MustCompile(`(?m)^\s*dh_auto_test: error:|^\s*dh_loupe: error: .*test`)

// Classify decides a package's status from what the build left: whether a
// .changes exists, the per-binary statuses, and the build log.
func Classify(haveChanges bool, bins []Binary, log []byte) (Status, string) {
	has := func(s verdict.Status) []string {
		var ps []string
		for _, b := range bins {
			if b.Status == s {
				ps = append(ps, b.Package)
			}
		}
		return ps
	}
	if ps := has(verdict.StatusError); len(ps) > 0 {
		return LoupeError, "loupe reported an error for " + strings.Join(ps, ", ")
	}
	if !haveChanges {
		if ps := has(verdict.StatusBaselineFailed); len(ps) > 0 {
			return TestsFailed, "the test suite failed (baseline) for " + strings.Join(ps, ", ")
		}
		if testFailRE.Match(log) {
			return TestsFailed, "the test step failed"
		}
		if len(log) == 0 {
			return BuildFailed, "no build log"
		}
		return BuildFailed, "no .changes: " + lastError(log)
	}
	if ps := has(verdict.StatusBaselineFailed); len(ps) > 0 {
		return TestsFailed, "built, but the test suite was flaky under loupe for " + strings.Join(ps, ", ")
	}
	if len(has(verdict.StatusOK)) == 0 {
		if ps := has(verdict.StatusInsensitive); len(ps) > 0 {
			return Insensitive, "the tests do not exercise " + strings.Join(ps, ", ") + " (insensitive)"
		}
	}
	if len(bins) == 0 {
		return Built, "built, but no verdict (dh_loupe did not run: not a dh package, or nocheck?)"
	}
	return Built, fmt.Sprintf("%d verdicts", len(bins))
}

var errLineRE = regexp.MustCompile(`(?m)^.*(error:|Error \d+|E: ).*$`)

// lastError returns the last error-looking line of a log, for the summary.
func lastError(log []byte) string {
	ms := errLineRE.FindAll(log, -1)
	if len(ms) == 0 {
		return "see the build log"
	}
	s := strings.TrimSpace(string(ms[len(ms)-1]))
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// Inspect looks at a finished build directory: the .changes (and the
// verdicts it lists), else the build log's summary lines, and classifies.
func Inspect(dir string) Result {
	r := Result{Dir: dir}
	changes, _ := filepath.Glob(filepath.Join(dir, "*.changes"))
	sort.Strings(changes)
	logs, _ := filepath.Glob(filepath.Join(dir, "*.build"))
	sort.Strings(logs)
	var log []byte
	for _, l := range logs {
		if fi, err := os.Lstat(l); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			continue // sbuild's <pkg>_<ver>_<arch>.build symlink to the dated log
		}
		b, _ := os.ReadFile(l)
		log = append(log, b...)
		r.Log = l
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sbuild.out")); err == nil && len(log) == 0 {
		log = b
		r.Log = filepath.Join(dir, "sbuild.out")
	}
	var bins []Binary
	if len(changes) > 0 {
		r.Changes = changes[0]
		if vs, probs, err := dataset.ChangesVerdicts(r.Changes); err == nil {
			// An entry outside the build directory (../x.loupe.yaml) is
			// never read: it counts as a loupe error.
			for _, p := range probs {
				bins = append(bins, Binary{Package: p.String(), Status: verdict.StatusError})
			}
			for _, cv := range vs {
				p := cv.Path
				v, err := verdict.ReadFile(p)
				if err != nil {
					bins = append(bins, Binary{Package: filepath.Base(p), Status: verdict.StatusError, Verdict: p})
					continue
				}
				n := 0
				for _, b := range v.Binaries {
					if b.Shipped {
						n += len(b.Syscalls)
					}
				}
				bins = append(bins, Binary{Package: v.Package, Status: v.Status, Mode: v.Mode, Syscalls: n, Verdict: p})
			}
		} else {
			r.Detail = "unreadable .changes: " + err.Error()
		}
	}
	if len(bins) == 0 {
		bins = ParseSummaries(bytes.NewReader(log))
	}
	r.Binaries = bins
	st, detail := Classify(r.Changes != "", bins, log)
	r.Status = st
	if r.Detail == "" {
		r.Detail = detail
	}
	return r
}

// Journal is the append-only record of finished packages, an
// internal/journal: a torn last line (a run killed while writing it) is cut
// off, and that package is simply built again; a damaged line followed by
// others is an error; a second loupe on the same output directory is
// refused while one holds the journal.
type Journal struct {
	mu   sync.Mutex
	j    *journal.Journal
	done map[string]Result
}

// JournalName is the journal's file name inside the output directory.
const JournalName = "rebuild-journal.jsonl"

// OpenJournal opens (creating) the journal of out, for Run.
func OpenJournal(out string) (*Journal, error) {
	j := &Journal{done: map[string]Result{}}
	jj, err := journal.Open(filepath.Join(out, JournalName), func(line []byte) error {
		return decodeResult(line, j.done)
	})
	if err != nil {
		return nil, journalError(err)
	}
	j.j = jj
	return j, nil
}

// ReadJournal returns the packages the journal of out has, by spec,
// without opening it for writing.
func ReadJournal(out string) (map[string]Result, error) {
	done := map[string]Result{}
	err := journal.Read(filepath.Join(out, JournalName), func(line []byte) error { return decodeResult(line, done) })
	if err != nil {
		return nil, journalError(err)
	}
	return done, nil
}

func decodeResult(line []byte, into map[string]Result) error {
	var r Result
	if err := json.Unmarshal(line, &r); err != nil {
		return err
	}
	if r.Spec == "" {
		return errors.New("no spec")
	}
	into[r.Spec] = r
	return nil
}

func journalError(err error) error {
	var le *journal.LineError
	if errors.As(err, &le) {
		return fmt.Errorf("rebuild journal: %w; remove that line, and its package is built again", err)
	}
	return fmt.Errorf("rebuild journal: %w", err)
}

// Done returns the recorded result of spec.
func (j *Journal) Done(spec string) (Result, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.done[spec]
	return r, ok
}

// Record appends r durably.
func (j *Journal) Record(r Result) error {
	if err := j.j.Append(r); err != nil {
		return fmt.Errorf("rebuild journal: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.done[r.Spec] = r
	return nil
}

// Close releases the journal.
func (j *Journal) Close() error { return j.j.Close() }

// Builder builds one package into dir (which exists and is empty) and
// writes its console output to out. It leaves in dir what the package's
// build left: the build log (*.build), and if it built, the .changes and
// the verdicts it lists; Inspect reads them. A build that ran and failed
// returns an error wrapping ErrBuildFailed (a status of the package); any
// other error is the backend's own problem and stops the run. The
// backends: Sbuild (local sbuild, unshare mode) and Debusine (sbuild work
// requests on a debusine server).
type Builder interface {
	Build(ctx context.Context, spec, dir string, out io.Writer) error
}

// ErrBuildFailed marks a build that ran and failed.
var ErrBuildFailed = errors.New("build failed")

// Options configure a rebuild.
type Options struct {
	Out         string // output directory (journal, sbuild.conf, one dir per package)
	Jobs        int    // parallel builds
	RetryFailed bool   // rebuild packages whose recorded status is not built
	Progress    io.Writer
	// Done, if set, is called after each package built, with the packages
	// built so far and the packages to build in this run.
	Done func(done, planned int)
}

// Run builds every spec not yet in the journal, jobs at a time, and
// returns the results of all specs (recorded and new) in input order.
func Run(ctx context.Context, b Builder, specs []string, opt Options) ([]Result, error) {
	if err := CheckSpecs(specs); err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	j, err := OpenJournal(opt.Out)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	if opt.Jobs <= 0 {
		opt.Jobs = 1
	}
	prog := opt.Progress
	if prog == nil {
		prog = io.Discard
	}
	results := make([]Result, len(specs))
	var todo []int
	for i, s := range specs {
		if r, ok := j.Done(s); ok && (!opt.RetryFailed || r.Status == Built) {
			results[i] = r
			fmt.Fprintf(prog, "[skip] %s: %s (recorded)\n", s, r.Status)
			continue
		}
		todo = append(todo, i)
	}
	// One goroutine per build, at most Jobs at a time (a token each). mu
	// orders what the builds share: the first error, the count of builds
	// done, and the progress output.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     int
	)
	tokens := make(chan struct{}, opt.Jobs)
	for _, i := range todo {
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-tokens; wg.Done() }()
			spec, start := specs[i], time.Now()
			r, err := buildOne(ctx, b, spec, opt.Out)
			if ctx.Err() != nil {
				return // interrupted: not recorded, rebuilt next time
			}
			if err == nil {
				r.Spec, r.Seconds, r.Finished = spec, time.Since(start).Round(time.Second).Seconds(), time.Now().UTC().Round(time.Second)
				results[i] = r
				err = j.Record(r)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if results[i].Spec == "" {
				return // the backend failed: no result
			}
			done++
			fmt.Fprintf(prog, "[%d/%d] %s: %s (%s)\n", done, len(todo), spec, r.Status, r.Detail)
			if opt.Done != nil {
				opt.Done(done, len(todo))
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return results, fmt.Errorf("rebuild interrupted (run it again to continue): %w", err)
	}
	return results, firstErr
}

func buildOne(ctx context.Context, b Builder, spec, outDir string) (Result, error) {
	dir, err := PackageDir(outDir, spec)
	if err != nil {
		return Result{}, fmt.Errorf("rebuild: %w", err)
	}
	// Belt and braces: whatever a spec is, nothing but a direct child of
	// OUT/pkgs is ever removed.
	pkgs := filepath.Join(outDir, "pkgs")
	if filepath.Dir(dir) != pkgs || filepath.Base(dir) == "." || filepath.Base(dir) == ".." {
		return Result{}, fmt.Errorf("rebuild %s: refusing to remove %s: not a package directory of %s", spec, dir, pkgs)
	}
	// Leftovers are from a killed run: start clean.
	if err := os.RemoveAll(dir); err != nil {
		return Result{}, fmt.Errorf("rebuild %s: %w", spec, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("rebuild %s: %w", spec, err)
	}
	out, err := os.Create(filepath.Join(dir, "sbuild.out"))
	if err != nil {
		return Result{}, fmt.Errorf("rebuild %s: %w", spec, err)
	}
	berr := b.Build(ctx, spec, dir, out)
	out.Close()
	r := Inspect(dir)
	if berr != nil && !errors.Is(berr, ErrBuildFailed) && ctx.Err() == nil {
		// The backend could not even build: that is the driver's problem.
		return r, fmt.Errorf("rebuild %s: %w", spec, berr)
	}
	if berr != nil && r.Changes != "" && r.Status == Built {
		// The build failed after the .changes existed (e.g. lintian).
		r.Detail += "; " + berr.Error()
	}
	return r, nil
}

// Summary renders counts per status and the packages that did not build.
func Summary(w io.Writer, results []Result) {
	count := map[Status]int{}
	total := 0
	for _, r := range results {
		if r.Spec != "" { // not built: the run was interrupted
			count[r.Status]++
			total++
		}
	}
	fmt.Fprintf(w, "\nloupe rebuild: %d packages:", total)
	for _, s := range Statuses {
		fmt.Fprintf(w, " %s %d", s, count[s])
	}
	fmt.Fprintln(w)
	for _, r := range results {
		if r.Spec != "" && r.Status != Built {
			fmt.Fprintf(w, "  %-14s %s: %s (log: %s)\n", r.Status, r.Spec, r.Detail, r.Log)
		}
	}
}
