package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/located"
	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Schema is the value of the schema key of a dataset file.
const Schema = "loupe/dataset/v1"

// Origin says where an entry's evidence comes from.
type Origin string

const (
	OriginVerdict Origin = "verdict" // a loupe verdict file (dh_loupe, loupe analyze)
	OriginLoupeDB Origin = "loupedb" // imported from upstream's loupedb dyn.csv
)

// Workload kinds.
const (
	KindSuite     = "suite"
	KindBenchmark = "benchmark"
)

// Dataset is one dataset file.
type Dataset struct {
	Schema string `json:"schema"`
	// Loupe is the version of loupe that wrote the file.
	Loupe   string  `json:"loupe,omitempty"`
	Entries []Entry `json:"entries"`
	// Simulations are loupe simulate reports (doc/simulate.md): which
	// applications were run on which OS, or plan step, and how that went.
	Simulations []Simulation `json:"simulations,omitempty"`
	Problems    []Problem    `json:"problems,omitempty"`
}

// Workload is what produced an entry's evidence.
type Workload struct {
	Kind string `json:"kind"`           // suite | benchmark
	Name string `json:"name,omitempty"` // loupedb workload dir, e.g. benchmark-wrk
}

// Entry is the evidence about one application.
type Entry struct {
	Name         string   `json:"name"` // binary package, or loupedb app
	Source       string   `json:"source,omitempty"`
	Version      string   `json:"version,omitempty"` // Debian version, with epoch
	Architecture string   `json:"architecture"`
	Origin       Origin   `json:"origin"`
	Workload     Workload `json:"workload"`
	// Status and Mode are the verdict's (loupe/verdict values).
	Status      string `json:"status"`
	Mode        string `json:"mode"`
	Granularity string `json:"granularity,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Flaky       bool   `json:"flaky,omitempty"`

	Syscalls    Features `json:"syscalls"`
	Features    Features `json:"features,omitzero"`     // "ioctl:TCGETS"
	PseudoFiles Features `json:"pseudo_files,omitzero"` // "/proc/self/status"

	// Impacts are the changes a passing stub or fake made beyond the
	// noise of the reference runs (the verdicts' impact entries, over the
	// binaries counted), and Metric says how the benchmark figure they may
	// name ("benchmark") was read.
	Impacts []Impact        `json:"impacts,omitempty"`
	Metric  *verdict.Metric `json:"metric,omitempty"`

	Provenance []Provenance `json:"provenance"`
	Superseded []Superseded `json:"superseded,omitempty"`
	// Notes are remarks of the importer about odd input, kept for the record.
	Notes []string `json:"notes,omitempty"`
}

// Features lists used features by class. A feature is in exactly one of
// Required, Stub, Fake, Both or Traced; Flaky flags some of them.
type Features struct {
	Required []string `json:"required,omitempty"` // neither stub nor fake works
	Stub     []string `json:"stub,omitempty"`     // only stubbing (-ENOSYS) works
	Fake     []string `json:"fake,omitempty"`     // only faking (success) works
	Both     []string `json:"both,omitempty"`     // stubbing and faking both work
	Traced   []string `json:"traced,omitempty"`   // used, never tested (trace mode)
	Flaky    []string `json:"flaky,omitempty"`    // replicas disagreed (already conservative)
}

// Impact is one impact of a verdict: a stub or fake of Key moved Metric
// (peak_rss_kb, max_fds, wall_seconds, benchmark) in Direction; Effect
// (worse, better) is given for the benchmark metric.
type Impact struct {
	Key       string            `json:"key"`
	Action    string            `json:"action"`
	Metric    string            `json:"metric"`
	Direction verdict.Direction `json:"direction"`
	Effect    verdict.Effect    `json:"effect,omitempty"`
}

func (i Impact) String() string {
	s := i.Key + "=" + i.Action + ": " + i.Metric + " " + string(i.Direction)
	if i.Effect != "" {
		s += " (" + string(i.Effect) + ")"
	}
	return s
}

// Provenance is one file an entry was built from.
type Provenance struct {
	File     string   `json:"file"`
	SHA256   string   `json:"sha256,omitempty"`
	Changes  string   `json:"changes,omitempty"`  // the .changes that listed File
	Run      string   `json:"run,omitempty"`      // loupedb run directory (md5 or "imported")
	Dialect  string   `json:"dialect,omitempty"`  // loupedb dyn.csv dialect
	Binaries []string `json:"binaries,omitempty"` // binaries whose syscalls were kept
}

// Superseded is a duplicate that lost to the entry.
type Superseded struct {
	Version    string       `json:"version,omitempty"`
	Status     string       `json:"status"`
	Mode       string       `json:"mode"`
	Why        string       `json:"why"`
	Provenance []Provenance `json:"provenance"`
}

// Problem is an input that was skipped, or part of one that was ignored.
type Problem = located.Error

// Key identifies an entry for duplicate resolution: one entry per package,
// architecture and workload kind for verdicts (a test suite and a benchmark
// of one application, loupe analyze --app, are two workloads); per app,
// architecture and workload for loupedb.
func (e *Entry) Key() string {
	k := string(e.Origin) + "\x00" + e.Name + "\x00" + e.Architecture
	switch e.Origin {
	case OriginLoupeDB:
		k += "\x00" + e.Workload.Name
	case OriginVerdict:
		k += "\x00" + e.Workload.Kind
	}
	return k
}

// Usable reports whether the entry is evidence for a support plan: the full
// method ran to the end.
func (e *Entry) Usable() bool { return e.Status == "ok" && e.Mode == "analyze" }

// State is what is known about one used feature.
type State uint8

const (
	Tested State = 1 << iota // stub/fake experiments ran
	StubOK                   // works stubbed (-ENOSYS)
	FakeOK                   // works faked (returns 0)
	IsFlaky
)

// Class is what a feature's state says an OS must do: the lists of
// Features, and the colours of the report.
type Class string

const (
	ClassRequired Class = "required" // implement it
	ClassStub     Class = "stub"     // stub only (-ENOSYS)
	ClassFake     Class = "fake"     // fake only (return 0)
	ClassBoth     Class = "both"     // stub or fake
	ClassTraced   Class = "traced"   // used, not tested
)

// Classes are the classes in the order of the schema's lists.
var Classes = []Class{ClassRequired, ClassStub, ClassFake, ClassBoth, ClassTraced}

func (c Class) String() string { return string(c) }

// Class is the class of a state.
func (s State) Class() Class {
	switch {
	case s&Tested == 0:
		return ClassTraced
	case s&StubOK != 0 && s&FakeOK != 0:
		return ClassBoth
	case s&StubOK != 0:
		return ClassStub
	case s&FakeOK != 0:
		return ClassFake
	}
	return ClassRequired
}

// List returns the list of f that holds class c.
func (f *Features) List(c Class) *[]string {
	switch c {
	case ClassStub:
		return &f.Stub
	case ClassFake:
		return &f.Fake
	case ClassBoth:
		return &f.Both
	case ClassTraced:
		return &f.Traced
	}
	return &f.Required
}

// Combine is the conservative fold of two observations of one feature: an
// intervention works only if it worked in both; untested wins over tested.
func Combine(a, b State) State {
	flaky := (a | b) & IsFlaky
	if a&Tested == 0 || b&Tested == 0 {
		return flaky
	}
	return (a & b &^ IsFlaky) | flaky
}

// States returns the features as a map from key to state.
func (f *Features) States() map[string]State {
	m := make(map[string]State, len(f.Required)+len(f.Stub)+len(f.Fake)+len(f.Both)+len(f.Traced))
	for _, k := range f.Required {
		m[k] = Tested
	}
	for _, k := range f.Stub {
		m[k] = Tested | StubOK
	}
	for _, k := range f.Fake {
		m[k] = Tested | FakeOK
	}
	for _, k := range f.Both {
		m[k] = Tested | StubOK | FakeOK
	}
	for _, k := range f.Traced {
		m[k] = 0
	}
	for _, k := range f.Flaky {
		if s, ok := m[k]; ok {
			m[k] = s | IsFlaky
		}
	}
	return m
}

// Len is the number of used features.
func (f *Features) Len() int {
	return len(f.Required) + len(f.Stub) + len(f.Fake) + len(f.Both) + len(f.Traced)
}

// Empty reports whether no feature is listed.
func (f *Features) Empty() bool { return f.Len() == 0 }

// FeaturesFrom builds the class lists from a map; syscalls says the keys are
// syscall names, sorted by amd64 number (unknown names last, by name).
func FeaturesFrom(m map[string]State, syscalls bool) Features {
	var f Features
	for k, s := range m {
		l := f.List(s.Class())
		*l = append(*l, k)
		if s&IsFlaky != 0 {
			f.Flaky = append(f.Flaky, k)
		}
	}
	less := func(a, b string) bool { return a < b }
	if syscalls {
		less = SyscallLess
	}
	for _, l := range []*[]string{&f.Required, &f.Stub, &f.Fake, &f.Both, &f.Traced, &f.Flaky} {
		sort.Slice(*l, func(i, j int) bool { return less((*l)[i], (*l)[j]) })
	}
	return f
}

// SyscallLess orders syscall names by amd64 number, unknown names last.
func SyscallLess(a, b string) bool { return sysent.AMD64.Less(a, b) }

// Normalize sorts the dataset so that output is deterministic.
func (d *Dataset) Normalize() {
	if d.Schema == "" {
		d.Schema = Schema
	}
	sort.SliceStable(d.Entries, func(i, j int) bool { return d.Entries[i].Key() < d.Entries[j].Key() })
	for i := range d.Entries {
		e := &d.Entries[i]
		sortProv(e.Provenance)
		sort.SliceStable(e.Superseded, func(i, j int) bool {
			a, b := e.Superseded[i], e.Superseded[j]
			if a.Version != b.Version {
				return a.Version < b.Version
			}
			return firstFile(a.Provenance) < firstFile(b.Provenance)
		})
		for k := range e.Superseded {
			sortProv(e.Superseded[k].Provenance)
		}
		sort.Strings(e.Notes)
		sort.Slice(e.Impacts, func(i, j int) bool { return e.Impacts[i].String() < e.Impacts[j].String() })
	}
	sortSimulations(d.Simulations)
	sort.SliceStable(d.Problems, func(i, j int) bool {
		a, b := d.Problems[i], d.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Msg < b.Msg
	})
}

func sortProv(p []Provenance) {
	sort.SliceStable(p, func(i, j int) bool {
		if p[i].File != p[j].File {
			return p[i].File < p[j].File
		}
		return p[i].Changes < p[j].Changes
	})
}

func firstFile(p []Provenance) string {
	if len(p) == 0 {
		return ""
	}
	return p[0].File
}

// Marshal normalises d and encodes it as indented JSON.
func Marshal(d *Dataset) ([]byte, error) {
	d.Normalize()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode dataset: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes d to path atomically.
func WriteFile(path string, d *Dataset) error {
	b, err := Marshal(d)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// ReadFile reads a dataset file.
func ReadFile(path string) (*Dataset, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes a dataset file; name is used in errors.
func Parse(name string, b []byte) (*Dataset, error) {
	var d Dataset
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			line := bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n")) + 1
			return nil, &located.Error{File: name, Line: line, Msg: fmt.Sprintf("invalid dataset JSON: %v", err)}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, &located.Error{File: name, Line: bytes.Count(b, []byte("\n")) + 1, Msg: fmt.Sprintf("invalid dataset: the file ends too early (cut short, or empty): %v", err)}
		}
		return nil, fmt.Errorf("%s: invalid dataset: %w", name, err)
	}
	if d.Schema != Schema {
		if strings.HasPrefix(d.Schema, "loupe/dataset/") {
			return nil, fmt.Errorf("%s: field schema: unsupported version %q (this loupe reads %s; upgrade loupe)", name, d.Schema, Schema)
		}
		return nil, fmt.Errorf("%s: field schema: %q is not a loupe dataset (want %s)", name, d.Schema, Schema)
	}
	for i, e := range d.Entries {
		if e.Name == "" || e.Origin == "" {
			return nil, fmt.Errorf("%s: field entries[%d]: entry without name or origin", name, i)
		}
		if err := e.checkNames(); err != nil {
			return nil, fmt.Errorf("%s: field entries[%d].%w", name, i, err)
		}
	}
	for i, s := range d.Simulations {
		if s.App == "" || s.OS == "" {
			return nil, fmt.Errorf("%s: field simulations[%d]: simulation without app or os", name, i)
		}
	}
	return &d, nil
}

// checkNames refuses syscall names (and sub-features of syscalls) that the
// entry's architecture does not have, with a suggestion: a plan would
// otherwise tell an OS to implement "not_a_syscall".
func (e *Entry) checkNames() error {
	table := verdict.SyscallTable(e.Architecture)
	for _, c := range []struct {
		field string
		f     *Features
		sub   bool
	}{{"syscalls", &e.Syscalls, false}, {"features", &e.Features, true}} {
		for _, l := range []struct {
			class string
			keys  []string
		}{{"required", c.f.Required}, {"stub", c.f.Stub}, {"fake", c.f.Fake}, {"both", c.f.Both}, {"traced", c.f.Traced}, {"flaky", c.f.Flaky}} {
			for k, key := range l.keys {
				name := key
				if c.sub {
					parent, _, ok := strings.Cut(key, ":")
					if !ok {
						return fmt.Errorf("%s.%s[%d]: sub-feature %q is not of the form syscall:value", c.field, l.class, k, key)
					}
					name = parent
				}
				if err := verdict.CheckSyscall(table, name); err != nil {
					return fmt.Errorf("%s.%s[%d]: %w", c.field, l.class, k, err)
				}
			}
		}
	}
	return nil
}
