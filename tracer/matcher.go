package tracer

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/exeid"
)

// Exe is an executable as a matcher sees it: a resolved path whose content
// identity is computed only if a matcher asks for it.
type Exe struct {
	Path  string // resolved, absolute
	cache *exeid.Cache
	sums  *exeid.Sums
	err   error
}

// NewExe describes the executable at a resolved path. A nil cache is allowed.
func NewExe(path string, cache *exeid.Cache) *Exe { return &Exe{Path: path, cache: cache} }

// Sums returns the build-id and sha256, computing them at most once.
func (e *Exe) Sums() (exeid.Sums, error) {
	if e.sums == nil && e.err == nil {
		s, err := e.cache.Sums(e.Path)
		e.sums, e.err = &s, err
	}
	if e.err != nil {
		return exeid.Sums{}, e.err
	}
	return *e.sums, nil
}

// Matcher decides whether an executable is in scope. Matchers compose with
// MatchAny, MatchAll and MatchNot. Match may be called from several
// goroutines at once (the tracer probes script arguments off its loop).
type Matcher interface {
	Match(e *Exe) bool
	String() string
}

type pathMatcher struct{ paths map[string]bool }

// MatchPath matches executables whose resolved path is one of paths. The
// paths are resolved (symlinks, relative to the current directory) now; a
// path that does not exist is an error.
func MatchPath(paths ...string) (Matcher, error) {
	m := pathMatcher{paths: map[string]bool{}}
	for _, p := range paths {
		r, err := resolve(p)
		if err != nil {
			return nil, fmt.Errorf("whitelist binary %s: %w", p, err)
		}
		m.paths[r] = true
	}
	return m, nil
}

func (m pathMatcher) Match(e *Exe) bool { return m.paths[e.Path] }
func (m pathMatcher) String() string    { return "path(" + strings.Join(sortedKeys(m.paths), ",") + ")" }

type prefixMatcher struct {
	dir     string
	exclude []string
}

// MatchPrefix matches executables under dir, except those under any of the
// excluded directories. dh_loupe uses it for "anything built in the tree
// except debian/". dir and exclusions are made absolute and resolved where
// they exist.
func MatchPrefix(dir string, exclude ...string) (Matcher, error) {
	d, err := resolveLoose(dir)
	if err != nil {
		return nil, err
	}
	m := prefixMatcher{dir: d}
	for _, x := range exclude {
		if !filepath.IsAbs(x) {
			x = filepath.Join(d, x)
		}
		r, err := resolveLoose(x)
		if err != nil {
			return nil, err
		}
		m.exclude = append(m.exclude, r)
	}
	sort.Strings(m.exclude)
	return m, nil
}

func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

func (m prefixMatcher) Match(e *Exe) bool {
	if !under(e.Path, m.dir) {
		return false
	}
	for _, x := range m.exclude {
		if under(e.Path, x) {
			return false
		}
	}
	return true
}

func (m prefixMatcher) String() string {
	s := "prefix(" + m.dir
	for _, x := range m.exclude {
		s += ",-" + x
	}
	return s + ")"
}

type buildIDMatcher struct{ ids map[string]bool }

// MatchBuildID matches ELF executables by GNU build-id (hex, any case).
func MatchBuildID(ids ...string) Matcher {
	m := buildIDMatcher{ids: map[string]bool{}}
	for _, id := range ids {
		m.ids[strings.ToLower(id)] = true
	}
	return m
}

func (m buildIDMatcher) Match(e *Exe) bool {
	s, err := e.Sums()
	return err == nil && s.BuildID != "" && m.ids[s.BuildID]
}
func (m buildIDMatcher) String() string {
	return "build-id(" + strings.Join(sortedKeys(m.ids), ",") + ")"
}

type shaMatcher struct{ sums map[string]bool }

// MatchSHA256 matches executables (or scripts) by content hash.
func MatchSHA256(sums ...string) Matcher {
	m := shaMatcher{sums: map[string]bool{}}
	for _, s := range sums {
		m.sums[strings.ToLower(s)] = true
	}
	return m
}

func (m shaMatcher) Match(e *Exe) bool {
	s, err := e.Sums()
	return err == nil && m.sums[s.SHA256]
}
func (m shaMatcher) String() string { return "sha256(" + strings.Join(sortedKeys(m.sums), ",") + ")" }

type anyMatcher []Matcher

// MatchAny matches when any of ms matches; cheap matchers should come first,
// since evaluation stops at the first match.
func MatchAny(ms ...Matcher) Matcher { return anyMatcher(ms) }

func (m anyMatcher) Match(e *Exe) bool {
	for _, x := range m {
		if x.Match(e) {
			return true
		}
	}
	return false
}
func (m anyMatcher) String() string { return "any(" + joinMatchers(m) + ")" }

type allMatcher []Matcher

// MatchAll matches when every one of ms matches.
func MatchAll(ms ...Matcher) Matcher { return allMatcher(ms) }

func (m allMatcher) Match(e *Exe) bool {
	for _, x := range m {
		if !x.Match(e) {
			return false
		}
	}
	return len(m) > 0
}
func (m allMatcher) String() string { return "all(" + joinMatchers(m) + ")" }

type notMatcher struct{ m Matcher }

// MatchNot inverts a matcher.
func MatchNot(m Matcher) Matcher       { return notMatcher{m} }
func (m notMatcher) Match(e *Exe) bool { return !m.m.Match(e) }
func (m notMatcher) String() string    { return "not(" + m.m.String() + ")" }
func joinMatchers(ms []Matcher) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return strings.Join(s, ",")
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// resolve makes p absolute and resolves symlinks; p must exist.
func resolve(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(a)
}

// resolveLoose is resolve for paths that may not exist yet.
func resolveLoose(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(a); err == nil {
		return r, nil
	}
	return filepath.Clean(a), nil
}
