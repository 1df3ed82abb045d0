package tracer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Options.Counts seen: the same sets as exact counts, fewer stops, and
// interventions unchanged.

func countsMode(c Counts) runOpt { return func(_ *Command, o *Options) { o.Counts = c } }

func record(r Record) runOpt { return func(_ *Command, o *Options) { o.Record = r } }

const recAll = RecordSyscalls | RecordFeatures | RecordPseudoFiles

// usedSets is what a run found: per binary path, the syscall names,
// sub-feature keys and pseudo-file keys.
func usedSets(res *Result) map[string][]string {
	out := map[string][]string{}
	for _, b := range res.Binaries {
		var s []string
		for _, c := range b.Syscalls {
			s = append(s, c.Name)
		}
		for _, f := range b.Features {
			s = append(s, "feature "+f.Key)
		}
		for _, f := range b.PseudoFiles {
			s = append(s, "pseudo "+f.Key)
		}
		slices.Sort(s)
		out[b.Path+" "+b.Interpreter] = s
	}
	return out
}

// diffSets says what one run found and the other did not.
func diffSets(exact, seen map[string][]string) string {
	var b strings.Builder
	for bin, es := range exact {
		ss := seen[bin]
		for _, k := range es {
			if !slices.Contains(ss, k) {
				fmt.Fprintf(&b, "%s: %s found by exact only\n", bin, k)
			}
		}
		for _, k := range ss {
			if !slices.Contains(es, k) {
				fmt.Fprintf(&b, "%s: %s found by seen only\n", bin, k)
			}
		}
	}
	for bin := range seen {
		if _, ok := exact[bin]; !ok {
			fmt.Fprintf(&b, "%s: binary found by seen only\n", bin)
		}
	}
	return b.String()
}

// TestCountsSeenSameSets runs each fixture mode after another mode and
// twice more (so that later execs run under a filter built from what the
// earlier ones used), with exact and seen counts, and compares what was
// found. Modes whose syscalls depend on timing (threads: futex waits) or
// that leave processes behind are not in the table.
func TestCountsSeenSameSets(t *testing.T) {
	fx := fixture(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		args string
	}{
		{"sysinfo", "sysinfo"},
		{"exit", "exit 0"},
		{"getppid", "getppid 50"},
		{"forkexec", "forkexec"},
		{"spawn", "spawn"},
		{"signal", "signal"},
		{"rlimit", "rlimit"},
		{"mkdir", "mkdir " + filepath.Join(dir, "d")},
		{"prctl", "prctl"},
		{"unknown syscall number", "unknown"},
		{"show", "show"},
		{"keepcaps", "keepcaps"},
		{"procstatus", "procstatus"},
		{"procdir", "procdir"},
		{"pseudostat", "pseudostat /proc/self/status"},
		{"isatty", "isatty"},
		{"mmap", "mmap"},
		{"fcntl", "fcntl"},
		{"clone CLONE_UNTRACED", "untraced-wait"},
		{"clone3 CLONE_UNTRACED", "untraced3-wait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// An unrelated mode first: its seen set then shapes the filter of
			// the mode's first exec.
			first := "rlimit"
			if tc.args == first {
				first = "isatty"
			}
			script := fmt.Sprintf("'%[1]s' %[2]s >/dev/null; '%[1]s' %[3]s >/dev/null; '%[1]s' %[3]s >/dev/null", fx, first, tc.args)
			argv := []string{"/bin/sh", "-c", script}
			exact := run(t, argv, whitelist(fx), record(recAll))
			seen := run(t, argv, whitelist(fx), record(recAll), countsMode(CountsSeen))
			if !exact.Exit.Success() || !seen.Exit.Success() {
				t.Fatalf("exit %v (exact), %v (seen)", exact.Exit, seen.Exit)
			}
			if seen.Counts != CountsSeen || exact.Counts != CountsExact {
				t.Errorf("Result.Counts = %v (seen run), %v (exact run)", seen.Counts, exact.Counts)
			}
			if d := diffSets(usedSets(exact), usedSets(seen)); d != "" {
				t.Errorf("exact and seen counts found different sets:\n%s", d)
			}
			if seen.Stops >= exact.Stops {
				t.Errorf("seen run took %d stops, exact %d: want fewer", seen.Stops, exact.Stops)
			}
		})
	}
	// Every mode in one run, at each granularity: later modes run under
	// filters that allow much of what they use.
	for _, g := range []struct {
		name string
		rec  Record
	}{{"syscalls", RecordSyscalls}, {"features", RecordSyscalls | RecordFeatures}, {"pseudo-files", recAll}} {
		t.Run("all modes/"+g.name, func(t *testing.T) {
			var script []string
			for range 2 {
				for _, tc := range cases {
					script = append(script, fmt.Sprintf("'%s' %s >/dev/null", fx, tc.args))
				}
			}
			argv := []string{"/bin/sh", "-c", strings.Join(script, "; ")}
			exact := run(t, argv, whitelist(fx), record(g.rec))
			seen := run(t, argv, whitelist(fx), record(g.rec), countsMode(CountsSeen))
			if !exact.Exit.Success() || !seen.Exit.Success() {
				t.Fatalf("exit %v (exact), %v (seen)", exact.Exit, seen.Exit)
			}
			if d := diffSets(usedSets(exact), usedSets(seen)); d != "" {
				t.Errorf("exact and seen counts found different sets:\n%s", d)
			}
		})
	}
}

