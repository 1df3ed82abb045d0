package tracer

import (
	"fmt"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/internal/subfeature"
)

// Wildcard rules ("*", "<syscall>:*", "/*") and Allow: what loupe simulate
// builds an OS out of. The fixture's syscalls are learnt from a recorded
// run, so the tests hold on any libc.

// usedBy records the syscalls one fixture mode makes.
func usedBy(t *testing.T, argv ...string) []string {
	t.Helper()
	res, _ := runOut(t, argv, whitelist(argv[0]))
	var names []string
	for _, s := range binOf(res, argv[0]).Syscalls {
		names = append(names, s.Name)
	}
	return names
}

// osRules are the rules of an OS implementing impl and lacking the rest.
func osRules(impl []string, except ...string) []Rule {
	rs := []Rule{{Feature: "*", Action: Stub}}
	for _, n := range impl {
		skip := false
		for _, x := range except {
			skip = skip || x == n
		}
		if !skip {
			rs = append(rs, Rule{Feature: n, Action: Allow})
		}
	}
	return rs
}

func TestEverythingUnlistedIsStubbed(t *testing.T) {
	fx := fixture(t)
	used := usedBy(t, fx, "rlimit")
	mechanisms(t, func(t *testing.T, mech runOpt) {
		res, out := runOut(t, []string{fx, "rlimit"}, whitelist(fx), rules(osRules(used)...), mech)
		if out != "getrlimit=0 errno=0\n" || len(res.RuleHits) != 0 {
			t.Fatalf("an OS implementing all it uses: %q, hits %v", out, res.RuleHits)
		}
		res, out = runOut(t, []string{fx, "rlimit"}, whitelist(fx), rules(osRules(used, "prlimit64")...), mech)
		if out != fmt.Sprintf("getrlimit=-1 errno=%d\n", unix.ENOSYS) {
			t.Fatalf("an OS lacking prlimit64: %q", out)
		}
		// Hits are per syscall name, for the run and for the binary.
		if res.RuleHits["prlimit64"] == 0 || len(res.RuleHits) != 1 || binOf(res, fx).RuleHits["prlimit64"] != res.RuleHits["prlimit64"] {
			t.Fatalf("hits %v, binary's %v", res.RuleHits, binOf(res, fx).RuleHits)
		}
	})
}

// TestAllowedSyscallsTakeNoStop: under the seccomp filter, the syscalls an
// OS implements run without a stop, so a simulation costs what the OS
// lacks, not what the workload does.
func TestAllowedSyscallsTakeNoStop(t *testing.T) {
	fx := fixture(t)
	const n = 20000
	used := usedBy(t, fx, "getppid", "1")
	res, _ := runOut(t, []string{fx, "getppid", fmt.Sprint(n)}, whitelist(fx), rules(osRules(used)...), recordNone)
	if res.Stops > 200 || len(res.RuleHits) != 0 {
		t.Fatalf("%d getppid, all allowed: %d stops (mechanism %s), hits %v", n, res.Stops, res.Mechanism, res.RuleHits)
	}
	res, _ = runOut(t, []string{fx, "getppid", fmt.Sprint(n)}, whitelist(fx), rules(osRules(used, "getppid")...), recordNone)
	// One stop per call: the filter (not PTRACE_SYSCALL's two) stops them.
	if res.RuleHits["getppid"] != n || res.Stops < n || res.Stops > n+200 || res.Mechanism != "seccomp" {
		t.Fatalf("getppid lacking: %d hits, %d stops, mechanism %s", res.RuleHits["getppid"], res.Stops, res.Mechanism)
	}
}

func recordNone(_ *Command, o *Options) { o.Record = RecordNone }

func TestSubFeatureAndPseudoFileWildcards(t *testing.T) {
	fx := fixture(t)
	mechanisms(t, func(t *testing.T, mech runOpt) {
		res, out := runOut(t, []string{fx, "fcntl"}, whitelist(fx), rules(
			Rule{Feature: "fcntl:*", Action: Stub}, Rule{Feature: "fcntl:F_GETFL", Action: Allow}, Rule{Feature: "fcntl:F_SETFL", Action: Allow}), mech)
		if out != "setfd=-1 setfl=0\n" || res.RuleHits["fcntl:F_SETFD"] != 1 || len(res.RuleHits) != 1 {
			t.Errorf("fcntl:* stubbed but F_GETFL and F_SETFL: %q, hits %v", out, res.RuleHits)
		}
		res, out = runOut(t, []string{fx, "procstatus"}, whitelist(fx), rules(Rule{Feature: "/*", Action: Stub}), mech)
		if out != fmt.Sprintf("open errno=%d\n", unix.ENOENT) || res.RuleHits["/proc/self/status"] != 1 {
			t.Errorf("/* stubbed: %q, hits %v", out, res.RuleHits)
		}
		res, out = runOut(t, []string{fx, "procstatus"}, whitelist(fx), rules(Rule{Feature: "/*", Action: Fake}), mech)
		if out != "read=0+0\n" || res.RuleHits["/proc/self/status"] == 0 {
			t.Errorf("/* faked: %q (want an empty file), hits %v", out, res.RuleHits)
		}
		res, out = runOut(t, []string{fx, "procstatus"}, whitelist(fx), rules(Rule{Feature: "/*", Action: Stub}, Rule{Feature: "/proc/self", Action: Allow}), mech)
		if !strings.HasPrefix(out, "read=") || out == "read=0+0\n" || len(res.RuleHits) != 0 {
			t.Errorf("/* stubbed, /proc/self allowed: %q, hits %v", out, res.RuleHits)
		}
	})
}

