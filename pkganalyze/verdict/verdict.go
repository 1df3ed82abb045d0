// Package verdict defines loupe's verdict file, schema "loupe/verdict/v2":
// what an analysis (or a plain trace) concluded about each binary's use of
// system calls, sub-features and pseudo-files. The schema is documented in
// doc/verdict-schema.md; this package is its single implementation.
//
// Everything outside RunMetadata is a decision or a count and is
// deterministic: the same observations give byte-identical output (lists are
// sorted, maps are never emitted). Measurements that vary from run to run
// (times, RSS, measured impact figures) live only in RunMetadata.
//
// Readers ignore unknown keys, so later versions can add keys inside v2.
// Every file ends with an End block that proves it whole; files of the
// older schema v1, which have none, are read as Legacy.
package verdict

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/tracer/sysent"
)

// Schema is the value of the schema key.
const Schema = "loupe/verdict/v2"

// SchemaV1 is the schema of verdicts written before the end block existed.
// They are still read, but cannot prove they are whole (Legacy).
const SchemaV1 = "loupe/verdict/v1"

// Status is the state of a whole verdict file.
type Status string

const (
	StatusOK             Status = "ok"              // the method ran to the end
	StatusInsensitive    Status = "insensitive"     // the workload passes with its binaries broken
	StatusBaselineFailed Status = "baseline-failed" // the workload fails (or is flaky) untouched
	StatusSkipped        Status = "skipped"         // the test step did not run (nocheck)
	StatusError          Status = "error"           // loupe itself failed; see Reason
	StatusNotExercised   Status = "not-exercised"   // the workload never ran these binaries
)

var statuses = []Status{StatusOK, StatusInsensitive, StatusBaselineFailed, StatusSkipped, StatusError, StatusNotExercised}

// Mode says how the verdict was obtained.
type Mode string

const (
	ModeTrace   Mode = "trace"   // one traced run: what is used, nothing tested
	ModeAnalyze Mode = "analyze" // the full method: stub/fake experiments
)

// Granularity is what the experiments were run on.
type Granularity string

const (
	GranSyscalls    Granularity = "syscalls"     // whole syscalls
	GranFeatures    Granularity = "features"     // plus sub-features
	GranPseudoFiles Granularity = "pseudo-files" // plus sub-features and pseudo-files
)

// File is one verdict file.
type File struct {
	Schema       string      `yaml:"schema"`
	Status       Status      `yaml:"status"`
	Mode         Mode        `yaml:"mode"`
	Granularity  Granularity `yaml:"granularity,omitempty"`
	Reason       string      `yaml:"reason,omitempty"`
	Source       string      `yaml:"source"`
	Package      string      `yaml:"package"`
	Version      string      `yaml:"version"` // with epoch
	Architecture string      `yaml:"architecture"`
	Workload     Workload    `yaml:"workload"`
	Runs         Runs        `yaml:"runs"`
	Environment  Environment `yaml:"environment"`
	// Flaky is set when baseline replicas disagreed; Evidence says how.
	Flaky     bool       `yaml:"flaky,omitempty"`
	Evidence  []string   `yaml:"evidence,omitempty"`
	Binaries  []Binary   `yaml:"binaries"`
	Helpers   []Helper   `yaml:"helpers,omitempty"` // dh_loupe's test helpers; see Helper and TestHelpers
	Conflicts []Conflict `yaml:"conflicts,omitempty"`
	// CombinationImpact: what applying the confirmed combination changes;
	// figures in RunMetadata.CombinationImpacts.
	CombinationImpact []CombinationImpact `yaml:"combination_impact,omitempty"`
	// RunMetadata is the only part that varies between identical analyses.
	RunMetadata RunMetadata `yaml:"run_metadata"`
	// End is written last (it must stay the last field): a file cut short
	// lacks it, or part of it. Marshal fills it in; readers check it.
	End *End `yaml:"end"`
}

// End closes a verdict: the number of entries in each list above it. A
// reader refuses a file whose end block is missing, incomplete, or does
// not match what the file lists (doc/verdict-schema.md, "Whole files").
// The fields are pointers so that a count cut off reads as missing, not 0.
type End struct {
	Binaries    *int `yaml:"binaries"`
	Helpers     *int `yaml:"helpers"`
	Syscalls    *int `yaml:"syscalls"`
	Features    *int `yaml:"features"`
	PseudoFiles *int `yaml:"pseudo_files"`
	Conflicts   *int `yaml:"conflicts"`
}

