package tracer

import (
	"fmt"
	"os"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/exeid"
	"salsa.debian.org/loupe-team/loupe/internal/exitstatus"
)

// Command is the process tree to run. Its argv, environment, working
// directory and stdio reach the program unchanged.
type Command struct {
	// Path is the executable; without a slash it is looked up in the PATH
	// of Env (or of loupe's environment when Env is nil).
	Path string
	// Args is the full argv, Args[0] included. Empty means {Path}.
	Args []string
	// Env is the environment; nil means loupe's own.
	Env []string
	// Dir is the working directory; "" means loupe's own.
	Dir string
	// Stdin, Stdout and Stderr default to loupe's own fds 0, 1 and 2.
	// Other inherited fds (a make jobserver, say) are passed through as well.
	Stdin, Stdout, Stderr *os.File
}

// Action is what a Rule does to a matching syscall.
type Action int

const (
	// Stub: the syscall does not run and returns -ENOSYS. For a
	// pseudo-file the path does not exist: the call returns -ENOENT.
	Stub Action = iota + 1
	// Fake: the syscall does not run and returns 0. For a pseudo-file the
	// open succeeds on an empty file (see Rule).
	Fake
	// Errno: the syscall does not run and returns -Rule.Errno.
	Errno
	// Kill: the process is killed with SIGKILL at the matching syscall. With
	// the feature "*" this breaks every in-scope process at its first
	// syscall after exec, which is how analysis checks that a workload can
	// notice its binaries failing at all.
	Kill
	// Allow: the call runs normally. It exempts a syscall, sub-feature or
	// pseudo-file from a broader rule ("*", "<syscall>:*", "/*" or a
	// pseudo-file directory), which is how loupe simulate says "this OS
	// implements it". Allowed syscalls are let through by the seccomp
	// filter without a stop.
	Allow
)

