package pkganalyze

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Runner executes one workload run. The concrete Runner (package
// pkganalyze/runner) uses the tracer; tests feed recorded outcomes.
//
// Run returns an error only when the run could not be made or was
// interrupted (ctx cancelled): loupe's failure, not the workload's. A
// workload that fails, crashes or exceeds spec.Timeout is a normal Outcome
// with Pass false. After ctx is cancelled Run must have killed what it
// started before returning.
//
// Run is called concurrently when Config.Jobs > 1; a Runner that cannot run
// concurrently must serialise internally.
type Runner interface {
	Run(ctx context.Context, spec RunSpec) (Outcome, error)
}

// Kind is the purpose of a run.
type Kind string

const (
	// KindBaseline runs observe what the binaries use (recorded, no rule).
	KindBaseline Kind = "baseline"
	// KindReference runs are unrecorded and untouched: the noise reference
	// for impact, at the same tracing cost as experiments.
	KindReference Kind = "reference"
	// KindSensitivity is the run with every whitelisted process killed.
	KindSensitivity Kind = "sensitivity"
	// KindExperiment runs stub or fake one unit.
	KindExperiment Kind = "experiment"
	// KindGroup runs stub or fake several units at once (strategy
	// adaptive): a pass credits every unit whose rule fired.
	KindGroup Kind = "group"
	// KindConfirmation runs apply every stub and fake that held at once.
	KindConfirmation Kind = "confirmation"
	// KindCulprit runs are delta-debugging probes after a failed
	// confirmation.
	KindCulprit Kind = "culprit"
)

// Action is what an intervention does to a feature.
type Action string

const (
	Stub Action = "stub" // fail with ENOSYS (ENOENT for a pseudo-file)
	Fake Action = "fake" // succeed without doing anything
	Kill Action = "kill" // kill the process (sensitivity control, feature "*")
)

// AllFeatures is the feature key that matches every syscall.
const AllFeatures = "*"

// Intervention applies an Action to every use of a feature by every
// whitelisted process, and never to other processes.
type Intervention struct {
	Feature string `json:"feature"`
	Action  Action `json:"action"`
}

func (i Intervention) String() string { return i.Feature + "=" + string(i.Action) }

// Record is how much a run records about the whitelisted processes. Levels
// are cumulative.
type Record int

const (
	RecordNone        Record = iota // exit status, processes and resources only
	RecordSyscalls                  // plus syscall counts
	RecordFeatures                  // plus sub-features
	RecordPseudoFiles               // plus pseudo-files
)

func (r Record) String() string {
	switch r {
	case RecordNone:
		return "none"
	case RecordSyscalls:
		return "syscalls"
	case RecordFeatures:
		return "features"
	case RecordPseudoFiles:
		return "pseudo-files"
	}
	return fmt.Sprintf("record(%d)", int(r))
}

// CountsSeen is RunSpec.Counts for runs that record which features are
// used, not how often.
const CountsSeen = "seen"

// RunSpec is one run the engine asks for.
type RunSpec struct {
	Kind    Kind `json:"kind"`
	Replica int  `json:"replica"`
	// Interventions are sorted by Feature; a feature appears once.
	Interventions []Intervention `json:"interventions,omitempty"`
	Record        Record         `json:"record"`
	// Counts is CountsSeen for a recorded run that needs to know which
	// syscalls and sub-features the binaries use, not how often: its
	// counts are lower bounds (tracer.CountsSeen). "" counts every call.
	Counts string `json:"counts,omitempty"`
	// Timeout kills the run's whole tree; 0 means no limit. A run that
	// exceeds it is an Outcome with TimedOut and Pass false.
	Timeout time.Duration `json:"timeout,omitempty"`
}

func (s RunSpec) String() string {
	var b strings.Builder
	b.WriteString(string(s.Kind))
	if len(s.Interventions) > 0 {
		b.WriteByte(' ')
		b.WriteString(interventionsString(s.Interventions))
	}
	fmt.Fprintf(&b, " #%d", s.Replica+1)
	return b.String()
}

func interventionsString(iv []Intervention) string {
	parts := make([]string, len(iv))
	for i, x := range iv {
		parts[i] = x.String()
	}
	if len(parts) > 4 {
		return fmt.Sprintf("%s,... (%d rules)", strings.Join(parts[:3], ","), len(parts))
	}
	return strings.Join(parts, ",")
}

// sortInterventions sorts by feature key, the canonical order used in run
// keys and verdicts.
func sortInterventions(iv []Intervention) []Intervention {
	out := append([]Intervention(nil), iv...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Feature != out[j].Feature {
			return out[i].Feature < out[j].Feature
		}
		return out[i].Action < out[j].Action
	})
	return out
}

