package tracer

// Syscall stops and interventions: stubs, fakes, errnos, sub-features and
// pseudo-files, and the out-of-scope processes they never touch.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestStubFakeErrno(t *testing.T) {
	fx := fixture(t)
	mechanisms(t, func(t *testing.T, mech runOpt) {
		t.Run("stub prlimit64", func(t *testing.T) {
			res, out := runOut(t, []string{fx, "rlimit"}, whitelist(fx), rules(Rule{Feature: "prlimit64", Action: Stub}), mech)
			if !strings.Contains(out, fmt.Sprintf("getrlimit=-1 errno=%d", unix.ENOSYS)) {
				t.Fatalf("stubbed getrlimit printed %q", out)
			}
			// glibc 2.36: ld.so also calls prlimit64 at start-up.
			if res.RuleHits["prlimit64"] < 1 {
				t.Fatalf("rule hits %v", res.RuleHits)
			}
		})
		t.Run("stub mkdir creates nothing", func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "made")
			_, out := runOut(t, []string{fx, "mkdir", d}, whitelist(fx), rules(Rule{Feature: "mkdir", Action: Stub}), mech)
			if !strings.Contains(out, fmt.Sprintf("mkdir=-1 errno=%d", unix.ENOSYS)) {
				t.Fatalf("output %q", out)
			}
			if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("stubbed mkdir created %s (stat: %v)", d, err)
			}
		})
		t.Run("fake mkdir creates nothing and succeeds", func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "made")
			_, out := runOut(t, []string{fx, "mkdir", d}, whitelist(fx), rules(Rule{Feature: "mkdir", Action: Fake}), mech)
			if !strings.Contains(out, "mkdir=0 errno=0") {
				t.Fatalf("output %q", out)
			}
			if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("faked mkdir created %s", d)
			}
		})
		t.Run("errno", func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "made")
			_, out := runOut(t, []string{fx, "mkdir", d}, whitelist(fx), rules(Rule{Feature: "mkdir", Action: Errno, Errno: int(unix.EACCES)}), mech)
			if !strings.Contains(out, fmt.Sprintf("mkdir=-1 errno=%d", unix.EACCES)) {
				t.Fatalf("output %q", out)
			}
		})
		t.Run("fake prctl returns 0 and changes nothing", func(t *testing.T) {
			_, out := runOut(t, []string{fx, "prctl"}, whitelist(fx), rules(Rule{Feature: "prctl", Action: Fake}), mech)
			// PR_SET_NAME would rename the process; faked, /proc/self/comm
			// still shows the original name.
			if !strings.Contains(out, "keepcaps=0 name=0 comm=fixture") {
				t.Fatalf("output %q", out)
			}
			_, real := runOut(t, []string{fx, "prctl"}, whitelist(fx), mech)
			if !strings.Contains(real, "comm=loupe-renamed") {
				t.Fatalf("untouched run printed %q", real)
			}
		})
	})
}

