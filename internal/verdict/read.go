package verdict

// Reading a verdict: Parse decodes and validates, and every error names the
// file, the line and the field (a FieldError).

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"salsa.debian.org/loupe-team/loupe/internal/located"
	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// ReadFile reads and validates a verdict file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// FieldError locates a problem in a verdict file (Field is a dotted path,
// e.g. binaries[0].syscalls[3].stub).
type FieldError = located.Error

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
	// unknown checks an enumerated field with its Parse.
	unknown := func(path []any, what, v string, parse func(string) error) error {
		if err := parse(v); err != nil {
			return bad(path, fmt.Sprintf("unknown %s %q (%v)", what, v, err))
		}
		return nil
	}
	optional := func(parse func(string) error) func(string) error {
		return func(v string) error {
			if v == "" {
				return nil
			}
			return parse(v)
		}
	}
	if err := unknown([]any{"status"}, "status", string(f.Status), check(ParseStatus)); err != nil {
		return err
	}
	if err := unknown([]any{"mode"}, "mode", string(f.Mode), check(ParseMode)); err != nil {
		return err
	}
	if err := unknown([]any{"granularity"}, "granularity", string(f.Granularity), optional(check(ParseGranularity))); err != nil {
		return err
	}
	if f.Workload.Replicas < 0 {
		return bad([]any{"workload", "replicas"}, "negative replica count")
	}
	if err := unknown([]any{"workload", "strategy"}, "strategy", string(f.Workload.Strategy), optional(check(ParseStrategy))); err != nil {
		return err
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
			if err := unknown(append(path, "impact", k, "direction"), "direction", string(im.Direction), check(ParseDirection)); err != nil {
				return err
			}
			if err := unknown(append(path, "impact", k, "effect"), "effect", string(im.Effect), optional(check(ParseEffect))); err != nil {
				return err
			}
		}
		return nil
	}
	for k, im := range f.CombinationImpact {
		if err := unknown([]any{"combination_impact", k, "direction"}, "direction", string(im.Direction), check(ParseDirection)); err != nil {
			return err
		}
		if err := unknown([]any{"combination_impact", k, "effect"}, "effect", string(im.Effect), optional(check(ParseEffect))); err != nil {
			return err
		}
	}
	if m := f.Workload.Metric; m != nil {
		if _, err := ParseBetter(string(m.Better)); err != nil {
			return bad([]any{"workload", "metric", "better"}, fmt.Sprintf("%q, %v", m.Better, err))
		}
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

// check drops the value of a Parse, for validation.
func check[T any](parse func(string) (T, error)) func(string) error {
	return func(s string) error {
		_, err := parse(s)
		return err
	}
}
