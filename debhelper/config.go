package debhelper

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/located"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// ConfigFile is where a package keeps its loupe settings.
const ConfigFile = "debian/loupe.yaml"

// Config is a package's debian/loupe.yaml. Every key is optional:
//
//	mode: trace            # off | trace | analyze; setting it asks for verdicts
//	strict: false          # loupe's own errors fail the build
//	replicas: 3            # analyze: runs per experiment (1 to 100)
//	jobs: 2                # analyze: runs at once (1 to 256; default: parallel=N, else 1)
//	timeout: 30m           # analyze: per run, at most 24h (default, or 0: from the baseline)
//	granularity: syscalls  # analyze: syscalls | features | pseudo-files
//	strategy: adaptive     # analyze: adaptive | exhaustive
//	follow: auto           # analyze: auto | notify | ptrace (how runs follow the tree)
//	binaries:
//	  add:                 # build-tree executables to count as shipped
//	    - path: debian/build-x/foo   # glob, relative to the source tree
//	      package: foo               # needed when several packages are built
//	      installed: /usr/bin/foo    # optional: the name to report
//	  exclude:             # never the package's (kept as test helpers)
//	    - tests/*          # glob: build-tree path (relative) or installed path (absolute)
//	stand-ins:             # test-only variants: build-tree path (or glob) → installed path
//	  src/foo-debug: /usr/bin/foo
//	helpers: compact       # compact | full: test helpers' syscall lists too
//
// DEB_BUILD_OPTIONS loupe=... wins over the file, setting by setting.
type Config struct {
	File string
	Tuning
	Add      []AddRule
	Exclude  []string
	StandIns []StandIn
}

// StandIn is a test-only variant of a shipped binary (a -debug, gcov or
// static build that the test suite runs instead of it): its runs stand for
// the installed binary's.
type StandIn struct {
	Path      string // path.Match glob relative to the source tree
	Installed string // clean absolute path of the binary it stands for
	Line      int    // in the config file, for messages
}

// Where names the declaration in messages: "debian/loupe.yaml:7".
func (s StandIn) Where(file string) string { return fmt.Sprintf("%s:%d", file, s.Line) }

// AddRule makes matching build-tree executables part of a package.
type AddRule struct {
	Path      string // path.Match glob relative to the source tree
	Package   string
	Installed string // absolute; "" reports the build-tree path
}

// Claims reports whether the executable at p (absolute, or relative to
// srcDir) matches a binaries.add or a stand-ins glob: the tracer must
// record it even where it would not (under debian/).
func (c *Config) Claims(srcDir, p string) bool {
	if c == nil {
		return false
	}
	rel, ok := relPath(srcDir, p)
	if !ok {
		return false
	}
	if _, ok := matchStandIn(c.StandIns, rel); ok {
		return true
	}
	_, ok = matchAdd(c.Add, rel)
	return ok
}

// Globs are the build-tree globs of binaries.add and stand-ins.
func (c *Config) Globs() []string {
	var out []string
	for _, s := range c.StandIns {
		out = append(out, s.Path)
	}
	for _, r := range c.Add {
		out = append(out, r.Path)
	}
	return out
}

// ConfigError locates a problem in debian/loupe.yaml.
type ConfigError = located.Error

// LoadConfig reads debian/loupe.yaml under dir; it returns (nil, nil) when
// the file does not exist. packages are the binary packages of
// debian/control, against which package names are checked.
func LoadConfig(dir string, packages []string) (*Config, error) {
	name := ConfigFile
	data, err := os.ReadFile(path.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return ParseConfig(name, data, packages)
}

// ParseConfig parses and validates a loupe.yaml document; name is used in
// errors.
func ParseConfig(name string, data []byte, packages []string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if n, after, ok := strings.Cut(rest, ":"); ok {
				if l, err := strconv.Atoi(n); err == nil {
					line, msg = l, strings.TrimSpace(after)
				}
			}
		}
		return nil, &ConfigError{File: name, Line: line, Msg: "invalid YAML: " + msg}
	}
	c := &Config{File: name}
	if len(root.Content) == 0 {
		return c, nil // empty file
	}
	p := configParser{name: name, packages: packages}
	if err := p.top(root.Content[0], c); err != nil {
		return nil, err
	}
	return c, nil
}

type configParser struct {
	name     string
	packages []string
}