// TestCountsSeenStacksOnInheritedFilter: a whitelisted shell whose filter
// (built from what the shell was seen to use) lets through brk, mmap and
// more execs another whitelisted binary, which uses them for the first
// time. That binary's own filter is stacked on the shell's, so it still
// stops at them and they are recorded.
func TestCountsSeenStacksOnInheritedFilter(t *testing.T) {
	fx := fixture(t)
	dash, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil || filepath.Base(dash) != "dash" {
		t.Skipf("/bin/sh is not dash (%s, %v): the test needs a shell other than the one that runs it", dash, err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed: it runs the test's script out of scope")
	}
	// The first dash runs under the filter that traps everything; the
	// second under one that allows what the first used; it execs fx.
	script := fmt.Sprintf("%[1]s -c true; %[1]s -c 'exec %[2]s mmap'", dash, fx)
	argv := []string{bash, "-c", script}
	exact := run(t, argv, whitelist(fx, dash), record(recAll))
	seen := run(t, argv, whitelist(fx, dash), record(recAll), countsMode(CountsSeen))
	if !exact.Exit.Success() || !seen.Exit.Success() {
		t.Fatalf("exit %v (exact), %v (seen)", exact.Exit, seen.Exit)
	}
	e, s := usedSets(exact), usedSets(seen)
	if d := diffSets(map[string][]string{fx: e[fx+" "]}, map[string][]string{fx: s[fx+" "]}); d != "" {
		t.Errorf("the binary exec'd under an inherited seen filter:\n%s", d)
	}
	if !slices.Contains(s[fx+" "], "brk") {
		t.Errorf("brk not recorded for %s in the seen run: %v", fx, s[fx+" "])
	}
}

// TestCountsSeenFewerStops: a binary exec'd many times stops at every
// syscall in its first run only; the later runs stop at nothing they do
// the same way (execve always stops: it is where peak RSS is read).
func TestCountsSeenFewerStops(t *testing.T) {
	fx := fixture(t)
	script := strings.Repeat(fmt.Sprintf("'%s' getppid 200; ", fx), 6)
	for _, c := range []Counts{CountsExact, CountsSeen} {
		t.Run(c.String(), func(t *testing.T) {
			res := run(t, []string{"/bin/sh", "-c", script}, whitelist(fx), countsMode(c))
			b := binOf(res, fx)
			if !res.Exit.Success() || b == nil || len(b.Processes) != 6 {
				t.Fatalf("exit %v, binary %+v", res.Exit, b)
			}
			if calls(b, "getppid") < 200 {
				t.Errorf("getppid calls = %d, want at least the first run's 200", calls(b, "getppid"))
			}
			first := b.Processes[0].SyscallStops
			if first < 200 {
				t.Errorf("first image: %d syscall stops, want at least its 200 getppid", first)
			}
			for i, p := range b.Processes[1:] {
				switch {
				case c == CountsExact && p.SyscallStops < 200:
					t.Errorf("exact, image %d: %d syscall stops, want every call (>= 200)", i+2, p.SyscallStops)
				case c == CountsSeen && p.SyscallStops > 5:
					t.Errorf("seen, image %d: %d syscall stops, want almost none (first image: %d)", i+2, p.SyscallStops, first)
				}
			}
		})
	}
}

// TestCountsSeenInterventions: a rule applies to every call, also to calls
// of a syscall or sub-feature the binary has been seen to use.
func TestCountsSeenInterventions(t *testing.T) {
	fx := fixture(t)
	dir := t.TempDir()
	script := fmt.Sprintf("for i in 1 2 3; do '%[1]s' mkdir %[2]s/d$i; '%[1]s' rlimit; '%[1]s' fcntl; done", fx, dir)
	res, out := runOut(t, []string{"/bin/sh", "-c", script}, whitelist(fx), record(RecordSyscalls|RecordFeatures),
		countsMode(CountsSeen),
		rules(Rule{Feature: "mkdir", Action: Stub}, Rule{Feature: "prlimit64:RLIMIT_NOFILE", Action: Errno, Errno: int(unix.EPERM)},
			Rule{Feature: "fcntl:F_SETFD", Action: Stub}))
	if !res.Exit.Success() {
		t.Fatalf("exit %v", res.Exit)
	}
	for _, want := range []string{"mkdir=-1 errno=38", "getrlimit=-1 errno=1", "setfd=-1 setfl=0"} {
		if n := strings.Count(out, want); n != 3 {
			t.Errorf("%q in %d of 3 runs; output:\n%s", want, n, out)
		}
	}
	for _, k := range []string{"mkdir", "prlimit64:RLIMIT_NOFILE", "fcntl:F_SETFD"} {
		if res.RuleHits[k] != 3 {
			t.Errorf("rule %s fired %d times, want 3", k, res.RuleHits[k])
		}
	}
	for i := 1; i <= 3; i++ {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprint("d", i))); err == nil {
			t.Errorf("d%d was created: the stub did not apply", i)
		}
	}
}