// Legacy reports whether f was read from a file of schema v1, written
// before verdicts carried an end block: nothing proves it is whole.
func (f *File) Legacy() bool { return f.Schema == SchemaV1 }

// counts returns the end block that f's lists call for.
func (f *File) counts() *End {
	var sys, feat, pf int
	for _, b := range f.Binaries {
		sys += len(b.Syscalls)
		feat += len(b.Features)
		pf += len(b.PseudoFiles)
	}
	n := func(v int) *int { return &v }
	return &End{Binaries: n(len(f.Binaries)), Helpers: n(len(f.Helpers)), Syscalls: n(sys), Features: n(feat), PseudoFiles: n(pf),
		Conflicts: n(len(f.Conflicts))}
}

// Workload is what was run.
type Workload struct {
	Command  []string `yaml:"command"`
	Dir      string   `yaml:"dir,omitempty"`
	Kind     string   `yaml:"kind,omitempty"` // suite | benchmark
	Replicas int      `yaml:"replicas"`
	Timeout  string   `yaml:"timeout,omitempty"`
	// Strategy is the search that chose the runs: "adaptive" (group
	// testing guided by priors) or "exhaustive" (every unit alone, N
	// replicas). Verdicts written before strategies existed omit it; they
	// were exhaustive.
	Strategy string `yaml:"strategy,omitempty"`
	// Metric is how the workload's benchmark metric is read from its
	// output (loupe analyze --metric), when it has one.
	Metric *Metric `yaml:"metric,omitempty"`
}

// Metric reads a benchmark metric (requests/s, MB/s, seconds) from a
// workload's output: the first capture group of Regex on the last output
// line it matches, a number. Better says which way is better.
type Metric struct {
	Regex  string `yaml:"regex"`
	Better string `yaml:"better"` // higher | lower
}

// MetricName is the Impact.Metric of the benchmark metric.
const MetricName = "benchmark"

// Which way a benchmark metric is better (Metric.Better).
const (
	BetterHigher = "higher"
	BetterLower  = "lower"
)

// Search strategies (Workload.Strategy).
const (
	StrategyAdaptive   = "adaptive"
	StrategyExhaustive = "exhaustive"
)

// Runs counts the workload runs the method used, by purpose. The counts are
// a function of the run outcomes, so a resumed analysis reports the same
// numbers as an uninterrupted one (runs taken from the state journal count,
// see RunMetadata.ResumedRuns).
type Runs struct {
	Total    int `yaml:"total"`
	Baseline int `yaml:"baseline"`
	// Reference runs are untraced (nothing recorded, no intervention): the
	// noise reference for impact, at the same tracing cost as experiments.
	Reference   int `yaml:"reference"`
	Sensitivity int `yaml:"sensitivity"`
	Experiments int `yaml:"experiments"`
	// Groups are experiment runs that applied several units at once
	// (strategy adaptive); Experiments counts the runs of one unit.
	Groups       int `yaml:"groups,omitempty"`
	Confirmation int `yaml:"confirmation"`
	// CulpritSearch counts the delta-debugging probes run after a failed
	// confirmation.
	CulpritSearch int `yaml:"culprit_search"`
}

// Environment is where the verdict was obtained.
type Environment struct {
	Kernel string `yaml:"kernel"`
	Libc   string `yaml:"libc"`
	Loupe  string `yaml:"loupe"`
}

// Binary is one executable the workload ran.
type Binary struct {
	// Path is the installed path for shipped binaries (/usr/bin/sed), else
	// the path that was executed.
	Path string `yaml:"path"`
	// BuildPath is the path executed in the build tree, when it differs.
	BuildPath string `yaml:"build_path,omitempty"`
	StandIn   string `yaml:"stand_in,omitempty"` // a declared test-only variant's build path: the installed file never ran
	BuildID   string `yaml:"build_id,omitempty"`
	SHA256    string `yaml:"sha256"`
	// Shipped is false for test helpers that the package does not install
	// (only in verdicts written before File.Helpers).
	Shipped bool `yaml:"shipped"`
	// Package is the binary package that ships it (dh_loupe).
	Package     string    `yaml:"package,omitempty"`
	Interpreter string    `yaml:"interpreter,omitempty"`
	Processes   int       `yaml:"processes"`
	Syscalls    []Syscall `yaml:"syscalls"`
	Features    []Feature `yaml:"features,omitempty"`
	PseudoFiles []Feature `yaml:"pseudo_files,omitempty"`
}