func (p configParser) errf(n *yaml.Node, field, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &ConfigError{File: p.name, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// fields checks that n is a mapping with known, unique keys and returns
// key → (key node, value node).
func (p configParser) fields(n *yaml.Node, field string, known ...string) (map[string][2]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		what := "the top level"
		if field != "" {
			what = "field " + field
		}
		return nil, &ConfigError{File: p.name, Line: n.Line, Msg: what + ": expected a mapping (key: value lines), found " + kindName(n)}
	}
	out := map[string][2]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		full := join(field, k.Value)
		if !contains(known, k.Value) {
			return nil, p.errf(k, full, "unknown key (known keys: %s)", strings.Join(known, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, p.errf(k, full, "given twice")
		}
		out[k.Value] = [2]*yaml.Node{k, v}
	}
	return out, nil
}

func (p configParser) top(n *yaml.Node, c *Config) error {
	f, err := p.fields(n, "", "mode", "strict", "replicas", "jobs", "timeout", "granularity", "helpers", "strategy", "follow", "binaries", "stand-ins")
	if err != nil {
		return err
	}
	if kv, ok := f["mode"]; ok {
		v := kv[1]
		m, ok := parseMode(v.Value)
		if v.Kind != yaml.ScalarNode || !ok {
			return p.errf(v, "mode", "unknown mode %q (want off, trace or analyze)", v.Value)
		}
		c.Mode = m
	}
	if kv, ok := f["strict"]; ok {
		var b bool
		if err := kv[1].Decode(&b); err != nil || kv[1].Tag != "!!bool" {
			return p.errf(kv[1], "strict", "want true or false, found %q", kv[1].Value)
		}
		c.Strict = &b
	}
	for _, key := range []string{"replicas", "jobs"} {
		kv, ok := f[key]
		if !ok {
			continue
		}
		n, err := limits.ParseCount("", kv[1].Value, 1, countMax[key])
		if kv[1].Kind != yaml.ScalarNode || err != nil {
			return p.errf(kv[1], key, "want %s, found %q", limits.CountWant(1, countMax[key]), kv[1].Value)
		}
		if key == "replicas" {
			c.Replicas = n
		} else {
			c.Jobs = n
		}
	}
	if kv, ok := f["timeout"]; ok {
		d, err := limits.ParseTimeout("", kv[1].Value)
		if kv[1].Kind != yaml.ScalarNode || err != nil {
			return p.errf(kv[1], "timeout", "want %s, found %q", limits.TimeoutWant, kv[1].Value)
		}
		c.Timeout, c.TimeoutAuto = d, d == 0
	}
	if err := setting(p, f, "granularity", verdict.ParseGranularity, &c.Granularity); err != nil {
		return err
	}
	if kv, ok := f["helpers"]; ok {
		h, ok := ParseHelperDetail(kv[1].Value)
		if kv[1].Kind != yaml.ScalarNode || !ok {
			return p.errf(kv[1], "helpers", "want compact or full, found %q", kv[1].Value)
		}
		c.Helpers = h
	}
	if err := setting(p, f, "strategy", verdict.ParseStrategy, &c.Strategy); err != nil {
		return err
	}
	if err := setting(p, f, "follow", verdict.ParseFollow, &c.Follow); err != nil {
		return err
	}
	if kv, ok := f["binaries"]; ok {
		if err := p.binaries(kv[1], c); err != nil {
			return err
		}
	}
	if kv, ok := f["stand-ins"]; ok {
		if err := p.standIns(kv[1], c); err != nil {
			return err
		}
	}
	return nil
}

// standIns reads the stand-ins mapping: build-tree path (or glob) →
// installed path. Which package ships the installed path is known only
// after install; dh_loupe_verdict says so when none does.
func (p configParser) standIns(n *yaml.Node, c *Config) error {
	if n.Kind != yaml.MappingNode {
		return &ConfigError{File: p.name, Line: n.Line,
			Msg: "field stand-ins: expected a mapping of build-tree paths to installed paths (src/foo-debug: /usr/bin/foo), found " + kindName(n)}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := "stand-ins." + k.Value
		if k.Kind != yaml.ScalarNode || k.Value == "" || path.IsAbs(k.Value) || path.Clean(k.Value) != k.Value ||
			k.Value == "." || strings.HasPrefix(k.Value, "../") || k.Value == ".." {
			return p.errf(k, field, "want a clean build-tree path relative to the source tree (src/foo-debug), found %s", kindName(k))
		}
		if _, err := path.Match(k.Value, ""); err != nil {
			return p.errf(k, field, "bad glob %q: %v", k.Value, err)
		}
		if seen[k.Value] {
			return p.errf(k, field, "given twice")
		}
		seen[k.Value] = true
		if v.Kind != yaml.ScalarNode || !path.IsAbs(v.Value) || path.Clean(v.Value) != v.Value {
			return p.errf(v, field, "want the clean absolute installed path it stands for (/usr/bin/foo), found %s", kindName(v))
		}
		if strings.ContainsAny(v.Value, "*?[\\") {
			return p.errf(v, field, "want one installed path, not a glob, found %q", v.Value)
		}
		c.StandIns = append(c.StandIns, StandIn{Path: k.Value, Installed: v.Value, Line: k.Line})
	}
	return nil
}

func (p configParser) binaries(n *yaml.Node, c *Config) error {
	f, err := p.fields(n, "binaries", "add", "exclude")
	if err != nil {
		return err
	}
	if kv, ok := f["add"]; ok {
		seq := kv[1]
		if seq.Kind != yaml.SequenceNode {
			return p.errf(seq, "binaries.add", "expected a list, found %s", kindName(seq))
		}
		for i, e := range seq.Content {
			field := fmt.Sprintf("binaries.add[%d]", i)
			r, err := p.addRule(e, field)
			if err != nil {
				return err
			}
			c.Add = append(c.Add, r)
		}
	}
	if kv, ok := f["exclude"]; ok {
		seq := kv[1]
		if seq.Kind != yaml.SequenceNode {
			return p.errf(seq, "binaries.exclude", "expected a list, found %s", kindName(seq))
		}
		for i, e := range seq.Content {
			field := fmt.Sprintf("binaries.exclude[%d]", i)
			if e.Kind != yaml.ScalarNode || e.Value == "" {
				return p.errf(e, field, "expected a path glob, found %s", kindName(e))
			}
			if _, err := path.Match(e.Value, ""); err != nil {
				return p.errf(e, field, "bad glob %q: %v", e.Value, err)
			}
			c.Exclude = append(c.Exclude, e.Value)
		}
	}
	return nil
}

func (p configParser) addRule(e *yaml.Node, field string) (AddRule, error) {
	var r AddRule
	var pathNode, pkgNode *yaml.Node
	switch e.Kind {
	case yaml.ScalarNode:
		r.Path, pathNode = e.Value, e
	case yaml.MappingNode:
		f, err := p.fields(e, field, "path", "package", "installed")
		if err != nil {
			return r, err
		}
		kv, ok := f["path"]
		if !ok {
			return r, p.errf(e, field+".path", "missing (the build-tree path or glob of the executable)")
		}
		r.Path, pathNode = kv[1].Value, kv[1]
		if kv, ok := f["package"]; ok {
			r.Package, pkgNode = kv[1].Value, kv[1]
		}
		if kv, ok := f["installed"]; ok {
			r.Installed = kv[1].Value
			if !path.IsAbs(r.Installed) || path.Clean(r.Installed) != r.Installed {
				return r, p.errf(kv[1], field+".installed", "want a clean absolute path such as /usr/bin/foo, found %q", r.Installed)
			}
		}
	default:
		return r, p.errf(e, field, "expected a path or a mapping with path, package and installed, found %s", kindName(e))
	}
	if r.Path == "" || path.IsAbs(r.Path) || strings.HasPrefix(path.Clean(r.Path), "..") {
		return r, p.errf(pathNode, field+".path", "want a path relative to the source tree, found %q", r.Path)
	}
	if _, err := path.Match(r.Path, ""); err != nil {
		return r, p.errf(pathNode, field+".path", "bad glob %q: %v", r.Path, err)
	}
	switch {
	case r.Package == "" && len(p.packages) == 1:
		r.Package = p.packages[0]
	case r.Package == "" && len(p.packages) > 1:
		return r, p.errf(e, field+".package", "missing: this source builds %d packages (%s); say which one ships %s",
			len(p.packages), strings.Join(p.packages, ", "), r.Path)
	case r.Package != "" && len(p.packages) > 0 && !contains(p.packages, r.Package):
		return r, p.errf(pkgNode, field+".package", "%q is not a binary package of debian/control (%s)",
			r.Package, strings.Join(p.packages, ", "))
	}
	return r, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Value == "" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sortedUnique sorts and de-duplicates a list of strings.
func sortedUnique(in []string) []string {
	out := append([]string{}, in...)
	sort.Strings(out)
	j := 0
	for i, s := range out {
		if i == 0 || s != out[j-1] {
			out[j] = s
			j++
		}
	}
	return out[:j]
}

// setting reads the scalar field key of f, if given, with parse (one of
// the verdict schema's), into *to; the error names the line and says what
// parse wants.
func setting[T any](p configParser, f map[string][2]*yaml.Node, key string, parse func(string) (T, error), to *T) error {
	kv, ok := f[key]
	if !ok {
		return nil
	}
	v, err := parse(scalar(kv[1]))
	if err != nil {
		return p.errf(kv[1], key, "%v, found %q", err, kv[1].Value)
	}
	*to = v
	return nil
}

// scalar is a node's value if it is a scalar, else "" (which no setting
// accepts).
func scalar(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