// bpfRun interprets the classic BPF instructions buildSeenFilter emits on a
// struct seccomp_data, so the filter's decisions can be checked for every
// syscall and argument without a kernel.
func bpfRun(t *testing.T, prog []unix.SockFilter, nr int, arch uint32, args [6]uint64) uint32 {
	t.Helper()
	word := func(off uint32) uint32 {
		switch {
		case off == 0:
			return uint32(nr)
		case off == 4:
			return arch
		case off >= 16 && off < 64:
			a := args[(off-16)/8]
			if (off-16)%8 == 4 {
				return uint32(a >> 32)
			}
			return uint32(a)
		}
		t.Fatalf("load at offset %d", off)
		return 0
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = word(in.K)
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			acc &= in.K
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var c bool
			switch in.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				c = acc == in.K
			case unix.BPF_JGE:
				c = acc >= in.K
			case unix.BPF_JGT:
				c = acc > in.K
			case unix.BPF_JSET:
				c = acc&in.K != 0
			}
			if c {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("instruction %#x at %d", in.Code, pc)
		}
	}
	t.Fatal("fell off the end of the program")
	return 0
}

// TestSeenFilterDecisions checks the seen filter's every decision against
// the rule it implements, on random seen sets large enough to need the
// long jumps of the decision tree: a syscall is let through exactly when
// it was seen, no rule or pseudo-file following needs it, and, for a
// sub-feature syscall, its masked argument words equal those of a call
// seen; foreign ABIs, x32, clone3 and clone with CLONE_UNTRACED always stop.
func TestSeenFilterDecisions(t *testing.T) {
	e, err := newEngine(Command{Path: "/bin/true"}, Options{Record: RecordSyscalls | RecordFeatures, Counts: CountsSeen,
		Rules: []Rule{{Feature: "mkdir", Action: Stub}}})
	if err != nil {
		t.Fatal(err)
	}
	pl := e.seenPlan
	if pl == nil || e.sub == nil {
		t.Fatal("no seen plan or sub-feature decoder")
	}
	max := e.table.Max()
	rng := uint64(0x243f6a8885a308d3)
	next := func() uint64 {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng
	}
	smallArgs := func() [6]uint64 {
		var a [6]uint64
		for i := range a {
			a[i] = next() % 24
			if next()%4 == 0 {
				a[i] |= next() << 32 // high words the mask may ignore
			}
		}
		return a
	}
	for round, density := range []uint64{2, 3, 8, 1} {
		s := newSeenSet(max)
		for nr := 0; nr < max; nr++ {
			if next()%density == 0 {
				s.addNr(nr)
				for range next() % 12 {
					s.addTuple(nr, pl.slots[nr], smallArgs())
				}
			}
		}
		prog := buildSeenFilter(pl, s, e.cloneNr, e.clone3Nr)
		if len(prog) > 4096 {
			t.Fatalf("round %d: %d instructions, over the kernel's 4096", round, len(prog))
		}
		longJumps := 0
		for _, in := range prog {
			if in.Code == unix.BPF_JMP|unix.BPF_JA {
				longJumps++
			}
		}
		for nr := 0; nr < max+20; nr++ {
			for range 30 {
				args := smallArgs()
				got := bpfRun(t, prog, nr, nativeAuditArch, args)
				want := uint32(unix.SECCOMP_RET_TRACE)
				if nr < max && s.nrs[nr] && !pl.always[nr] {
					want = unix.SECCOMP_RET_ALLOW
					if sl := pl.slots[nr]; sl != nil {
						var k [2]uint64
						for i, x := range sl {
							k[i] = args[x.Arg] & x.Mask
						}
						if _, ok := s.tuples[nr][k]; !ok {
							want = unix.SECCOMP_RET_TRACE
						}
					}
				}
				if nr == e.clone3Nr || (nr == e.cloneNr && args[0]&unix.CLONE_UNTRACED != 0) {
					want = unix.SECCOMP_RET_TRACE
				}
				if got != want {
					t.Fatalf("round %d: syscall %d args %x: filter says %#x, want %#x", round, nr, args, got, want)
				}
			}
		}
		for _, a := range []uint32{unix.AUDIT_ARCH_I386, 0} {
			if got := bpfRun(t, prog, 0, a, [6]uint64{}); got != unix.SECCOMP_RET_TRACE {
				t.Errorf("arch %#x: %#x, want TRACE", a, got)
			}
		}
		if got := bpfRun(t, prog, 0|x32Bit, nativeAuditArch, [6]uint64{}); got != unix.SECCOMP_RET_TRACE {
			t.Errorf("x32 read: %#x, want TRACE", got)
		}
		t.Logf("round %d: %d instructions, %d long jumps", round, len(prog), longJumps)
	}
	for _, n := range []string{"mkdir", "execve"} {
		if nr, _ := e.table.Number(n); !pl.always[nr] {
			t.Errorf("%s does not always stop (a rule targets it / peak RSS is read at execve)", n)
		}
	}
}