func (a Action) String() string {
	switch a {
	case Stub:
		return "stub"
	case Fake:
		return "fake"
	case Errno:
		return "errno"
	case Kill:
		return "kill"
	case Allow:
		return "allow"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Rule intervenes in the syscalls of in-scope processes. It never touches
// processes outside the whitelist.
//
// Feature uses the keys of the verdict schema:
//   - a syscall name, "mkdir" (or "syscall_<n>" for numbers the headers lack);
//   - a sub-feature, "<syscall>:<value>", e.g. "ioctl:TCGETS", "fcntl:F_SETFD",
//     "mmap:anon+private" (see package subfeature);
//   - a pseudo-file, an absolute normalised path such as "/proc/self/status";
//     a rule on a directory covers everything under it;
//   - "*": with Kill, every syscall; with Stub, Fake or Errno, every syscall
//     that no other rule names (an OS lacking everything it does not list);
//   - "<syscall>:*": every sub-feature of that syscall that no other rule
//     names (ioctl:* with ioctl:TCGETS=allow: only TCGETS runs);
//   - "/*": every pseudo-file that no other pseudo-file rule covers.
//
// The wildcards "*", "<syscall>:*" and "/*" count their hits in
// Result.RuleHits under the key of each call they answered (the syscall
// name, the sub-feature, the pseudo-file), not under the wildcard, so a
// report can say what was missing; a fake through "/*" makes each such file
// exist and be empty.
type Rule struct {
	Feature string
	Action  Action
	Errno   int // for Errno: a positive errno value
}

func (r Rule) String() string {
	if r.Action == Errno {
		return fmt.Sprintf("%s=errno:%d", r.Feature, r.Errno)
	}
	return r.Feature + "=" + r.Action.String()
}

// Record selects what the tracer records for in-scope processes. Recording
// costs ptrace stops; experiment runs that only need the outcome use
// RecordNone and pay only for the syscalls their rules target.
type Record uint

const (
	// RecordSyscalls counts every syscall of in-scope processes.
	RecordSyscalls Record = 1 << iota
	// RecordErrors also counts failed calls; it costs an exit stop per syscall.
	RecordErrors
	// RecordFeatures decodes sub-features (ioctl requests, fcntl commands, ...).
	RecordFeatures
	// RecordPseudoFiles records uses of /proc, /sys and /dev paths.
	RecordPseudoFiles

	// RecordNone records only processes, exit statuses and resources.
	RecordNone Record = 0
)

// Counts says how exactly recorded syscalls are counted.
type Counts int

const (
	// CountsExact stops at every syscall of an in-scope process that is
	// recorded, and counts every call.
	CountsExact Counts = iota
	// CountsSeen records which syscalls (and, with RecordFeatures, which
	// sub-features) each in-scope executable uses, not how often: when a
	// process execs an in-scope image, its seccomp filter traps only what
	// this executable (by identity, as Result.Binaries keys them) has not
	// been seen to use yet in this run, plus whatever a rule targets and
	// what pseudo-file following needs. The sets of syscalls, sub-features
	// and pseudo-files are those CountsExact finds; calls and errors are
	// lower bounds. A process keeps the filter it got at exec, so one that
	// runs on while others discover new syscalls still reports them.
	CountsSeen
)

func (c Counts) String() string {
	switch c {
	case CountsExact:
		return "exact"
	case CountsSeen:
		return "seen"
	}
	return fmt.Sprintf("counts(%d)", int(c))
}

// ParseCounts reads "exact" or "seen".
func ParseCounts(s string) (Counts, error) {
	switch s {
	case "exact":
		return CountsExact, nil
	case "seen":
		return CountsSeen, nil
	}
	return 0, fmt.Errorf("counts %q: want exact or seen", s)
}

// LeftoverPolicy says what happens to processes still alive when the root
// command exits (a daemon a test suite forgot to stop, say).
type LeftoverPolicy int

const (
	// LeftoversDetach detaches from leftovers where that is safe, so they run
	// on as they would without loupe, and kills the rest after Grace.
	LeftoversDetach LeftoverPolicy = iota
	// LeftoversKill kills the whole remaining tree (analysis runs). Only
	// the processes the tracer follows are known to it; Options.Contain
	// also ends those it does not.
	LeftoversKill
)

// Sandbox isolates one run: the listed directories are seen at their
// original paths but all writes go to private copies, and the network can be
// private. It needs a mount namespace (and a user namespace when not root).
// A sandboxed run is also contained (Options.Contain), and its mounts are
// locked: a workload running as root cannot unmount them to reach the real
// tree (see contain.go).
type Sandbox struct {
	// Overlay lists directories whose writes must stay private (the build
	// tree, /tmp). Nested entries are covered by their outermost parent.
	Overlay []string
	// Scratch is where the private upper layers are created. It must not be
	// inside an overlaid directory. Its contents are left for the caller.
	Scratch string
	// PrivateNetwork gives the run its own network namespace with only a
	// loopback interface, so parallel runs cannot collide on ports.
	PrivateNetwork bool
}

// Options configures one traced run.
type Options struct {
	// Whitelist decides which processes are in scope; nil means all of them
	// (like strace -f).
	Whitelist Matcher
	// Rules are applied to in-scope processes.
	Rules []Rule
	// Record selects what is recorded for in-scope processes.
	Record Record
	// Counts says whether recorded calls are all counted (CountsExact, the
	// default) or only seen (CountsSeen: fewer stops, counts are lower
	// bounds).
	Counts Counts
	// Leftovers and Grace handle processes that outlive the root command.
	// Grace defaults to 2s.
	Leftovers LeftoverPolicy
	Grace     time.Duration
	// Sandbox, if set, isolates the run (see Sandbox).
	Sandbox *Sandbox
	// Contain makes sure that nothing the command creates outlives the
	// run, including processes the tracer cannot follow (a child cloned
	// with CLONE_UNTRACED by a process that takes no syscall stops):
	// leftovers are killed (Leftovers is taken as LeftoversKill), and a
	// loupe killed with SIGKILL leaves nothing running. The command runs
	// under an init process of loupe's: pid 1 of a PID namespace where
	// that can be had (root, also in a chroot; unprivileged with a
	// Sandbox), else a child subreaper that kills the remaining
	// descendants; Result.Containment says which. This needs no ptrace on
	// the tree. In a PID namespace the command sees its own pids, a /proc
	// of its own, and getppid() == 1. See contain.go for the details.
	Contain bool
	// Limit, if positive, kills the whole tree once the run's
	// load-corrected time (Usage.Effective) exceeds it, and sets
	// Result.LimitExceeded: a timeout that a loaded machine does not
	// trigger. It is checked every 100ms.
	Limit time.Duration
	// NoSeccomp disables the seccomp filter loupe installs in in-scope
	// processes and uses two ptrace stops per syscall instead.
	NoSeccomp bool
	// Follow says how the tree is followed: FollowAuto (the zero value),
	// FollowNotify or FollowPtrace; Result.Follow says which was used.
	// See Follow.
	Follow Follow
	// Identities caches executable hashes; share one across runs. Nil
	// means a private cache.
	Identities *exeid.Cache
	// NewProcessGroup starts the command in a process group of its own, so
	// that a terminal's Ctrl-C reaches loupe (which cancels the run and
	// kills the tree) but not the workload, whose failure would otherwise
	// be taken for an experiment's. loupe trace leaves it off: there the
	// command must get the terminal's signals as it would without loupe.
	NewProcessGroup bool

	hooks testHooks
}

// testHooks let the package's tests provoke rare kernel orderings.
type testHooks struct {
	seedDeadEarly  []int         // pids taken for children that died before their parent's event
	adoptAfter     time.Duration // overrides adoptAfter
	trustDeadEarly bool          // skip the /proc check of a remembered death
	noPIDNS        bool          // contain with a subreaper even where a PID namespace can be had
	probeDelay     time.Duration // slows every script probe down (a hung file system)
	probeTimeout   time.Duration // overrides probeTimeout
	zeroEventMsgs  int           // the first N fork/clone events report pid 0, as the kernel can
}

// Follow is how the tracer follows the process tree.
//
// With FollowPtrace every process of the tree is ptraced: each fork, exec
// and exit of an out-of-scope process costs a ptrace stop. With
// FollowNotify only the processes that may be in scope are: the root
// installs a seccomp filter whose only non-ALLOW action is
// SECCOMP_RET_USER_NOTIF on execve and execveat, the tracer answers each
// exec, and it PTRACE_SEIZEs a process only when the file it execs may be
// in scope; fork, clone and every other syscall of out-of-scope processes
// run untouched. Notify needs containment (it implies Options.Contain, so
// leftovers are killed): without ptrace on the tree, only the init of
// contain.go makes sure that a killed loupe leaves nothing behind.
// FollowAuto uses notify where the run is contained anyway, a whitelist
// leaves something out of scope, the kernel has user notification with
// SECCOMP_USER_NOTIF_FLAG_CONTINUE and pidfd_getfd (5.6), no ancestor's
// filter has a listener already (EBUSY), and the filter can be installed
// without no_new_privs (which would take setuid from the whole tree);
// ptrace otherwise, saying why in Result.FollowNote. notify.go has the
// details.
type Follow string

const (
	FollowAuto   Follow = "auto"
	FollowNotify Follow = "notify"
	FollowPtrace Follow = "ptrace"
)

// NotifyStats says how the execs of a notify-mode run were answered: the
// cost of following the tree, and where it stalled.
type NotifyStats struct {
	// Answered counts the execs the notifier let run at once: out of scope.
	Answered int
	// HandedOver counts those it handed to the tracer thread: the ones that
	// may be in scope (seized first), and those of traced tasks.
	HandedOver int
	// ProbeTimeouts counts the script probes that outlasted their bound
	// (a hung file system): each held its exec that long.
	ProbeTimeouts int
	// SlowestHandover is the longest an exec waited, from its notification
	// to the tracer thread taking it up.
	SlowestHandover time.Duration
}

// ExitStatus is how a process ended: its code, or the signal that killed
// it ("exit 2", "killed by signal 11 (segmentation fault)").
type ExitStatus = exitstatus.Status

// Identity says which executable an in-scope process ran.
type Identity struct {
	// Path is the resolved path of the executable, or of the script for a
	// script run by an interpreter.
	Path string
	// Interpreter is the resolved interpreter path for scripts, else "".
	Interpreter string
	BuildID     string // hex GNU build-id, "" for scripts or when absent
	SHA256      string
}

// SyscallCount is the use of one syscall number.
type SyscallCount struct {
	Number int
	Name   string
	Calls  uint64
	Errors uint64 // only with RecordErrors
}

// Count is the use of one sub-feature or pseudo-file key.
type Count struct {
	Key   string
	Calls uint64
}

// Process is one process image that ran an in-scope executable: a process
// that execs twice appears twice.
type Process struct {
	PID, PPID int
	Exe       string
	Argv      []string
	// Exit is how the image ended; Replaced is set instead when it exec'd
	// another program.
	Exit     ExitStatus
	Replaced bool
	// PeakRSSKB is VmHWM; MaxFDs the largest number of open fds seen at the
	// moments sampled (exec and exit).
	PeakRSSKB uint64
	MaxFDs    int
	// SyscallStops counts the syscall entries of this image the tracer
	// stopped at (to record or intervene): what the image cost.
	SyscallStops uint64
}

// Binary is what one in-scope executable did, over all its processes.
type Binary struct {
	Identity
	Syscalls    []SyscallCount // sorted by number
	Features    []Count        // sorted by key, with RecordFeatures
	PseudoFiles []Count        // sorted by key, with RecordPseudoFiles
	Processes   []Process      // in start order
	PeakRSSKB   uint64         // max over Processes
	MaxFDs      int            // max over Processes
	// RuleHits are the Result.RuleHits of this executable's processes.
	RuleHits map[string]uint64
}

// Leftover is a process that outlived the root command.
type Leftover struct {
	PID      int
	Exe      string
	Detached bool // false: it was killed
}

// Result is what one run observed.
type Result struct {
	Exit     ExitStatus
	Binaries []*Binary // in-scope executables, sorted by Path
	// Processes and Execs count everything followed, in scope or not.
	Processes int
	Execs     int
	Wall      time.Duration
	Leftovers []Leftover
	// RuleHits counts, per Rule.Feature, how often a rule fired. A rule that
	// never fired did not change the run. Wildcard rules count under the key
	// of each call they answered (see Rule); Allow rules are not counted.
	RuleHits map[string]uint64
	// Mechanism is "seccomp" or "ptrace": how in-scope syscalls were stopped.
	Mechanism string
	// Follow is how the tree was followed: FollowNotify or FollowPtrace.
	// FollowNote says why FollowAuto chose ptrace ("" otherwise).
	Follow     Follow
	FollowNote string
	// Notify says how notify mode answered the tree's execs (zero with
	// ptrace).
	Notify NotifyStats
	// Stops counts the ptrace stops the tracer handled: the cost of the run.
	Stops uint64
	// Counts is CountsSeen when the run recorded with Options.Counts seen:
	// its calls and errors are lower bounds (see CountsSeen).
	Counts Counts
	// Containment is ContainPIDNamespace or ContainSubreaper for a
	// contained run, "" otherwise.
	Containment string
	// Usage is the run's time until the root exited: wall, CPU, and
	// load-corrected (see Usage).
	Usage Usage
	// LimitExceeded: Options.Limit was exceeded and the tree killed.
	LimitExceeded bool
	// Warnings are things the tracer could not do and worked around, such
	// as a script probe that took too long (a hung file system).
	Warnings []string
}
