package simulate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"salsa.debian.org/loupe-team/loupe/internal/exitstatus"
	"salsa.debian.org/loupe-team/loupe/internal/located"
	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/yamlenc"
)

// Schema is the value of the schema key of a report.
const Schema = "loupe/simulation/v1"

// Suffix is the file name suffix under which loupe db finds reports while
// walking a directory; a report given explicitly may have any name.
const Suffix = ".simulation.yaml"

// Report is one simulated run.
type Report struct {
	Schema string `yaml:"schema"`
	// Loupe is the version of loupe that ran the simulation.
	Loupe string `yaml:"loupe,omitempty"`
	// App names the application the workload exercises (loupe simulate
	// --app); loupe db needs it to relate the run to a dataset's entries.
	App  string    `yaml:"app,omitempty"`
	OS   OS        `yaml:"os"`
	Plan *PlanStep `yaml:"plan,omitempty"`
	// Command, Dir and Binaries are the workload and its whitelist.
	Command  []string `yaml:"command"`
	Dir      string   `yaml:"dir,omitempty"`
	Binaries []string `yaml:"binaries"`
	Exit     Exit     `yaml:"exit"`
	// Passed is the workload's verdict: exit status 0.
	Passed      bool    `yaml:"passed"`
	WallSeconds float64 `yaml:"wall_seconds"`
	// Lacking lists every syscall the OS lacks (stubbed, faked or not
	// listed) that a whitelisted binary called; Features and PseudoFiles
	// do the same for sub-features and pseudo-files, when the OS file names
	// any.
	Lacking     []Lack   `yaml:"lacking"`
	Features    []Lack   `yaml:"features,omitempty"`
	PseudoFiles []Lack   `yaml:"pseudo_files,omitempty"`
	Warnings    []string `yaml:"warnings,omitempty"`
	End         *End     `yaml:"end"`
}

// OS describes the simulated OS.
type OS struct {
	Name   string `yaml:"name"`
	File   string `yaml:"file"`
	SHA256 string `yaml:"sha256,omitempty"`
	// Counts of what it implements, stubs and fakes (after the plan step,
	// with Plan).
	Implemented int `yaml:"implemented"`
	Stubbed     int `yaml:"stubbed"`
	Faked       int `yaml:"faked"`
	// Features and PseudoFiles count the sub-features and pseudo-files it
	// names (0: it lacks none of them).
	Features    int `yaml:"features,omitempty"`
	PseudoFiles int `yaml:"pseudo_files,omitempty"`
}

// PlanStep says which plan step was simulated.
type PlanStep struct {
	Dataset       string `yaml:"dataset"`
	DatasetSHA256 string `yaml:"dataset_sha256,omitempty"`
	Workload      string `yaml:"workload"`
	Step          int    `yaml:"step"`
	Steps         int    `yaml:"steps"` // the plan's number of steps, step 0 included
	// Supported lists the applications the plan claims run after Step.
	Supported []string `yaml:"supported"`
	// AppClaimed says whether App is among them (only with App).
	AppClaimed *bool `yaml:"app_claimed,omitempty"`
}

// Exit is how the workload ended: the shell's code (128+n when killed by
// signal n) and the signal's name, e.g. "segmentation fault".
type Exit = exitstatus.Record

// Lack is one lacking key that was called.
type Lack struct {
	Name  string `yaml:"name"`
	Calls uint64 `yaml:"calls"`
	// State is how the OS has it: absent (not listed), stubbed or faked.
	State string `yaml:"state"`
	// Returns is what the calls got: -ENOSYS, 0, -ENOENT or "empty file".
	Returns string `yaml:"returns"`
	// Rule says where the answer comes from: "FILE:LINE", "plan step N"
	// or "not listed".
	Rule     string        `yaml:"rule"`
	Binaries []BinaryCalls `yaml:"binaries"`
}

// BinaryCalls is how often one whitelisted binary made a call.
type BinaryCalls struct {
	Path  string `yaml:"path"`
	Calls uint64 `yaml:"calls"`
}

// End proves a report whole: it is written last and repeats the counts.
type End struct {
	Lacking     int `yaml:"lacking"`
	Features    int `yaml:"features"`
	PseudoFiles int `yaml:"pseudo_files"`
}

