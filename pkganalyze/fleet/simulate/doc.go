// Package simulate is the report of loupe simulate, schema
// "loupe/simulation/v1": one run of a workload as an OS would answer it
// (what an OS file, or the OS after a plan step, implements, stubs and
// fakes; everything else lacking), and what the workload called that the OS
// lacks. The schema is documented in doc/simulate.md; this package is its
// single implementation: Build turns the tracer's rule hits into the
// report's lacking lists, Marshal writes it, Parse and ReadFile read it back
// (loupe db folds reports into a dataset, so a dataset records which plan
// steps were validated), WriteSummary prints it for a terminal.
//
// What an OS file means for a running workload is plan.OS's business
// (SimulationRules, Answer); running it is the tracer's. This package is
// pure: it never runs anything, and depends on neither.
//
// Output is deterministic but for the run's measurements (wall_seconds):
// lists are sorted (syscalls in number order, other keys by name), and
// every file ends with an end block whose counts prove it whole.
package simulate
