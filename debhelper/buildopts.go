package debhelper

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// BuildOptions is a parsed DEB_BUILD_OPTIONS, with dpkg's semantics
// (Dpkg::BuildOptions): blank-separated "key" or "key=value" flags, keys
// matching [a-z][a-z0-9_-]*, invalid flags ignored, and a later flag
// replacing an earlier one with the same key. So of several "loupe=" flags
// only the last counts.
type BuildOptions struct {
	values map[string]string
	has    map[string]bool // key present
	// Invalid lists flags dpkg would ignore with a warning.
	Invalid []string
}

var dboFlag = regexp.MustCompile(`^([a-z][a-z0-9_-]*)(?:=(\S*))?$`)

// ParseBuildOptions parses a DEB_BUILD_OPTIONS value.
func ParseBuildOptions(s string) BuildOptions {
	b := BuildOptions{values: map[string]string{}, has: map[string]bool{}}
	for _, f := range strings.Fields(s) {
		m := dboFlag.FindStringSubmatch(f)
		if m == nil {
			b.Invalid = append(b.Invalid, f)
			continue
		}
		key, val := m[1], m[2]
		switch key {
		case "terse", "noopt", "nostrip", "nocheck":
			val = "" // dpkg drops values of these
		case "parallel":
			if _, err := strconv.Atoi(val); val != "" && err != nil {
				continue // dpkg refuses a non-numeric parallel=
			}
		}
		b.values[key], b.has[key] = val, true
	}
	return b
}

// Has reports whether key is present.
func (b BuildOptions) Has(key string) bool { return b.has[key] }

// Get returns the value of key and whether key is present.
func (b BuildOptions) Get(key string) (string, bool) { return b.values[key], b.has[key] }

