// Package tracer runs a command under ptrace, follows its whole process tree
// and records, for the processes running a whitelisted executable only, the
// system calls they make; it can also stub or fake syscalls in those
// processes. It is the only package of loupe that talks to the kernel's
// tracing interfaces (it alone imports golang.org/x/sys/unix), and it knows
// nothing about Debian or verdicts. Its users are the commands and
// pkganalyze/runner; what it knows of syscalls (names, sub-features,
// pseudo-files) is in internal/sysent, internal/subfeature and
// internal/pseudofile, which the rest of loupe shares.
//
// # Design
//
// One goroutine, locked to its OS thread, owns every tracee of a run: in
// ptrace the tracer is a thread, so the fork of the root, every ptrace
// request and every wait4 happen on that thread. The thread is never
// unlocked: when Run returns, the goroutine exits and Go terminates the
// thread, so even a bug that leaves a tracee attached ends with the kernel's
// PTRACE_O_EXITKILL killing it rather than with a stopped orphan. Functions
// that depend on this say so in a "Precondition:" comment.
//
// Start. The root is loupe's own binary re-executed as a helper (helper.go)
// that stops itself; the tracer PTRACE_SEIZEs it with all options, resumes
// it, and the helper execs the command. A contained run (Options.Contain,
// Sandbox) puts an init of loupe's between the tracer and that helper: the
// tracer forks the init, which forks the helper, and tells the tracer its
// pid over a socket (contain.go). The init is not traced. SEIZE (not
// TRACEME) is what makes group-stops visible as such and PTRACE_LISTEN
// available, so SIGSTOP and SIGCONT behave as without a tracer.
//
// Following the tree. PTRACE_O_TRACEFORK/VFORK/CLONE auto-attach every new
// task; a child's first stop can be reported before its parent's event, so
// unknown pids are parked until the event names them, and a child can die
// before it, so such deaths are remembered. pids wrap (pid_max is often
// 32768) and a parent killed in fork never reports its event, so a
// remembered death is checked against /proc before a new child is taken for
// dead, and a stop parked for long is adopted from /proc: a child is never
// left stopped. wait4 uses __WALL and __WNOTHREAD: only this thread's
// tracees and children, never children that other goroutines started
// (os/exec) and never another run's tracees.
//
// Following the tree without ptrace (Options.Follow, notify.go). With
// FollowNotify the exec stage installs a seccomp filter whose only
// non-ALLOW action is SECCOMP_RET_USER_NOTIF on execve and execveat; the
// tracer takes its listener (pidfd_getfd), and a notifier goroutine answers
// each exec of the tree: CONTINUE at once when the file cannot be in scope
// (decided as at the exec event, scripts included, opening only regular
// files; a script probe that outlasts its bound is handed over), else the
// tracer thread PTRACE_SEIZEs the task first, and from its
// exec event on handles it as above (one found out of scope is detached).
// Forks, clones and out-of-scope processes then cost no stop at all. The
// rules: notify needs containment (it implies Contain, so leftovers are
// killed, and a killed loupe's tree dies with the init; execs of survivors
// would fail with ENOSYS once the listener is gone); the filter is installed
// without no_new_privs where the exec stage has CAP_SYS_ADMIN in its user
// namespace (root, a Sandbox's namespace), and FollowAuto falls back to
// ptrace rather than setting no_new_privs (which would take setuid from
// the whole tree, not only below in-scope processes); an explicit
// FollowNotify sets it. FollowAuto also falls back where the kernel is
// older than 5.6, where an ancestor's filter has a listener (EBUSY), and
// for uncontained runs; Result.Follow and FollowNote say which and why.
// USER_NOTIF outranks TRACE, so the execs of in-scope filtered processes
// are counted and intervened in at their notification.
//
// Scope. At every PTRACE_EVENT_EXEC the tracer reads /proc/pid/exe and asks
// the whitelist. A process out of scope is restarted with PTRACE_CONT and
// never takes a syscall stop: it costs only its fork, exec and exit events.
//
// Syscall stops of in-scope processes (mechanism "seccomp"). At the first
// syscall of an in-scope image, the tracer makes the process itself run
// seccomp(SECCOMP_SET_MODE_FILTER) (and prctl(PR_SET_NO_NEW_PRIVS) when it
// lacks CAP_SYS_ADMIN) by rewriting that syscall-entry stop, then rewinds
// the pc so the original syscall runs again. The filter returns
// SECCOMP_RET_TRACE for the syscalls that matter (all of them when
// recording, only the targeted ones in experiment runs), so each costs one
// stop instead of ptrace's two, and the process is restarted with
// PTRACE_CONT. The filter cannot be removed and is inherited: descendants of
// in-scope processes that exec something out of scope still take one stop
// per filtered syscall (and are not recorded); scripts, whose interpreters
// mostly run other programs, are therefore traced with ptrace stops while
// everything is recorded. A filtered process can never be detached
// (RET_TRACE without a tracer fails every call with ENOSYS), so leftovers
// that carry the filter are killed after the grace period. Where the filter
// cannot be installed, or with NoSeccomp, in-scope processes are restarted
// with PTRACE_SYSCALL (mechanism "ptrace").
//
// With Options.Counts seen, an in-scope image's filter traps only what its
// executable has not been seen to use yet in the run (seen.go): a binary
// run a thousand times pays for its first runs only, the sets are those of
// exact counts, and counts are lower bounds.
//
// Interventions happen at the entry (or seccomp) stop: the syscall number
// is set to -1, so the kernel skips the call, and the return register is
// set to -ENOSYS, 0 or -errno.
//
// The end. When the root exits, Run returns its status as the command would.
// Leftover processes are detached where that is safe (LeftoversDetach), the
// rest are killed after Options.Grace; with LeftoversKill everything is
// killed. Cancelling the context kills the whole tree. In a contained run
// the tracer then releases the init, which ends what the tracer cannot see
// (clone with CLONE_UNTRACED from a process that takes no syscall stops),
// and Run returns only once the init is gone.
//
// # Rooms
//
// Each job of the engine has a file; the engine's fields are grouped by
// the room that owns them (engine.go).
//
//	api.go          the API: Command, Options, Rule, Result
//	engine.go       the engine's state, newEngine, Run and the thread's body
//	start.go        starting the command: fork the helper (or the init), seize it
//	helper.go       the helper's side: its configuration, setup errors, the exec
//	contain.go      the init of a contained run: PID namespace or subreaper
//	sandbox.go      the overlays and network of a Sandbox run
//	wait.go         the wait loop: every stop and death, dispatched; resume
//	tree.go         how the tree is followed: new tasks, parked stops, deaths
//	notify.go       following it without ptrace: the exec filter, the notifier
//	notify_scope.go the notifier's scope decision: the exec'd file, resolved in the task's root
//	notify_thread.go the tracer thread's side: the waker, handed-over execs, seizing, release
//	exec.go         exec and scope: which images are in scope (whitelist, scripts)
//	stops.go        syscall stops of in-scope processes, and interventions
//	features.go     sub-features and pseudo-files at those stops; fd following
//	rules.go        rules compiled for the stops
//	seccomp.go      the seccomp filter, and its injection into a tracee
//	seen.go         Options.Counts seen: what each executable was seen to use, its filter
//	end.go          the end of the run: leftovers, killing the tree
//	result.go       the records of in-scope executables, and the Result
//	usage.go        wall, CPU and load-corrected time; Options.Limit
//	matcher.go      the whitelist's matchers
//	ptrace_linux.go ptrace requests and tracee memory
//	proc.go         /proc readers, and paths as the tracee sees them
//	arch_amd64.go   registers and ABI of one architecture
//	exit.go, foreground.go  for commands that mirror the traced command
//
// Where is a syscall stopped? In stops.go: onSeccomp (a SECCOMP_RET_TRACE
// stop of a filtered process) and onSyscallStop (a PTRACE_SYSCALL stop) both
// lead to onEntry, which counts the call and applies the rule; resume
// (wait.go) decides whether a task takes syscall stops at all.
package tracer