// Helper is a test helper (File.Helpers): an executable of the build tree
// that the test step ran and that no package ships (or that
// debian/loupe.yaml excludes). Its syscalls are not the package's, and it
// is never experimented on, so by default only its path and process count
// are listed; the syscall lists (untested outcomes) are kept only on
// request (dh_loupe's helpers=full), since suites can run hundreds of
// helpers.
type Helper struct {
	// Path is relative to the source tree.
	Path string `yaml:"path"`
	// Processes counts the process images that ran it.
	Processes int `yaml:"processes"`
	// Note says why an executable that looks like a shipped one is a
	// helper: a libtool wrapper script, an exclusion, a likely test build.
	Note        string    `yaml:"note,omitempty"`
	Syscalls    []Syscall `yaml:"syscalls,omitempty"`
	Features    []Feature `yaml:"features,omitempty"`
	PseudoFiles []Feature `yaml:"pseudo_files,omitempty"`
}

// TestHelpers returns f's test helpers: the helpers list, and the
// entries of binaries with shipped false that verdicts written before
// the helpers key had (the same executable may then appear more than once,
// one entry per interpreter).
func (f *File) TestHelpers() []Helper {
	out := append([]Helper{}, f.Helpers...)
	for _, b := range f.Binaries {
		if !b.Shipped {
			out = append(out, Helper{Path: b.Path, Processes: b.Processes, Syscalls: b.Syscalls,
				Features: b.Features, PseudoFiles: b.PseudoFiles})
		}
	}
	return out
}

// Outcome is the verdict on one feature (syscall, sub-feature or
// pseudo-file). Stub and Fake are nil when untested: in trace mode, when the
// status is not ok (insensitive, baseline-failed...), and when no replica of
// the experiment exercised the feature (the rule never fired).
type Outcome struct {
	Stub *bool `yaml:"stub"`
	Fake *bool `yaml:"fake"`
	// Required is true when neither Stub nor Fake is true (untested counts
	// as not working), or the confirmation demoted the feature; it takes
	// precedence over Stub and Fake.
	Required bool `yaml:"required"`
	// Flaky is set when replicas disagreed, when a replica failed although
	// its rule never fired, or when a feature that passed alone failed alone
	// in the confirmation; the verdict is then the conservative one.
	Flaky  bool     `yaml:"flaky"`
	Impact []Impact `yaml:"impact,omitempty"`
	// Evidence explains, in sentences derived only from run outcomes, why
	// the verdict is flaky, untested, partly exercised or demoted.
	Evidence []string `yaml:"evidence,omitempty"`
}

// Syscall is the verdict on one syscall.
type Syscall struct {
	Name    string `yaml:"name"`
	Number  int    `yaml:"number"`
	Calls   uint64 `yaml:"calls"`
	Outcome `yaml:",inline"`
}

// Feature is the verdict on a sub-feature ("ioctl:TCGETS") or a pseudo-file
// ("/proc/self/status").
type Feature struct {
	Key     string `yaml:"key"`
	Calls   uint64 `yaml:"calls"`
	Outcome `yaml:",inline"`
}

// Impact flags a resource or time change beyond baseline noise when a
// feature is stubbed or faked. The measured figures are in RunMetadata.
type Impact struct {
	Action    string `yaml:"action"`    // stub | fake
	Metric    string `yaml:"metric"`    // peak_rss_kb | max_fds | wall_seconds | benchmark
	Direction string `yaml:"direction"` // up | down
	// Effect is worse or better, for the benchmark metric (which way is
	// better is Workload.Metric.Better's).
	Effect string `yaml:"effect,omitempty"`
}