// Hits are the tracer's rule hits of a run: in total, and per whitelisted
// binary.
type Hits struct {
	Total    map[string]uint64
	ByBinary map[string]map[string]uint64
}

// Answer says how the OS answers key: its state (absent, stubbed, faked,
// implemented), what the call returns, and where the answer comes from.
type Answer func(key string) (state, returns, rule string)

// Build fills r's lacking lists from the hits: every key that a rule
// answered and that the OS does not implement. Keys the OS implements
// (never hit, since the tracer does not count Allow) are left out whatever
// the hits say.
func (r *Report) Build(h Hits, ans Answer) {
	r.Lacking, r.Features, r.PseudoFiles = nil, nil, nil
	for key, n := range h.Total {
		state, returns, rule := ans(key)
		if state == "implemented" || n == 0 {
			continue
		}
		l := Lack{Name: key, Calls: n, State: state, Returns: returns, Rule: rule, Binaries: []BinaryCalls{}}
		for path, hits := range h.ByBinary {
			if c := hits[key]; c > 0 {
				l.Binaries = append(l.Binaries, BinaryCalls{Path: path, Calls: c})
			}
		}
		sort.Slice(l.Binaries, func(i, j int) bool { return l.Binaries[i].Path < l.Binaries[j].Path })
		switch {
		case strings.HasPrefix(key, "/"):
			r.PseudoFiles = append(r.PseudoFiles, l)
		case strings.Contains(key, ":"):
			r.Features = append(r.Features, l)
		default:
			r.Lacking = append(r.Lacking, l)
		}
	}
	sortLacks(r.Lacking)
	sortLacks(r.Features)
	sortLacks(r.PseudoFiles)
	if r.Lacking == nil {
		r.Lacking = []Lack{}
	}
}

// sortLacks orders syscalls by number (unknown names after them), other
// keys by name.
func sortLacks(ls []Lack) {
	sort.Slice(ls, func(i, j int) bool { return sysent.AMD64.Less(ls[i].Name, ls[j].Name) })
}

// Marshal renders the report as YAML, with its end block.
func (r *Report) Marshal() ([]byte, error) {
	c := *r
	c.Schema = Schema
	if c.Lacking == nil {
		c.Lacking = []Lack{}
	}
	c.End = &End{Lacking: len(c.Lacking), Features: len(c.Features), PseudoFiles: len(c.PseudoFiles)}
	b, err := yamlenc.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("marshal simulation report: %w", err)
	}
	return b, nil
}

// ErrNotReport means the document is not a loupe simulation report.
var ErrNotReport = errors.New("not a loupe simulation report (schema key missing or different)")

// FieldError locates a problem in a report (Field is a dotted path, e.g.
// lacking[1].state).
type FieldError = located.Error

