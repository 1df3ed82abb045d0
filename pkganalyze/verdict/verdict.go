// Package verdict defines loupe's verdict file, schema "loupe/verdict/v1":
// what an analysis (or a plain trace) concluded about each binary's use of
// system calls, sub-features and pseudo-files. The schema is documented in
// doc/verdict-schema.md; this package is its single implementation.
//
// Everything outside RunMetadata is a decision or a count and is
// deterministic: the same observations give byte-identical output (lists are
// sorted, maps are never emitted). Measurements that vary from run to run
// (times, RSS, measured impact figures) live only in RunMetadata.
//
// Readers ignore unknown keys, so later versions can add keys inside v1.
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
)

// Schema is the value of the schema key.
const Schema = "loupe/verdict/v1"

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
	Conflicts []Conflict `yaml:"conflicts,omitempty"`
	// RunMetadata is the only part that varies between identical analyses.
	RunMetadata RunMetadata `yaml:"run_metadata"`
}

// Workload is what was run.
type Workload struct {
	Command  []string `yaml:"command"`
	Dir      string   `yaml:"dir,omitempty"`
	Kind     string   `yaml:"kind,omitempty"` // suite | benchmark
	Replicas int      `yaml:"replicas"`
	Timeout  string   `yaml:"timeout,omitempty"`
}

// Runs counts the workload runs made, by purpose.
type Runs struct {
	Total        int `yaml:"total"`
	Baseline     int `yaml:"baseline"`
	Sensitivity  int `yaml:"sensitivity"`
	Experiments  int `yaml:"experiments"`
	Confirmation int `yaml:"confirmation"`
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
	BuildID   string `yaml:"build_id,omitempty"`
	SHA256    string `yaml:"sha256"`
	// Shipped is false for test helpers that the package does not install.
	Shipped bool `yaml:"shipped"`
	// Package is the binary package that ships it (dh_loupe).
	Package     string    `yaml:"package,omitempty"`
	Interpreter string    `yaml:"interpreter,omitempty"`
	Processes   int       `yaml:"processes"`
	Syscalls    []Syscall `yaml:"syscalls"`
	Features    []Feature `yaml:"features,omitempty"`
	PseudoFiles []Feature `yaml:"pseudo_files,omitempty"`
}

// Outcome is the verdict on one feature (syscall, sub-feature or
// pseudo-file). Stub and Fake are nil when untested (trace mode).
type Outcome struct {
	Stub *bool `yaml:"stub"`
	Fake *bool `yaml:"fake"`
	// Required is true when neither works, or the confirmation demoted the
	// feature; it takes precedence over Stub and Fake.
	Required bool     `yaml:"required"`
	Flaky    bool     `yaml:"flaky"`
	Impact   []Impact `yaml:"impact,omitempty"`
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
	Metric    string `yaml:"metric"`    // peak_rss_kb | max_fds | wall_seconds
	Direction string `yaml:"direction"` // up | down
}

// Conflict records features that each passed alone but not together; the
// confirmation demoted Demoted to required.
type Conflict struct {
	Features []string `yaml:"features"`
	Demoted  []string `yaml:"demoted"`
}

// RunMetadata holds what varies between identical analyses.
type RunMetadata struct {
	Started     time.Time              `yaml:"started,omitempty"`
	Finished    time.Time              `yaml:"finished,omitempty"`
	WallSeconds float64                `yaml:"wall_seconds"`
	RunSeconds  map[string]float64     `yaml:"run_seconds,omitempty"` // per run kind
	Resources   map[string]Resources   `yaml:"resources,omitempty"`   // baseline, per binary path
	Impacts     map[string][]ImpactFig `yaml:"impacts,omitempty"`     // per feature key
	Notes       []string               `yaml:"notes,omitempty"`
}

// Resources are baseline figures of one binary, over the baseline replicas.
type Resources struct {
	PeakRSSKB []uint64 `yaml:"peak_rss_kb"`
	MaxFDs    []int    `yaml:"max_fds"`
}

// ImpactFig is the measurement behind an Impact.
type ImpactFig struct {
	Action   string    `yaml:"action"`
	Metric   string    `yaml:"metric"`
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
		sort.Slice(b.Syscalls, func(i, j int) bool { return b.Syscalls[i].Number < b.Syscalls[j].Number })
		sort.Slice(b.Features, func(i, j int) bool { return b.Features[i].Key < b.Features[j].Key })
		sort.Slice(b.PseudoFiles, func(i, j int) bool { return b.PseudoFiles[i].Key < b.PseudoFiles[j].Key })
		for k := range b.Syscalls {
			sortImpact(b.Syscalls[k].Impact)
		}
		for k := range b.Features {
			sortImpact(b.Features[k].Impact)
		}
		for k := range b.PseudoFiles {
			sortImpact(b.PseudoFiles[k].Impact)
		}
	}
	for i := range f.Conflicts {
		sort.Strings(f.Conflicts[i].Features)
		sort.Strings(f.Conflicts[i].Demoted)
	}
	sort.Slice(f.Conflicts, func(i, j int) bool {
		return strings.Join(f.Conflicts[i].Features, ",") < strings.Join(f.Conflicts[j].Features, ",")
	})
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

// Marshal normalises f and encodes it as YAML.
func Marshal(f *File) ([]byte, error) {
	if f.Schema == "" {
		f.Schema = Schema
	}
	f.Normalize()
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

// WriteFile writes f to path atomically.
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
func Parse(name string, data []byte) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &FieldError{File: name, Msg: "invalid YAML: " + err.Error()}
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &FieldError{File: name, Line: 1, Msg: "expected a YAML mapping"}
	}
	doc := root.Content[0]
	sch := lookup(doc, "schema")
	if sch == nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNotVerdict)
	}
	if sch.Value != Schema {
		if strings.HasPrefix(sch.Value, "loupe/verdict/") {
			return nil, &FieldError{File: name, Line: sch.Line, Field: "schema",
				Msg: fmt.Sprintf("unsupported version %q (this loupe reads %s; upgrade loupe)", sch.Value, Schema)}
		}
		return nil, fmt.Errorf("%s: %w", name, ErrNotVerdict)
	}
	var f File
	if err := doc.Decode(&f); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			return nil, &FieldError{File: name, Msg: strings.Join(te.Errors, "; ")}
		}
		return nil, &FieldError{File: name, Msg: err.Error()}
	}
	if err := f.validate(name, doc); err != nil {
		return nil, err
	}
	return &f, nil
}

// Validate applies Parse's checks to an already decoded File; errors carry
// no line number (Parse's do). name is used in errors.
func (f *File) Validate(name string) error { return f.validate(name, nil) }

func (f *File) validate(name string, doc *yaml.Node) error {
	bad := func(path []any, msg string) error {
		n := nodeAt(doc, path...)
		line := 0
		if n != nil {
			line = n.Line
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
	for i, b := range f.Binaries {
		if b.Path == "" {
			return bad([]any{"binaries", i}, "binary without path")
		}
		for j, s := range b.Syscalls {
			if s.Name == "" {
				return bad([]any{"binaries", i, "syscalls", j}, "syscall without name")
			}
			if f.Mode == ModeTrace && (s.Stub != nil || s.Fake != nil) {
				return bad([]any{"binaries", i, "syscalls", j}, "trace-mode verdicts have stub/fake null")
			}
		}
		for j, ft := range append(append([]Feature{}, b.Features...), b.PseudoFiles...) {
			if ft.Key == "" {
				return bad([]any{"binaries", i}, fmt.Sprintf("feature %d without key", j))
			}
		}
	}
	return nil
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
