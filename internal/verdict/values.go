package verdict

import (
	"fmt"
	"strings"
)

// The values of the schema's enumerated fields. Each is a type with its
// values and a Parse, which the verdict reader and every option that takes
// one (loupe's flags, DEB_BUILD_OPTIONS, debian/loupe.yaml) use, so that a
// value is accepted, and refused, the same way everywhere. A Parse error
// says what is wanted ("want syscalls, features or pseudo-files"); the
// caller says where the value came from.

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

// Statuses are the statuses, in the schema's order.
var Statuses = []Status{StatusOK, StatusInsensitive, StatusBaselineFailed, StatusSkipped, StatusError, StatusNotExercised}

func (s Status) String() string { return string(s) }

// ParseStatus accepts the statuses of the schema.
func ParseStatus(s string) (Status, error) { return parse(s, Statuses, "one of %v") }

// Mode says how the verdict was obtained.
type Mode string

const (
	ModeTrace   Mode = "trace"   // one traced run: what is used, nothing tested
	ModeAnalyze Mode = "analyze" // the full method: stub/fake experiments
)

// Modes are the modes of the schema.
var Modes = []Mode{ModeTrace, ModeAnalyze}

func (m Mode) String() string { return string(m) }

// ParseMode accepts trace and analyze.
func ParseMode(s string) (Mode, error) { return parse(s, Modes, "") }

// Granularity is what the experiments were run on (and, for a trace, what
// was recorded).
type Granularity string

const (
	GranSyscalls    Granularity = "syscalls"     // whole syscalls
	GranFeatures    Granularity = "features"     // plus sub-features
	GranPseudoFiles Granularity = "pseudo-files" // plus sub-features and pseudo-files
)

// Granularities are the granularities, coarsest first.
var Granularities = []Granularity{GranSyscalls, GranFeatures, GranPseudoFiles}

func (g Granularity) String() string { return string(g) }

// ParseGranularity accepts syscalls, features and pseudo-files.
func ParseGranularity(s string) (Granularity, error) { return parse(s, Granularities, "") }

// Strategy is the search that chose an analysis's runs (Workload.Strategy).
type Strategy string

const (
	StrategyAdaptive   Strategy = "adaptive"   // group testing guided by priors
	StrategyExhaustive Strategy = "exhaustive" // every unit alone, N replicas
)

// Strategies are the strategies, the default first.
var Strategies = []Strategy{StrategyAdaptive, StrategyExhaustive}

func (s Strategy) String() string { return string(s) }

// ParseStrategy accepts adaptive and exhaustive.
func ParseStrategy(s string) (Strategy, error) { return parse(s, Strategies, "") }

// Follow is how an analysis's runs follow the workload's process tree:
// with seccomp user notification (notify) or ptrace; auto picks notify
// where it can be had (tracer.Follow; RunMetadata.Follow records the one
// used).
type Follow string

const (
	FollowAuto   Follow = "auto"
	FollowNotify Follow = "notify"
	FollowPtrace Follow = "ptrace"
)

// Follows are the follow settings, the default first.
var Follows = []Follow{FollowAuto, FollowNotify, FollowPtrace}

func (f Follow) String() string { return string(f) }

// ParseFollow accepts auto, notify and ptrace.
func ParseFollow(s string) (Follow, error) { return parse(s, Follows, "") }

// Better says which way a benchmark metric is better (Metric.Better).
type Better string

const (
	BetterHigher Better = "higher" // requests/s, MB/s
	BetterLower  Better = "lower"  // seconds
)

func (b Better) String() string { return string(b) }

// ParseBetter accepts higher and lower.
func ParseBetter(s string) (Better, error) { return parse(s, []Better{BetterHigher, BetterLower}, "") }

// Direction is which way an impact moved a metric.
type Direction string

const (
	Up   Direction = "up"
	Down Direction = "down"
)

func (d Direction) String() string { return string(d) }

// ParseDirection accepts up and down.
func ParseDirection(s string) (Direction, error) { return parse(s, []Direction{Up, Down}, "") }

// Effect says whether a benchmark metric's move is for the better.
type Effect string

const (
	EffectWorse  Effect = "worse"
	EffectBetter Effect = "better"
)

func (e Effect) String() string { return string(e) }

// ParseEffect accepts worse and better.
func ParseEffect(s string) (Effect, error) { return parse(s, []Effect{EffectWorse, EffectBetter}, "") }

// EffectOf is the effect of a move in direction d on a metric for which
// better is better.
func EffectOf(d Direction, better Better) Effect {
	if (d == Up) == (better == BetterHigher) {
		return EffectBetter
	}
	return EffectWorse
}

// parse returns s as a T if it is one of values, else an error saying what
// is wanted: "want a, b or c", or with format (given the values) instead of
// the list.
func parse[T ~string](s string, values []T, format string) (T, error) {
	for _, v := range values {
		if string(v) == s {
			return v, nil
		}
	}
	if format != "" {
		return "", fmt.Errorf("want "+format, values)
	}
	return "", fmt.Errorf("want %s", orList(values))
}

// orList says "a, b or c".
func orList[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
