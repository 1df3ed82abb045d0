// Package runner is the pkganalyze.Runner that executes workload runs under
// the tracer (tracer.Run), isolated from the user's tree and from each
// other.
//
// # Isolation
//
// Each run gets a fresh directory under the scratch directory with its own
// HOME, TMPDIR and captured output. With namespaces ("namespaces"
// isolation), the run also gets a private mount namespace in which the
// workload tree, /tmp and the real home directory are overlayfs mounts at
// their original paths: the workload sees them unchanged but its writes land
// in the run's own upper layer, which is discarded afterwards. Build trees
// embed absolute paths, so a copy elsewhere would not do. The run also gets a
// private network namespace with only loopback up, so concurrent runs of a
// test suite that binds fixed ports or talks to localhost cannot collide or
// reach each other (and the workload cannot reach the network; loupe's
// workloads are test suites, which should not).
//
// Where namespaces are unavailable (tracer.ErrSandboxUnavailable: no user
// namespaces, a container forbidding mount), the runner falls back to
// "snapshot" isolation: it copies the tree once, runs one run at a time
// directly in the tree, and restores the tree from the copy after every run
// (also after a timeout or Ctrl-C). The runs then share /tmp and the
// network; each still has its own HOME and TMPDIR. The fallback is reported
// in Notes. With a RecoveryFile, a loupe killed with -9 in the middle of a
// snapshot-mode run has its tree restored by the next New on the same file.
//
// The scratch directory must lie outside every overlaid directory; by
// default it is a new directory under /var/tmp, flock'ed while in use and
// removed by Close. New removes the ones whose lock nobody holds (left by a
// loupe killed with -9), but only real directories of this user that nobody
// else can write, their locks opened without O_CREAT or following symlinks:
// /var/tmp is shared. A RecoveryFile is honoured only for this runner's tree
// and a snapshot in a scratch directory of this user's.
package runner
