package verdict

import (
	"time"
)

// Schema is the value of the schema key.
const Schema = "loupe/verdict/v2"

// SchemaV1 is the schema of verdicts written before the end block existed.
// They are still read, but cannot prove they are whole (Legacy).
const SchemaV1 = "loupe/verdict/v1"

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
	Strategy Strategy `yaml:"strategy,omitempty"`
	// Metric is how the workload's benchmark metric is read from its
	// output (loupe analyze --metric), when it has one.
	Metric *Metric `yaml:"metric,omitempty"`
}

// Metric reads a benchmark metric (requests/s, MB/s, seconds) from a
// workload's output: the first capture group of Regex on the last output
// line it matches, a number. Better says which way is better.
type Metric struct {
	Regex  string `yaml:"regex"`
	Better Better `yaml:"better"`
}

// MetricName is the Impact.Metric of the benchmark metric.
const MetricName = "benchmark"

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
	Action    string    `yaml:"action"` // stub | fake
	Metric    string    `yaml:"metric"` // peak_rss_kb | max_fds | wall_seconds | benchmark
	Direction Direction `yaml:"direction"`
	// Effect is given for the benchmark metric (which way is better is
	// Workload.Metric.Better's).
	Effect Effect `yaml:"effect,omitempty"`
}

// CombinationImpact flags a resource or time change beyond baseline noise
// when everything the confirmation applies is applied at once (the
// combination an OS would provide). Binary is "" for wall_seconds.
type CombinationImpact struct {
	Metric    string    `yaml:"metric"`
	Binary    string    `yaml:"binary,omitempty"`
	Direction Direction `yaml:"direction"`
	Effect    Effect    `yaml:"effect,omitempty"` // as in Impact
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
	// Follow is how the runs' process trees were followed: "notify" or
	// "ptrace" (tracer.Follow); "" in verdicts written before it existed.
	Follow string `yaml:"follow,omitempty"`
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