func TestWildcardRulesValidated(t *testing.T) {
	for _, tt := range []struct {
		rules []Rule
		want  string
	}{
		{[]Rule{{Feature: "*", Action: Allow}}, "default"},
		{[]Rule{{Feature: "*", Action: Stub}, {Feature: "*", Action: Fake}}, "given twice"},
		{[]Rule{{Feature: "read", Action: Stub}, {Feature: "read", Action: Allow}}, "same syscall"},
		{[]Rule{{Feature: "read", Action: Allow}, {Feature: "read", Action: Fake}}, "same syscall"},
		{[]Rule{{Feature: "read:*", Action: Stub}}, "has no sub-features"},
		{[]Rule{{Feature: "iotcl:*", Action: Stub}}, `did you mean "ioctl"`},
		{[]Rule{{Feature: "ioctl:*", Action: Kill}}, "takes stub, fake or errno"},
		{[]Rule{{Feature: "/*", Action: Allow}}, "takes stub, fake or errno"},
		{[]Rule{{Feature: "/*", Action: Stub}, {Feature: "/*", Action: Stub}}, "given twice"},
	} {
		_, err := compileRules(nativeTable, subfeature.For(runtime.GOARCH), tt.rules)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.rules, err, tt.want)
		}
	}
	rs, err := compileRules(nativeTable, subfeature.For(runtime.GOARCH), []Rule{{Feature: "*", Action: Fake}, {Feature: "read", Action: Allow}, {Feature: "write", Action: Stub}})
	if err != nil {
		t.Fatal(err)
	}
	nr := func(n string) int { x, _ := nativeTable.Number(n); return x }
	if rs.match(nr("read")) != nil || rs.match(nr("write")).Action != Stub || r2s(rs.match(nr("mkdir"))) != "mkdir=fake" {
		t.Errorf("read %v, write %v, mkdir %v", rs.match(nr("read")), rs.match(nr("write")), rs.match(nr("mkdir")))
	}
}

func r2s(r *Rule) string {
	if r == nil {
		return "<nil>"
	}
	return r.String()
}

// runBPF interprets the instructions buildFilter emits, for a call with
// the given first argument (its low 32 bits).
func runBPF(t *testing.T, prog []unix.SockFilter, arch, nr, arg0 uint32) uint32 {
	t.Helper()
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = map[uint32]uint32{seccompDataNr: nr, seccompDataArch: arch, seccompDataArg0Low: arg0}[in.K]
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			var cond bool
			switch in.Code {
			case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
				cond = acc == in.K
			case unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
				cond = acc >= in.K
			case unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K:
				cond = acc > in.K
			case unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
				cond = acc&in.K != 0
			default:
				t.Fatalf("instruction %d: unexpected code %#x", pc, in.Code)
			}
			if cond {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		}
	}
	t.Fatal("fell off the program")
	return 0
}

// TestFilterRanges: the filter traps exactly the listed numbers, for sets
// as an experiment makes them (a few) and as a simulation does (most of
// the table), plus clone3 and clone with CLONE_UNTRACED (containment).
func TestFilterRanges(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	sets := [][]int{nil, {0}, {59, 322}, {5, 6, 7, 9, 1000}}
	for _, p := range []float64{0.05, 0.5, 0.9} {
		var s []int
		for nr := 0; nr < 470; nr++ {
			if rng.Float64() < p {
				s = append(s, nr)
			}
		}
		sets = append(sets, s)
	}
	for _, set := range sets {
		prog := buildFilter(false, set, unix.SYS_CLONE, unix.SYS_CLONE3)
		if len(prog) > 4096 {
			t.Fatalf("%d instructions", len(prog))
		}
		in := map[int]bool{}
		for _, n := range set {
			in[n] = true
		}
		for nr := 0; nr < 1100; nr++ {
			want := uint32(unix.SECCOMP_RET_ALLOW)
			if in[nr] {
				want = unix.SECCOMP_RET_TRACE
			}
			if nr == unix.SYS_CLONE3 {
				want = unix.SECCOMP_RET_TRACE
			}
			if got := runBPF(t, prog, nativeAuditArch, uint32(nr), 0); got != want {
				t.Fatalf("set of %d: nr %d: %#x, want %#x", len(set), nr, got, want)
			}
		}
		if runBPF(t, prog, nativeAuditArch, unix.SYS_CLONE, unix.CLONE_UNTRACED|unix.CLONE_VM) != unix.SECCOMP_RET_TRACE {
			t.Fatalf("set of %d: clone(CLONE_UNTRACED) not trapped", len(set))
		}
		if runBPF(t, prog, nativeAuditArch, x32Bit|1, 0) != unix.SECCOMP_RET_TRACE || runBPF(t, prog, 0x40000003, 1, 0) != unix.SECCOMP_RET_TRACE {
			t.Fatalf("x32 or a foreign ABI not trapped")
		}
	}
}
