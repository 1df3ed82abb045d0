// Package pkganalyze is loupe's method: from a workload and a whitelist of
// binaries to a verdict (package verdict, schema loupe/verdict/v2) saying,
// for every syscall (and sub-feature, and pseudo-file) the binaries use,
// whether it can be stubbed, faked, or is required.
//
// The package is pure logic. It does not know how a run is executed: a
// Runner executes one run (pkganalyze/runner does it with the tracer; tests
// feed recorded outcomes), so everything here is tested without ptrace.
//
// # The method (Analyze)
//
//  1. Baseline: N traced runs recording what the whitelisted binaries use,
//     and N reference runs that record nothing (the same tracing cost as the
//     experiments, so they are the reference for impact). Every one must
//     pass; otherwise the status is baseline-failed, with the failing run's
//     output in the returned *BaselineError, and flaky when runs disagreed.
//     No whitelisted binary in any run: status not-exercised.
//  2. Sensitivity control: one run in which every whitelisted process is
//     killed at its first syscall. If the workload still passes, its checks
//     cannot see the binaries fail: status insensitive, no experiments.
//  3. Experiments: each unit (a feature key used in the baseline) is stubbed,
//     and separately faked, in every whitelisted process at once, for up to
//     N replicas. A verdict holds only if every replica passes. How the
//     replicas are run is the strategy (below). A run that exceeds the
//     timeout (3 x the slowest baseline run's load-corrected time, at least
//     TimeoutFloor; see Outcome.Effective) fails. A replica whose rule never fired did not
//     test anything: a chain that passes without the rule ever firing leaves
//     the action untested (null), and a failure without the rule firing is
//     the workload failing on its own (flaky).
//  4. Confirmation: N runs with every unit that holds applied at once (stub
//     preferred to fake). If it fails, delta debugging (ddmin) finds a
//     1-minimal failing subset; one unit of it is demoted to required and a
//     conflict recorded; repeat until the combination passes.
//  5. Impact: each passing stub and fake is compared with the reference runs
//     for peak RSS and max fds (per binary), wall time, and with
//     Config.Metric the benchmark's own figure, which the Runner reads from
//     each run's output (Outcome.Metric; see RangeTest and metric.go).
//
// # Strategies and cost
//
// Upstream runs every experiment r times: (2 + 2s)·r runs for s units.
//
// StrategyExhaustive runs each unit and action (a pair) alone, its replicas
// one after the other, stopping at the first failure, since no later
// replica can turn a failure into a pass: a required unit costs 2 runs
// instead of 2r. The price is that flakiness is only detected when a pass
// precedes a failure.
//
// StrategyAdaptive (the default, adaptive.go) reaches the same verdicts
// from fewer runs: replica by replica, pairs likely to fail (Priors) run
// alone and the others in groups; a passing group run in which a pair's
// rule fired stands for that pair's own run at that replica, and a failing
// group is split until the failing pairs are found alone. The first group
// is the combination the confirmation will apply, so that its runs double
// as the confirmation's. On monotone workloads (a run fails exactly when one
// of its interventions fails alone) every pair gets the outcome its own run
// would have had, so the verdicts are the exhaustive strategy's; where an
// intervention masks another's failure they may differ (doc/analyze.md).
//
// Runs of one batch go concurrently (Config.Jobs). Which runs are made
// depends only on run outcomes, never on timing or Jobs, so the verdict and
// the run counts are the same for any Jobs and after a resume.
//
// # Units
//
// Units are feature keys, the keys of the verdict schema: a syscall name
// ("mkdir"), a sub-feature ("ioctl:TCGETS"), or a pseudo-file
// ("/proc/self/status"). Config.Granularity selects which the baseline
// records and which are tested. A syscall is required when any of its
// sub-features is required (or untested), even if the whole syscall holds;
// the confirmation then applies its working sub-features instead of the
// whole syscall, and leaves out a sub-feature when its whole syscall is
// applied.
//
// # Where a verdict is decided
//
// engine.go's analyze runs the phases above; observe.go's decide turns one
// unit's replicas into its stub and fake results; confirm.go demotes what
// fails together; impact.go and metric.go flag impacts; build.go writes the
// verdict file. dh_loupe decides a package's status before any of this
// (skipped, error, baseline-failed, not-exercised) in debhelper.Decide.
//
// # Resume
//
// Every finished run is journaled (Journal; StateDir for --state) under a
// key derived from the analysis Fingerprint (command, tree, binaries'
// hashes, replicas, timeout, granularity) and the run (kind, interventions,
// replica, recording level, timeout). Analyze first looks runs up in the
// journal, so the same analysis restarted after a crash or Ctrl-C redoes
// no finished run and reaches the same verdict.
package pkganalyze