// ReadFile reads and checks a report.
func ReadFile(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse decodes and checks a report; name is used in errors, which are
// *FieldError (with the line and field where known) or wrap ErrNotReport.
// Unknown keys are ignored (later versions may add some); a report without
// its end block, or whose counts disagree with it, was cut short and is
// refused.
func Parse(name string, data []byte) (*Report, error) {
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
		return nil, fmt.Errorf("%s: %w", name, ErrNotReport)
	}
	if sch.Value != Schema {
		if strings.HasPrefix(sch.Value, "loupe/simulation/") {
			return nil, &FieldError{File: name, Line: sch.Line, Field: "schema",
				Msg: fmt.Sprintf("unsupported version %q (this loupe reads %s; upgrade loupe)", sch.Value, Schema)}
		}
		return nil, fmt.Errorf("%s: %w", name, ErrNotReport)
	}
	var r Report
	if err := doc.Decode(&r); err != nil {
		return nil, &FieldError{File: name, Msg: err.Error()}
	}
	bad := func(field string, format string, args ...any) error {
		line := 0
		if n := nodeAt(doc, field); n != nil {
			line = n.Line
		}
		return &FieldError{File: name, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if r.End == nil {
		return nil, &FieldError{File: name, Msg: "no end block: the report was cut short (run loupe simulate again)"}
	}
	if r.End.Lacking != len(r.Lacking) || r.End.Features != len(r.Features) || r.End.PseudoFiles != len(r.PseudoFiles) {
		return nil, bad("end", "the end block counts %d/%d/%d lacking/features/pseudo_files, the report holds %d/%d/%d: it was damaged",
			r.End.Lacking, r.End.Features, r.End.PseudoFiles, len(r.Lacking), len(r.Features), len(r.PseudoFiles))
	}
	if r.OS.Name == "" {
		return nil, bad("os.name", "empty")
	}
	if len(r.Command) == 0 {
		return nil, bad("command", "empty")
	}
	if r.Passed != r.Exit.Success() {
		return nil, bad("passed", "passed is %v but the exit status is %d%s", r.Passed, r.Exit.Code, r.Exit.Signal)
	}
	for _, f := range []struct {
		field string
		ls    []Lack
	}{{"lacking", r.Lacking}, {"features", r.Features}, {"pseudo_files", r.PseudoFiles}} {
		for i, l := range f.ls {
			switch {
			case l.Name == "":
				return nil, bad(fmt.Sprintf("%s[%d].name", f.field, i), "empty")
			case l.State != "absent" && l.State != "stubbed" && l.State != "faked":
				return nil, bad(fmt.Sprintf("%s[%d].state", f.field, i), "%q, want absent, stubbed or faked", l.State)
			}
		}
	}
	if p := r.Plan; p != nil && (p.Step < 0 || p.Step >= p.Steps) {
		return nil, bad("plan", "step %d of a plan of %d steps", p.Step, p.Steps)
	}
	return &r, nil
}

// nodeAt finds the node of a dotted field path ("lacking[1].state",
// "os.name"); nil when it is not in the document.
func nodeAt(n *yaml.Node, path string) *yaml.Node {
	for _, part := range strings.Split(path, ".") {
		key, idx, hasIdx := strings.Cut(part, "[")
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		if n = lookup(n, key); n == nil {
			return nil
		}
		if hasIdx {
			i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		}
	}
	return n
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// WriteSummary prints what a developer reads first: how the workload
// ended on the OS and what it called that the OS lacks.
func WriteSummary(w io.Writer, prefix string, r *Report) error {
	var b strings.Builder
	osDesc := fmt.Sprintf("%s (%d implemented, %d stubbed, %d faked)", r.OS.Name, r.OS.Implemented, r.OS.Stubbed, r.OS.Faked)
	status := "passed"
	if !r.Passed {
		status = "FAILED (exit " + fmt.Sprint(r.Exit.Code)
		if r.Exit.Signal != "" {
			status += ", " + r.Exit.Signal
		}
		status += ")"
	}
	fmt.Fprintf(&b, "%son %s the workload %s\n", prefix, osDesc, status)
	if p := r.Plan; p != nil {
		fmt.Fprintf(&b, "%splan step %d of %d (%s): the plan claims %s run", prefix, p.Step, p.Steps-1, p.Dataset, plural(len(p.Supported), "application"))
		if p.AppClaimed != nil {
			if *p.AppClaimed {
				fmt.Fprintf(&b, ", %s among them", r.App)
				if !r.Passed {
					b.WriteString(": the simulation contradicts the plan")
				}
			} else {
				fmt.Fprintf(&b, ", not %s", r.App)
			}
		}
		b.WriteString("\n")
	}
	for _, x := range []struct {
		what string
		ls   []Lack
	}{{"syscalls", r.Lacking}, {"sub-features", r.Features}, {"pseudo-files", r.PseudoFiles}} {
		if len(x.ls) == 0 {
			if x.what == "syscalls" {
				fmt.Fprintf(&b, "%sno syscall the OS lacks was called\n", prefix)
			}
			continue
		}
		fmt.Fprintf(&b, "%sthe workload called %s the OS lacks:\n", prefix, plural(len(x.ls), strings.TrimSuffix(x.what, "s")))
		width := 0
		for _, l := range x.ls {
			width = max(width, len(l.Name))
		}
		for _, l := range x.ls {
			var bins []string
			for _, bc := range l.Binaries {
				bins = append(bins, bc.Path)
			}
			fmt.Fprintf(&b, "%s  %-*s %8d  %-8s %-7s %s", prefix, width, l.Name, l.Calls, l.Returns, l.State, l.Rule)
			if len(bins) > 0 {
				fmt.Fprintf(&b, "  [%s]", strings.Join(bins, " "))
			}
			b.WriteString("\n")
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "%swarning: %s\n", prefix, wn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