// CombinationImpact flags a resource or time change beyond baseline noise
// when everything the confirmation applies is applied at once (the
// combination an OS would provide). Binary is "" for wall_seconds.
type CombinationImpact struct {
	Metric    string `yaml:"metric"`
	Binary    string `yaml:"binary,omitempty"`
	Direction string `yaml:"direction"`
	Effect    string `yaml:"effect,omitempty"` // as in Impact
}

// Conflict records features that each passed alone but not together; the
// confirmation demoted Demoted to required. Features is a 1-minimal failing
// set found by delta debugging: applied together they fail, and removing any
// one of them passed.
type Conflict struct {
	Features []string `yaml:"features"`
	// Interventions are the same features with the action applied in the
	// combination, "key=stub" or "key=fake".
	Interventions []string `yaml:"interventions,omitempty"`
	Demoted       []string `yaml:"demoted"`
	// Flaky is set for a one-feature conflict: the feature passed its own
	// experiment but failed alone in the confirmation.
	Flaky bool `yaml:"flaky,omitempty"`
}

// RunMetadata holds what varies between identical analyses: times,
// resource measurements, and how this invocation went (jobs, resumed runs,
// isolation). Maps are emitted with sorted keys.
type RunMetadata struct {
	Started     time.Time `yaml:"started,omitempty"`
	Finished    time.Time `yaml:"finished,omitempty"`
	WallSeconds float64   `yaml:"wall_seconds"` // of this invocation
	// Timeout is the per-run timeout used for the runs after the baseline
	// (derived from the baseline unless given).
	Timeout string `yaml:"timeout,omitempty"`
	// Jobs is the number of concurrent runs; Isolation how runs were kept
	// apart ("namespaces" or "snapshot").
	Jobs      int    `yaml:"jobs,omitempty"`
	Isolation string `yaml:"isolation,omitempty"`
	// ExecutedRuns were run by this invocation; ResumedRuns were taken from
	// the state journal of an earlier one.
	ExecutedRuns int                `yaml:"executed_runs"`
	ResumedRuns  int                `yaml:"resumed_runs"`
	RunSeconds   map[string]float64 `yaml:"run_seconds,omitempty"` // summed wall, per run kind
	// BaselineWall and ReferenceWall are the wall seconds of each replica.
	BaselineWall  []float64              `yaml:"baseline_wall_seconds,omitempty"`
	ReferenceWall []float64              `yaml:"reference_wall_seconds,omitempty"`
	Resources     map[string]Resources   `yaml:"resources,omitempty"` // per binary path
	Impacts       map[string][]ImpactFig `yaml:"impacts,omitempty"`   // per feature key
	// CombinationImpacts are the figures behind CombinationImpact (action
	// "combination").
	CombinationImpacts []ImpactFig `yaml:"combination_impacts,omitempty"`
	// Metric is the benchmark metric of the runs, with Workload.Metric.
	Metric *MetricRuns `yaml:"metric,omitempty"`
	Notes  []string    `yaml:"notes,omitempty"`
}

// MetricRuns is the benchmark metric of every run that counts: the
// baseline and reference replicas, every passing run that applied one unit
// alone, and the passing confirmation runs. A run whose output did not
// match is left out.
type MetricRuns struct {
	Baseline  []float64 `yaml:"baseline"`
	Reference []float64 `yaml:"reference"`
	// Experiments are by unit key, then action (stub, fake).
	Experiments map[string]map[string][]float64 `yaml:"experiments,omitempty"`
	Combination []float64                       `yaml:"combination,omitempty"`
}

// Resources are the figures of one binary over the baseline replicas
// (traced) and the reference replicas (untraced, the impact reference).
type Resources struct {
	PeakRSSKB          []uint64 `yaml:"peak_rss_kb"`
	MaxFDs             []int    `yaml:"max_fds"`
	ReferencePeakRSSKB []uint64 `yaml:"reference_peak_rss_kb,omitempty"`
	ReferenceMaxFDs    []int    `yaml:"reference_max_fds,omitempty"`
}

// ImpactFig is the measurement behind an Impact.
type ImpactFig struct {
	Action string `yaml:"action"`
	Metric string `yaml:"metric"`
	// Binary is the binary measured; "" for wall_seconds (the workload).
	Binary   string    `yaml:"binary,omitempty"`
	Baseline []float64 `yaml:"baseline"`
	Observed []float64 `yaml:"observed"`
}