// Parallel returns the parallel=N value, or 1.
func (b BuildOptions) Parallel() int {
	if v, ok := b.Get("parallel"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

// NoCheck reports whether the test step is to be skipped: nocheck in
// DEB_BUILD_OPTIONS or in DEB_BUILD_PROFILES (dh copies the profile into
// DEB_BUILD_OPTIONS, but a build that does not use dh may not).
func NoCheck(env []string) bool {
	if ParseBuildOptions(Getenv(env, "DEB_BUILD_OPTIONS")).Has("nocheck") {
		return true
	}
	for _, p := range strings.Fields(Getenv(env, "DEB_BUILD_PROFILES")) {
		if p == "nocheck" {
			return true
		}
	}
	return false
}

// Mode is what loupe does with a package's test step.
type Mode string

const (
	// ModeOff runs the test step exactly as without loupe.
	ModeOff Mode = "off"
	// ModeTrace traces the test step once: which syscalls each shipped
	// binary uses.
	ModeTrace Mode = "trace"
	// ModeAnalyze runs the full method: baseline replicas, sensitivity
	// control, stub/fake experiments and confirmation.
	ModeAnalyze Mode = "analyze"
)

func parseMode(s string) (Mode, bool) {
	switch m := Mode(s); m {
	case ModeOff, ModeTrace, ModeAnalyze:
		return m, true
	}
	return "", false
}

// Tuning is a set of loupe settings from one place (DEB_BUILD_OPTIONS or
// debian/loupe.yaml). Zero values mean "not set here".
type Tuning struct {
	Mode     Mode
	Strict   *bool
	Replicas int
	Jobs     int
	Timeout  time.Duration
	// TimeoutAuto is set by an explicit timeout=0 or timeout=auto: the
	// automatic timeout, overriding one set elsewhere.
	TimeoutAuto bool
	// Granularity selects the units the analysis tests (analyze mode).
	Granularity verdict.Granularity
	// Strategy is the analysis's search: adaptive or exhaustive.
	Strategy verdict.Strategy
	// Follow is how the analysis's runs follow the process tree.
	Follow verdict.Follow
	// Helpers says how much of the test helpers a verdict lists.
	Helpers HelperDetail
}

// HelperDetail is how much of the test helpers a verdict lists.
type HelperDetail string

const (
	// HelpersCompact lists each helper's path and process count: a suite
	// may run hundreds of them, and their syscalls are not the package's.
	HelpersCompact HelperDetail = "compact"
	// HelpersFull also lists their syscalls, sub-features and pseudo-files.
	HelpersFull HelperDetail = "full"
)

// ParseHelperDetail accepts compact or full.
func ParseHelperDetail(s string) (HelperDetail, bool) {
	switch h := HelperDetail(s); h {
	case HelpersCompact, HelpersFull:
		return h, true
	}
	return "", false
}

// LoupeOptionError is a bad "loupe=" value in DEB_BUILD_OPTIONS.
type LoupeOptionError struct {
	Value string
	Msg   string
}

func (e *LoupeOptionError) Error() string {
	return fmt.Sprintf("DEB_BUILD_OPTIONS: loupe=%s: %s (grammar: loupe=off|trace|analyze[,strict][,replicas=N][,jobs=N][,timeout=DURATION][,granularity=syscalls|features|pseudo-files][,helpers=compact|full][,strategy=adaptive|exhaustive][,follow=auto|notify|ptrace])", e.Value, e.Msg)
}

// ParseLoupeOption parses the value of the loupe= build option:
// off|trace|analyze[,strict][,replicas=N][,jobs=N][,timeout=D]
// [,granularity=syscalls|features|pseudo-files][,helpers=compact|full]
// [,strategy=adaptive|exhaustive][,follow=auto|notify|ptrace]. The parts
// may come in any order. On error the Tuning still holds what could be
// read, so that "strict" is honoured even next to a typo.
func ParseLoupeOption(v string) (Tuning, error) {
	var t Tuning
	var errs []string
	for _, part := range strings.Split(v, ",") {
		key, val, hasVal := strings.Cut(part, "=")
		switch {
		case part == "":
			errs = append(errs, "empty element")
		case !hasVal && key == "strict":
			yes := true
			t.Strict = &yes
		case !hasVal:
			m, ok := parseMode(key)
			switch {
			case !ok:
				errs = append(errs, fmt.Sprintf("unknown mode or flag %q", key))
			case t.Mode != "" && t.Mode != m:
				errs = append(errs, fmt.Sprintf("two modes, %s and %s", t.Mode, m))
			default:
				t.Mode = m
			}
		case key == "replicas" || key == "jobs":
			n, err := limits.ParseCount(key+"=", val, 1, countMax[key])
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			if key == "replicas" {
				t.Replicas = n
			} else {
				t.Jobs = n
			}
		case key == "timeout":
			d, err := limits.ParseTimeout(key+"=", val)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			t.Timeout, t.TimeoutAuto = d, d == 0
		case key == "helpers":
			h, ok := ParseHelperDetail(val)
			if !ok {
				errs = append(errs, fmt.Sprintf("helpers=%q: want compact or full", val))
				continue
			}
			t.Helpers = h
		case key == "granularity":
			g, err := verdict.ParseGranularity(val)
			if err != nil {
				errs = append(errs, fmt.Sprintf("granularity=%q: %v", val, err))
				continue
			}
			t.Granularity = g
		case key == "strategy":
			st, err := verdict.ParseStrategy(val)
			if err != nil {
				errs = append(errs, fmt.Sprintf("strategy=%q: %v", val, err))
				continue
			}
			t.Strategy = st
		case key == "follow":
			f, err := verdict.ParseFollow(val)
			if err != nil {
				errs = append(errs, fmt.Sprintf("follow=%q: %v", val, err))
				continue
			}
			t.Follow = f
		default:
			errs = append(errs, fmt.Sprintf("unknown setting %q", key))
		}
	}
	if len(errs) > 0 {
		return t, &LoupeOptionError{Value: v, Msg: strings.Join(errs, "; ")}
	}
	return t, nil
}

// countMax bounds the counts of loupe= and debian/loupe.yaml.
var countMax = map[string]int{"replicas": limits.MaxReplicas, "jobs": limits.MaxJobs}