// Outcome is what one run did.
type Outcome struct {
	// Pass is true when the workload exited 0 within its timeout.
	Pass bool `json:"pass"`
	// Exit describes how the workload's root process ended ("exit 1",
	// "killed by signal 9 (killed)", "killed by the timeout"); ExitCode is the
	// shell-style status (128+signal).
	Exit     string `json:"exit"`
	ExitCode int    `json:"exit_code"`
	TimedOut bool   `json:"timed_out,omitempty"`
	// Wall is the run's duration.
	Wall time.Duration `json:"wall"`
	// Effective is the run's load-corrected duration: Wall minus the time
	// its processes waited for a CPU (see pkganalyze/runner). Timeouts are
	// derived from it, so that a loaded machine does not make runs look
	// hung. Zero when the runner cannot measure it; Wall is used then.
	Effective time.Duration `json:"effective,omitempty"`
	// Output is the tail of the workload's combined stdout and stderr.
	Output string `json:"output,omitempty"`
	// Metric is the benchmark metric read from the whole output, with
	// Config.Metric; nil when the output did not match.
	Metric *float64 `json:"metric,omitempty"`
	// Binaries are the whitelisted executables that ran, sorted by Path.
	Binaries []BinaryUse `json:"binaries,omitempty"`
	// RuleHits counts, per intervention feature, how often its rule fired.
	// A rule that never fired did not change the run.
	RuleHits map[string]uint64 `json:"rule_hits,omitempty"`
}

// duration is the time the timeout compares: Effective when measured,
// else Wall.
func (o Outcome) duration() time.Duration {
	if o.Effective > 0 {
		return o.Effective
	}
	return o.Wall
}

// Describe is a one-line, deterministic account of the outcome (no times).
func (o Outcome) Describe() string {
	switch {
	case o.TimedOut:
		return "timed out (tree killed)"
	case o.Pass:
		return "passed"
	}
	return "failed: " + o.Exit
}

// BinaryUse is what one whitelisted executable did in a run, over all its
// processes.
type BinaryUse struct {
	Path        string `json:"path"`
	Interpreter string `json:"interpreter,omitempty"`
	BuildID     string `json:"build_id,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	Processes   int    `json:"processes"`
	// Syscalls, Features and PseudoFiles are filled as Record asks, sorted
	// by number or key.
	Syscalls    []SyscallUse `json:"syscalls,omitempty"`
	Features    []FeatureUse `json:"features,omitempty"`
	PseudoFiles []FeatureUse `json:"pseudo_files,omitempty"`
	// PeakRSSKB and MaxFDs are maxima over the binary's processes.
	PeakRSSKB uint64 `json:"peak_rss_kb"`
	MaxFDs    int    `json:"max_fds"`
}

// Verdict is u as a verdict entry with its usage only, no outcome: what a
// trace-mode verdict says of an executable.
func (u BinaryUse) Verdict() verdict.Binary {
	vb := verdict.Binary{Path: u.Path, BuildID: u.BuildID, SHA256: u.SHA256, Interpreter: u.Interpreter,
		Processes: u.Processes, Syscalls: []verdict.Syscall{}}
	for _, s := range u.Syscalls {
		vb.Syscalls = append(vb.Syscalls, verdict.Syscall{Name: s.Name, Number: s.Number, Calls: s.Calls})
	}
	for _, f := range u.Features {
		vb.Features = append(vb.Features, verdict.Feature{Key: f.Key, Calls: f.Calls})
	}
	for _, f := range u.PseudoFiles {
		vb.PseudoFiles = append(vb.PseudoFiles, verdict.Feature{Key: f.Key, Calls: f.Calls})
	}
	return vb
}

// SyscallUse counts the calls of one syscall.
type SyscallUse struct {
	Name   string `json:"name"`
	Number int    `json:"number"`
	Calls  uint64 `json:"calls"`
}

// FeatureUse counts the uses of a sub-feature or pseudo-file key.
type FeatureUse struct {
	Key   string `json:"key"`
	Calls uint64 `json:"calls"`
}