func TestInterventionsNeverReachOutOfScope(t *testing.T) {
	fx := fixture(t)
	dir := t.TempDir()
	script := fmt.Sprintf("mkdir '%s/by-coreutils' && '%s' mkdir '%s/by-fixture'", dir, fx, dir)
	_, out := runOut(t, []string{"/bin/sh", "-c", script}, whitelist(fx), rules(Rule{Feature: "mkdir", Action: Stub}))
	if _, err := os.Stat(filepath.Join(dir, "by-coreutils")); err != nil {
		t.Fatalf("mkdir(1), out of scope, was stubbed too: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "by-fixture")); err == nil || !strings.Contains(out, "mkdir=-1") {
		t.Fatalf("the whitelisted fixture was not stubbed: %q", out)
	}
}

func TestUnknownSyscallNumbersAreRecorded(t *testing.T) {
	fx := fixture(t)
	res, _ := runOut(t, []string{fx, "unknown"}, whitelist(fx))
	if calls(binOf(res, fx), "syscall_1000") != 1 {
		t.Fatalf("syscall 1000 not recorded as syscall_1000: %+v", binOf(res, fx).Syscalls)
	}
}

func counts(cs []Count) map[string]uint64 {
	m := map[string]uint64{}
	for _, c := range cs {
		m[c.Key] = c.Calls
	}
	return m
}

func recordAll(_ *Command, o *Options) {
	o.Record = RecordSyscalls | RecordFeatures | RecordPseudoFiles
}

func TestSubFeaturesRecordedAndTargeted(t *testing.T) {
	fx := fixture(t)
	mechanisms(t, func(t *testing.T, mech runOpt) {
		res, _ := runOut(t, []string{fx, "fcntl"}, whitelist(fx), recordAll, mech)
		f := counts(binOf(res, fx).Features)
		for _, k := range []string{"fcntl:F_SETFD", "fcntl:F_SETFL", "fcntl:F_GETFL", "socket:AF_INET+SOCK_STREAM", "arch_prctl:ARCH_SET_FS"} {
			if f[k] == 0 {
				t.Errorf("feature %s not recorded; got %v", k, f)
			}
		}
		// Stubbing one command leaves the others of the same syscall alone.
		_, out := runOut(t, []string{fx, "fcntl"}, whitelist(fx), rules(Rule{Feature: "fcntl:F_SETFD", Action: Stub}), mech)
		if out != "setfd=-1 setfl=0\n" {
			t.Errorf("fcntl:F_SETFD stubbed: %q", out)
		}
		// prctl(PR_SET_KEEPCAPS) faked returns 0 and the setting, read back
		// with a real PR_GET_KEEPCAPS, is unchanged.
		_, out = runOut(t, []string{fx, "keepcaps"}, whitelist(fx), rules(Rule{Feature: "prctl:PR_SET_KEEPCAPS", Action: Fake}), mech)
		if out != "set=0 get=0\n" {
			t.Errorf("prctl:PR_SET_KEEPCAPS faked: %q", out)
		}
		_, out = runOut(t, []string{fx, "keepcaps"}, whitelist(fx), mech)
		if out != "set=0 get=1\n" {
			t.Errorf("untouched keepcaps: %q", out)
		}
		// Masked flag fields: MAP_POPULATE on both mappings does not hide
		// that one is anonymous and private, the other file-backed and
		// shared (ld.so's own private file mappings are not touched either).
		res, out = runOut(t, []string{fx, "mmap"}, whitelist(fx), rules(Rule{Feature: "mmap:file+shared", Action: Stub}), mech)
		if out != "anon=ok file=failed\n" || res.RuleHits["mmap:file+shared"] != 1 {
			t.Errorf("mmap:file+shared stubbed: %q, hits %v", out, res.RuleHits)
		}
	})
}

func TestPseudoFiles(t *testing.T) {
	fx := fixture(t)
	withContained(t, func(t *testing.T, mech runOpt) {
		res, out := runOut(t, []string{fx, "procstatus"}, whitelist(fx), recordAll, mech)
		pf := counts(binOf(res, fx).PseudoFiles)
		// open + 2 reads + close through the fd.
		if pf["/proc/self/status"] != 4 || !strings.HasPrefix(out, "read=") {
			t.Errorf("/proc/self/status uses = %d (want 4: open, read, read, close); all %v; out %q", pf["/proc/self/status"], pf, out)
		}
		res, _ = runOut(t, []string{fx, "procdir"}, whitelist(fx), recordAll, mech)
		pf = counts(binOf(res, fx).PseudoFiles)
		if pf["/proc/self"] == 0 || pf["/proc/self/stat"] < 2 {
			t.Errorf("dirfd-relative open not followed: %v", pf)
		}

		_, out = runOut(t, []string{fx, "procstatus"}, whitelist(fx), rules(Rule{Feature: "/proc/self/status", Action: Stub}), mech)
		if out != fmt.Sprintf("open errno=%d\n", unix.ENOENT) {
			t.Errorf("stubbed /proc/self/status: %q", out)
		}
		_, out = runOut(t, []string{fx, "procstatus"}, whitelist(fx), rules(Rule{Feature: "/proc/self/status", Action: Fake}), mech)
		if out != "read=0+0\n" {
			t.Errorf("faked /proc/self/status: %q (want an empty file)", out)
		}
		_, out = runOut(t, []string{fx, "pseudostat", "/proc/self"}, whitelist(fx), rules(Rule{Feature: "/proc/self", Action: Fake}), mech)
		if out != "stat=0 errno=0 dir=1 size=0\n" && !strings.HasPrefix(out, "stat=0 errno=0 dir=1") {
			t.Errorf("faked /proc/self as a directory: %q", out)
		}
		_, out = runOut(t, []string{fx, "pseudostat", "/proc/self/status"}, whitelist(fx), rules(Rule{Feature: "/proc/self", Action: Fake}), mech)
		if out != fmt.Sprintf("stat=-1 errno=%d dir=-1 size=-1\n", unix.ENOENT) {
			t.Errorf("descendant of a faked directory: %q", out)
		}
	})
}

// TestPseudoFileIDsNormalised: paths spelt with this run's real ids are
// recorded under their normalised keys: the caller's pid is self, another
// process's is [pid], thread ids are [tid] (also a thread naming its own
// /proc/<tid>), pseudo-terminal numbers are [n]. Normalize's table tests use
// made-up ids; this checks the tracer hands it the caller's real ones.
func TestPseudoFileIDsNormalised(t *testing.T) {
	fx := fixture(t)
	withContained(t, func(t *testing.T, mech runOpt) {
		res, out := runOut(t, []string{fx, "procids"}, whitelist(fx), recordAll, mech)
		pf := counts(binOf(res, fx).PseudoFiles)
		want := []string{"/proc/self/stat", "/proc/[pid]/status", "/proc/self/task/[tid]/comm",
			"/proc/self/task/[tid]/stat", "/proc/self/task/[tid]/status"}
		if strings.HasPrefix(out, "pts=unavailable") {
			t.Logf("no pseudo-terminal here (%s): /dev/pts/[n] not checked", strings.TrimSpace(out))
		} else if !strings.Contains(out, "open=1") {
			t.Errorf("fixture could not open its pseudo-terminal: %q", out)
		} else {
			want = append(want, "/dev/ptmx", "/dev/pts/[n]")
		}
		for _, k := range want {
			if pf[k] == 0 {
				t.Errorf("%s not recorded; got %v", k, pf)
			}
		}
		for k := range pf {
			if strings.HasPrefix(k, "/proc/") && strings.ContainsAny(strings.SplitN(k[len("/proc/"):], "/", 2)[0], "0123456789") ||
				strings.Contains(k, "/task/") && !strings.Contains(k, "/task/[tid]") ||
				strings.HasPrefix(k, "/dev/pts/") && k != "/dev/pts/[n]" && k != "/dev/pts/ptmx" {
				t.Errorf("key %q keeps a run-specific id", k)
			}
		}
	})
}