// Bool returns a pointer to b, for Outcome.Stub and Outcome.Fake.
func Bool(b bool) *bool { return &b }

// Normalize sorts every list so that output is deterministic.
func (f *File) Normalize() {
	sort.Slice(f.Binaries, func(i, j int) bool {
		a, b := f.Binaries[i], f.Binaries[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.BuildPath < b.BuildPath
	})
	for i := range f.Binaries {
		b := &f.Binaries[i]
		sortUses(b.Syscalls, b.Features, b.PseudoFiles)
	}
	sort.SliceStable(f.Helpers, func(i, j int) bool { return f.Helpers[i].Path < f.Helpers[j].Path })
	for i := range f.Helpers {
		h := &f.Helpers[i]
		sortUses(h.Syscalls, h.Features, h.PseudoFiles)
	}
	for i := range f.Conflicts {
		sort.Strings(f.Conflicts[i].Features)
		sort.Strings(f.Conflicts[i].Interventions)
		sort.Strings(f.Conflicts[i].Demoted)
	}
	for _, figs := range f.RunMetadata.Impacts {
		sort.Slice(figs, func(i, j int) bool {
			a, b := figs[i], figs[j]
			if a.Action != b.Action {
				return a.Action < b.Action
			}
			if a.Metric != b.Metric {
				return a.Metric < b.Metric
			}
			return a.Binary < b.Binary
		})
	}
	sort.Slice(f.CombinationImpact, func(i, j int) bool {
		a, b := f.CombinationImpact[i], f.CombinationImpact[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return a.Binary < b.Binary
	})
	sort.Slice(f.RunMetadata.CombinationImpacts, func(i, j int) bool {
		a, b := f.RunMetadata.CombinationImpacts[i], f.RunMetadata.CombinationImpacts[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return a.Binary < b.Binary
	})
	sort.Slice(f.Conflicts, func(i, j int) bool {
		return strings.Join(f.Conflicts[i].Features, ",") < strings.Join(f.Conflicts[j].Features, ",")
	})
}

// sortUses sorts one executable's syscalls by number, its sub-features and
// pseudo-files by key, and their impacts.
func sortUses(sc []Syscall, features, pseudo []Feature) {
	sort.Slice(sc, func(i, j int) bool { return sc[i].Number < sc[j].Number })
	sort.Slice(features, func(i, j int) bool { return features[i].Key < features[j].Key })
	sort.Slice(pseudo, func(i, j int) bool { return pseudo[i].Key < pseudo[j].Key })
	for k := range sc {
		sortImpact(sc[k].Impact)
	}
	for k := range features {
		sortImpact(features[k].Impact)
	}
	for k := range pseudo {
		sortImpact(pseudo[k].Impact)
	}
}

func sortImpact(im []Impact) {
	sort.Slice(im, func(i, j int) bool {
		a, b := im[i], im[j]
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		return a.Metric < b.Metric
	})
}

// Marshal normalises f, fills in its end block and encodes it as YAML, in
// the current schema (a legacy File is written as a current one).
func Marshal(f *File) ([]byte, error) {
	f.Schema = Schema
	f.Normalize()
	f.End = f.counts()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("encode verdict: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFile writes f to path atomically (atomicfile.WriteFile): readers see
// the old file or the whole new one. A symlink is followed (the link stays).
// A path that is not a regular file (a device such as /dev/null, a fifo,
// /dev/stdout on a pipe) is written in place: replacing it by rename would
// destroy the device node.
func WriteFile(path string, f *File) error {
	b, err := Marshal(f)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// ReadFile reads and validates a verdict file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// FieldError locates a problem in a verdict file.
type FieldError struct {
	File  string
	Line  int
	Field string // dotted path, e.g. binaries[0].syscalls[3].stub
	Msg   string
}

func (e *FieldError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: field %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// ErrNotVerdict means the document is not a loupe verdict at all.
var ErrNotVerdict = errors.New("not a loupe verdict (schema key missing or different)")

// Parse decodes and validates a verdict document; name is used in errors.
// Unknown keys are ignored, so files written by later loupe versions that add
// keys inside v2 still parse. A v2 file must be whole (End); a v1 file is
// accepted as Legacy.
func Parse(name string, data []byte) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &FieldError{File: name, Line: yamlErrLine(err.Error()), Msg: "invalid YAML: " + err.Error()}
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &FieldError{File: name, Line: 1, Msg: "expected a YAML mapping"}
	}
	doc := root.Content[0]
	sch := lookup(doc, "schema")
	if sch == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNotVerdict)
	}
	if sch.Value != Schema && sch.Value != SchemaV1 {
		if strings.HasPrefix(sch.Value, "loupe/verdict/") {
			return nil, &FieldError{File: name, Line: sch.Line, Field: "schema",
				Msg: fmt.Sprintf("unsupported version %q (this loupe reads %s and %s; upgrade loupe)", sch.Value, Schema, SchemaV1)}
		}
		return nil, fmt.Errorf("%s: %w", name, ErrNotVerdict)
	}
	var f File
	if err := doc.Decode(&f); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			// Report the first problem with its line and the dotted path of
			// the field at that line.
			msg := te.Errors[0]
			line := yamlErrLine(msg)
			if i := strings.Index(msg, ": "); i >= 0 && line > 0 {
				msg = msg[i+2:]
			}
			return nil, &FieldError{File: name, Line: line, Field: fieldName(pathAtLine(doc, line, nil)), Msg: msg}
		}
		return nil, &FieldError{File: name, Msg: err.Error()}
	}
	if err := f.validate(name, doc); err != nil {
		return nil, err
	}
	return &f, nil
}

// yamlErrLine extracts N from yaml.v3 messages of the form "...line N: ...".
func yamlErrLine(msg string) int {
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range msg[i+5:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// pathAtLine finds the field whose value starts at line, as a path for
// fieldName; nil when none does.
func pathAtLine(n *yaml.Node, line int, prefix []any) []any {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := append(append([]any{}, prefix...), k.Value)
			if v.Line == line && (v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode) {
				return p
			}
			if r := pathAtLine(v, line, p); r != nil {
				return r
			}
			if v.Line == line || k.Line == line {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := append(append([]any{}, prefix...), i)
			if r := pathAtLine(v, line, p); r != nil {
				return r
			}
			if v.Line == line {
				return p
			}
		}
	}
	return nil
}

// Validate applies Parse's checks to an already decoded File; errors carry
// no line number (Parse's do). name is used in errors.
func (f *File) Validate(name string) error { return f.validate(name, nil) }

func (f *File) validate(name string, doc *yaml.Node) error {
	bad := func(path []any, msg string) error {
		n := nodeAt(doc, path...)
		line := 0
		switch {
		case path == nil && doc != nil:
			line = lastLine(doc) // the whole file: point at where it ends
		case n != nil:
			line = n.Line
		default:
			// A missing key: point at the deepest part of the path there is.
			for k := len(path) - 1; k > 0 && line == 0; k-- {
				if a := nodeAt(doc, path[:k]...); a != nil {
					line = a.Line
				}
			}
		}
		return &FieldError{File: name, Line: line, Field: fieldName(path), Msg: msg}
	}
	ok := false
	for _, s := range statuses {
		ok = ok || f.Status == s
	}
	if !ok {
		return bad([]any{"status"}, fmt.Sprintf("unknown status %q (want one of %v)", f.Status, statuses))
	}
	if f.Mode != ModeTrace && f.Mode != ModeAnalyze {
		return bad([]any{"mode"}, fmt.Sprintf("unknown mode %q (want trace or analyze)", f.Mode))
	}
	switch f.Granularity {
	case "", GranSyscalls, GranFeatures, GranPseudoFiles:
	default:
		return bad([]any{"granularity"}, fmt.Sprintf("unknown granularity %q (want syscalls, features or pseudo-files)", f.Granularity))
	}
	if f.Workload.Replicas < 0 {
		return bad([]any{"workload", "replicas"}, "negative replica count")
	}
	switch f.Workload.Strategy {
	case "", StrategyAdaptive, StrategyExhaustive:
	default:
		return bad([]any{"workload", "strategy"}, fmt.Sprintf("unknown strategy %q (want adaptive or exhaustive)", f.Workload.Strategy))
	}
	for _, c := range []struct {
		key string
		n   int
	}{{"total", f.Runs.Total}, {"baseline", f.Runs.Baseline}, {"reference", f.Runs.Reference}, {"sensitivity", f.Runs.Sensitivity},
		{"experiments", f.Runs.Experiments}, {"groups", f.Runs.Groups}, {"confirmation", f.Runs.Confirmation}, {"culprit_search", f.Runs.CulpritSearch}} {
		if c.n < 0 {
			return bad([]any{"runs", c.key}, "negative run count")
		}
	}
	checkOutcome := func(path []any, o Outcome) error {
		if f.Mode == ModeTrace && (o.Stub != nil || o.Fake != nil) {
			return bad(path, "trace-mode verdicts have stub/fake null")
		}
		// Untested outcomes (null, null) are legal in analyze mode: test
		// helpers are listed from the trace, never experimented on.
		tested := o.Stub != nil || o.Fake != nil
		works := (o.Stub != nil && *o.Stub) || (o.Fake != nil && *o.Fake)
		if f.Mode == ModeAnalyze && f.Status == StatusOK && tested && !works && !o.Required {
			return bad(append(path, "required"), "neither stub nor fake works, so required must be true")
		}
		for k, im := range o.Impact {
			if im.Action != "stub" && im.Action != "fake" {
				return bad(append(path, "impact", k, "action"), fmt.Sprintf("unknown action %q (want stub or fake)", im.Action))
			}
			if im.Direction != "up" && im.Direction != "down" {
				return bad(append(path, "impact", k, "direction"), fmt.Sprintf("unknown direction %q (want up or down)", im.Direction))
			}
			if im.Effect != "" && im.Effect != "worse" && im.Effect != "better" {
				return bad(append(path, "impact", k, "effect"), fmt.Sprintf("unknown effect %q (want worse or better)", im.Effect))
			}
		}
		return nil
	}
	for k, im := range f.CombinationImpact {
		if im.Direction != "up" && im.Direction != "down" {
			return bad([]any{"combination_impact", k, "direction"}, fmt.Sprintf("unknown direction %q (want up or down)", im.Direction))
		}
		if im.Effect != "" && im.Effect != "worse" && im.Effect != "better" {
			return bad([]any{"combination_impact", k, "effect"}, fmt.Sprintf("unknown effect %q (want worse or better)", im.Effect))
		}
	}
	if m := f.Workload.Metric; m != nil && m.Better != BetterHigher && m.Better != BetterLower {
		return bad([]any{"workload", "metric", "better"}, fmt.Sprintf("%q, want higher or lower", m.Better))
	}
	table := SyscallTable(f.Architecture)
	// uses checks one executable's syscalls, sub-features and pseudo-files.
	uses := func(at []any, sc []Syscall, features, pseudo []Feature, helper bool) error {
		check := func(p []any, o Outcome) error {
			if helper && (o.Stub != nil || o.Fake != nil) {
				return bad(p, "test helpers are never experimented on: stub/fake must be null")
			}
			return checkOutcome(p, o)
		}
		for j, s := range sc {
			p := append(append([]any{}, at...), "syscalls", j)
			if s.Name == "" {
				return bad(p, "syscall without name")
			}
			if err := CheckSyscall(table, s.Name); err != nil {
				return bad(append(p, "name"), err.Error())
			}
			if table != nil {
				if nr, _ := table.Number(s.Name); nr != s.Number {
					return bad(append(p, "number"), fmt.Sprintf("%d is not the number of %s (%d on %s)", s.Number, s.Name, nr, table.Arch()))
				}
			}
			if err := check(p, s.Outcome); err != nil {
				return err
			}
		}
		for _, list := range []struct {
			key string
			fs  []Feature
		}{{"features", features}, {"pseudo_files", pseudo}} {
			for j, ft := range list.fs {
				p := append(append([]any{}, at...), list.key, j)
				if ft.Key == "" {
					return bad(p, "feature without key")
				}
				if list.key == "pseudo_files" && !strings.HasPrefix(ft.Key, "/") {
					return bad(append(p, "key"), fmt.Sprintf("pseudo-file %q is not an absolute path", ft.Key))
				}
				if list.key == "features" {
					parent, _, ok := strings.Cut(ft.Key, ":")
					if !ok {
						return bad(append(p, "key"), fmt.Sprintf("sub-feature %q is not of the form syscall:value", ft.Key))
					}
					if err := CheckSyscall(table, parent); err != nil {
						return bad(append(p, "key"), fmt.Sprintf("sub-feature %q: %v", ft.Key, err))
					}
				}
				if err := check(p, ft.Outcome); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for i, b := range f.Binaries {
		if b.Path == "" {
			return bad([]any{"binaries", i}, "binary without path")
		}
		if b.Processes < 0 {
			return bad([]any{"binaries", i, "processes"}, "negative process count")
		}
		if err := uses([]any{"binaries", i}, b.Syscalls, b.Features, b.PseudoFiles, false); err != nil {
			return err
		}
	}
	for i, h := range f.Helpers {
		if h.Path == "" {
			return bad([]any{"helpers", i}, "helper without path")
		}
		if h.Processes < 0 {
			return bad([]any{"helpers", i, "processes"}, "negative process count")
		}
		if err := uses([]any{"helpers", i}, h.Syscalls, h.Features, h.PseudoFiles, true); err != nil {
			return err
		}
	}
	for i, c := range f.Conflicts {
		if len(c.Features) == 0 {
			return bad([]any{"conflicts", i, "features"}, "conflict without features")
		}
	}
	return f.checkEnd(bad)
}

// checkEnd proves a current-schema file whole: its end block is there,
// complete, and matches the lists. Legacy (v1) files have none to check.
func (f *File) checkEnd(bad func(path []any, msg string) error) error {
	switch f.Schema {
	case SchemaV1:
		return nil
	case Schema:
	default:
		return bad([]any{"schema"}, fmt.Sprintf("want %s", Schema))
	}
	const regen = "regenerate it (a new build with dh_loupe, or loupe analyze)"
	if f.End == nil {
		return bad(nil, "the end block is missing: the file is incomplete (cut short?), since a verdict ends with "+
			"\"end:\" and the counts of its lists; "+regen)
	}
	want := f.counts()
	for _, c := range []struct {
		key       string
		got, want *int
	}{
		{"binaries", f.End.Binaries, want.Binaries},
		{"helpers", f.End.Helpers, want.Helpers},
		{"syscalls", f.End.Syscalls, want.Syscalls},
		{"features", f.End.Features, want.Features},
		{"pseudo_files", f.End.PseudoFiles, want.PseudoFiles},
		{"conflicts", f.End.Conflicts, want.Conflicts},
	} {
		switch {
		case c.got == nil:
			return bad([]any{"end", c.key}, "missing: the end block is incomplete (the file was cut short?); "+regen)
		case *c.got != *c.want:
			return bad([]any{"end", c.key}, fmt.Sprintf("%d, but the file lists %d: it is incomplete or was edited; %s", *c.got, *c.want, regen))
		}
	}
	return nil
}

// SyscallTable is the syscall table names in a verdict or dataset entry of
// architecture arch are checked against: amd64's for amd64, and for "all"
// and "" (arch-independent packages and plain commands, traced on the only
// architecture loupe traces today); nil, meaning unchecked, for
// architectures loupe has no table of.
func SyscallTable(arch string) *sysent.Table {
	switch arch {
	case "", "all":
		return sysent.AMD64
	}
	return sysent.ForArch(arch)
}

// CheckSyscall refuses a name table does not know, suggesting the closest
// one (names of the form syscall_<n>, for numbers the headers lacked, are
// known). A nil table checks nothing.
func CheckSyscall(table *sysent.Table, name string) error {
	if table == nil {
		return nil
	}
	_, err := table.Lookup(name)
	return err
}

// lastLine is the line of the last node under n.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func nodeAt(n *yaml.Node, path ...any) *yaml.Node {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			n = lookup(n, k)
		case int:
			if n == nil || n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return n
			}
			n = n.Content[k]
		}
		if n == nil {
			return nil
		}
	}
	return n
}

func fieldName(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return b.String()
}
