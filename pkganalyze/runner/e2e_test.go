package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/chroottest"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/priors"
	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
)

// End-to-end tests: real gcc-compiled fixtures (../testdata/fixtures), real
// ptrace, real namespaces. Their answers are known (fixtures/README.md).

// compile builds the fixtures into a new tree and returns it.
func compile(t *testing.T, names ...string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatalf("gcc is needed to build the fixtures (scripts/install-deps installs it): %v", err)
	}
	tree := t.TempDir()
	for _, n := range names {
		src, err := filepath.Abs(filepath.Join("..", "testdata", "fixtures", n+".c"))
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(gcc, "-O1", "-o", filepath.Join(tree, n), src).CombinedOutput()
		if err != nil {
			t.Fatalf("gcc %s: %v\n%s", n, err, out)
		}
	}
	return tree
}

type e2e struct {
	cmd      []string
	bins     []string // relative to the tree
	replicas int
	jobs     int
	timeout  time.Duration
	iso      Isolation
	env      []string
	gran     verdict.Granularity // "" is syscalls
	log      *bytes.Buffer       // gets the analysis log, if set
	strategy pkganalyze.Strategy // "" is the default, adaptive
}

// analyze runs the whole method in-process.
func analyze(t *testing.T, tree string, x e2e) (*verdict.File, error) {
	t.Helper()
	var bins []string
	var refs []pkganalyze.BinaryRef
	for _, b := range x.bins {
		p := b
		if !filepath.IsAbs(b) {
			p = filepath.Join(tree, b)
		}
		bins = append(bins, p)
		refs = append(refs, pkganalyze.BinaryRef{Path: p})
	}
	env := append(os.Environ(), x.env...)
	log := x.log
	if log == nil {
		log = &bytes.Buffer{}
	}
	r, err := New(Config{Command: x.cmd, Dir: tree, Binaries: bins, Isolation: x.iso, Env: env, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := pkganalyze.Analyze(context.Background(), r, pkganalyze.Config{
		Command: x.cmd, Dir: tree, Binaries: refs, Replicas: x.replicas, Jobs: x.jobs, Timeout: x.timeout,
		Granularity: x.gran, Strategy: x.strategy, Priors: priors.Builtin(),
		Log: log, Notes: r.Notes, Environment: Environment(context.Background(), "test"),
	})
	if f != nil {
		f.RunMetadata.Isolation = r.Isolation()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("analysis log:\n%s", log.String())
			if f != nil {
				b, _ := verdict.Marshal(f)
				t.Logf("verdict:\n%s", b)
			}
		}
	})
	return f, err
}

func syscallOf(t *testing.T, f *verdict.File, bin, name string) verdict.Syscall {
	t.Helper()
	for _, b := range f.Binaries {
		if filepath.Base(b.Path) != bin {
			continue
		}
		for _, s := range b.Syscalls {
			if s.Name == name {
				return s
			}
		}
	}
	t.Fatalf("%s: no syscall %s in the verdict", bin, name)
	return verdict.Syscall{}
}

func bp(p *bool) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// want checks stub, fake and required of a syscall.
func want(t *testing.T, f *verdict.File, bin, name string, stub, fake *bool, required bool) {
	t.Helper()
	s := syscallOf(t, f, bin, name)
	if bp(s.Stub) != bp(stub) || bp(s.Fake) != bp(fake) || s.Required != required {
		t.Errorf("%s %s: stub %s fake %s required %v; want stub %s fake %s required %v (evidence %q)",
			bin, name, bp(s.Stub), bp(s.Fake), s.Required, bp(stub), bp(fake), required, s.Evidence)
	}
}

var yes, no = verdict.Bool(true), verdict.Bool(false)

func mustOK(t *testing.T, f *verdict.File, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	if f.Status != verdict.StatusOK {
		t.Fatalf("status %s, want ok (evidence %q)", f.Status, f.Evidence)
	}
}

func TestE2EKeepcapsFakeNotStub(t *testing.T) {
	ptracetest.Require(t)
	tree := compile(t, "keepcaps")
	f, err := analyze(t, tree, e2e{cmd: []string{"./keepcaps"}, bins: []string{"keepcaps"}, replicas: 2})
	mustOK(t, f, err)
	want(t, f, "keepcaps", "prctl", no, yes, false)
	if f.Runs.Total >= (2+2*len(f.Binaries[0].Syscalls))*2 {
		t.Errorf("%d runs, not fewer than upstream's (2+2s)r = %d", f.Runs.Total, (2+2*len(f.Binaries[0].Syscalls))*2)
	}
}

func TestE2ERlimitFallbackStubs(t *testing.T) {
	ptracetest.Require(t)
	tree := compile(t, "rlimit")
	f, err := analyze(t, tree, e2e{cmd: []string{"./rlimit"}, bins: []string{"rlimit"}, replicas: 2})
	mustOK(t, f, err)
	s := syscallOf(t, f, "rlimit", "prlimit64")
	if s.Stub == nil || !*s.Stub || s.Required {
		t.Errorf("prlimit64: stub %s required %v; want stubbable", bp(s.Stub), s.Required)
	}
}

func TestE2ENetNeedsSocketAndBind(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a full analysis of a 30-syscall program")
	}
	ptracetest.Require(t)
	tree := compile(t, "net")
	// Two jobs: concurrent runs bind the same fixed port, which only works
	// because each run has its own network namespace.
	f, err := analyze(t, tree, e2e{cmd: []string{"./net"}, bins: []string{"net"}, replicas: 2, jobs: 2})
	mustOK(t, f, err)
	want(t, f, "net", "socket", no, no, true)
	want(t, f, "net", "bind", no, no, true)
}

func TestE2EWriteRequiredAndTreeUntouched(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: two full analyses")
	}
	ptracetest.Require(t)
	for _, iso := range []Isolation{Namespaces, Snapshot} {
		t.Run(string(iso), func(t *testing.T) {
			tree := compile(t, "writer")
			os.WriteFile(filepath.Join(tree, "keep.txt"), []byte("original\n"), 0o644)
			os.WriteFile(filepath.Join(tree, "del.txt"), []byte("delete me\n"), 0o644)
			before := treeState(t, tree)
			// A name no other test or run uses, in the real /tmp.
			f0, err := os.CreateTemp("/tmp", "loupe-e2e-")
			if err != nil {
				t.Fatal(err)
			}
			f0.Close()
			stray := f0.Name()
			os.Remove(stray)
			defer os.Remove(stray)
			// The check reads back what the writer wrote; the script also
			// scribbles on the tree, $HOME and /tmp, which must not survive
			// any run.
			script := "./writer && grep -q hello out.txt; r=$?; echo junk >> keep.txt; rm -f del.txt; mkdir -p newdir; " +
				"echo x > \"$HOME/home-file\"; echo x > " + stray + "; exit $r"
			f, err := analyze(t, tree, e2e{cmd: []string{"/bin/sh", "-c", script}, bins: []string{"writer"}, replicas: 2, iso: iso})
			mustOK(t, f, err)
			want(t, f, "writer", "write", no, no, true)
			if f.RunMetadata.Isolation != string(iso) {
				t.Errorf("isolation %q, want %q", f.RunMetadata.Isolation, iso)
			}
			if after := treeState(t, tree); after != before {
				t.Errorf("the runs changed the tree:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			_, err = os.Stat(stray)
			if iso == Namespaces && err == nil {
				t.Errorf("a run wrote %s into the real /tmp", stray)
			}
			if iso == Snapshot && err != nil {
				t.Errorf("snapshot runs share /tmp, yet %s is missing: %v", stray, err)
			}
		})
	}
}

// treeState lists paths, modes, sizes and contents.
func treeState(t *testing.T, tree string) string {
	var b strings.Builder
	filepath.Walk(tree, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		if fi.Mode()&os.ModeSymlink != 0 {
			// Symlink times are not restored (nothing follows them).
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, "%s -> %s\n", rel, target)
			return nil
		}
		fmt.Fprintf(&b, "%s %v %d %d", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() && fi.Size() < 4096 {
			c, _ := os.ReadFile(p)
			fmt.Fprintf(&b, " %q", c)
		}
		b.WriteByte('\n')
		return nil
	})
	return b.String()
}

func TestE2EConflictDemotesOne(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a full analysis with a culprit search")
	}
	ptracetest.Require(t)
	for _, st := range []pkganalyze.Strategy{pkganalyze.StrategyExhaustive, pkganalyze.StrategyAdaptive} {
		t.Run(string(st), func(t *testing.T) { conflictDemotesOne(t, st) })
	}
}

func conflictDemotesOne(t *testing.T, st pkganalyze.Strategy) {
	tree := compile(t, "either")
	f, err := analyze(t, tree, e2e{cmd: []string{"./either"}, bins: []string{"either"}, replicas: 2, strategy: st})
	mustOK(t, f, err)
	u, s := syscallOf(t, f, "either", "uname"), syscallOf(t, f, "either", "sysinfo")
	if !*u.Stub || !*s.Stub {
		t.Errorf("uname stub %s, sysinfo stub %s: each must be stubbable alone", bp(u.Stub), bp(s.Stub))
	}
	if u.Required == s.Required {
		t.Errorf("uname required %v, sysinfo required %v: exactly one must be demoted", u.Required, s.Required)
	}
	found := false
	for _, c := range f.Conflicts {
		if strings.Join(c.Features, ",") == "sysinfo,uname" {
			found = true
		}
	}
	if !found {
		t.Errorf("no conflict {sysinfo, uname} among %+v", f.Conflicts)
	}
	// The adaptive strategy takes the runs of the culprit search and of
	// the confirmation from identical group runs where it can.
	if st == pkganalyze.StrategyExhaustive && (f.Runs.CulpritSearch == 0 || f.Runs.Confirmation < 3) {
		t.Errorf("runs %+v: want a culprit search and two confirmations", f.Runs)
	}
}

func TestE2EFlaky(t *testing.T) {
	ptracetest.Require(t)
	// The counter must outlive each run's private /tmp and tree.
	cdir, err := os.MkdirTemp("/var/tmp", "loupe-flaky-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(cdir)
	t.Run("unit", func(t *testing.T) {
		if testing.Short() {
			t.Skip("slow: a full analysis")
		}
		tree := compile(t, "flaky")
		counter := filepath.Join(cdir, "unit")
		f, err := analyze(t, tree, e2e{cmd: []string{"./flaky"}, bins: []string{"flaky"}, replicas: 3,
			env: []string{"LOUPE_FLAKY_COUNTER=" + counter}, strategy: pkganalyze.StrategyExhaustive})
		mustOK(t, f, err)
		s := syscallOf(t, f, "flaky", "sched_yield")
		if s.Stub == nil || *s.Stub || !s.Flaky || s.Fake == nil || !*s.Fake {
			t.Errorf("sched_yield: stub %s fake %s flaky %v; want stub false, flaky, fake true (evidence %q)", bp(s.Stub), bp(s.Fake), s.Flaky, s.Evidence)
		}
	})
	t.Run("unit-adaptive", func(t *testing.T) {
		if testing.Short() {
			t.Skip("slow: a full analysis")
		}
		tree := compile(t, "flaky")
		counter := filepath.Join(cdir, "unit-adaptive")
		f, err := analyze(t, tree, e2e{cmd: []string{"./flaky"}, bins: []string{"flaky"}, replicas: 3,
			env: []string{"LOUPE_FLAKY_COUNTER=" + counter}})
		mustOK(t, f, err)
		// The group with sched_yield stubbed fails at the second replica
		// while each half passes: its units are then tested alone, and
		// sched_yield's own run fails, as in the exhaustive strategy.
		s := syscallOf(t, f, "flaky", "sched_yield")
		if s.Stub == nil || *s.Stub || !s.Flaky || s.Fake == nil || !*s.Fake || len(f.Conflicts) > 0 {
			t.Errorf("sched_yield: stub %s fake %s flaky %v (evidence %q), conflicts %+v; want stub false, flaky, fake true, no conflict",
				bp(s.Stub), bp(s.Fake), s.Flaky, s.Evidence, f.Conflicts)
		}
	})
	t.Run("baseline", func(t *testing.T) {
		tree := t.TempDir()
		counter := filepath.Join(cdir, "baseline")
		// Fails every other run, untouched.
		script := `n=$(cat "$C" 2>/dev/null || echo 0); echo $((n+1)) > "$C"; /bin/true; [ $((n % 2)) = 0 ]`
		f, err := analyze(t, tree, e2e{cmd: []string{"/bin/sh", "-c", script}, bins: []string{"/bin/true"}, replicas: 2,
			env: []string{"C=" + counter}})
		var be *pkganalyze.BaselineError
		if !errors.As(err, &be) {
			t.Fatalf("error %v, want a *BaselineError", err)
		}
		if f.Status != verdict.StatusBaselineFailed || !f.Flaky || len(f.Evidence) == 0 {
			t.Errorf("status %s flaky %v evidence %q; want baseline-failed, flaky, with evidence", f.Status, f.Flaky, f.Evidence)
		}
		if f.Runs.Sensitivity != 0 || f.Runs.Experiments != 0 {
			t.Errorf("runs %+v after a failed baseline", f.Runs)
		}
	})
}

func TestE2EInsensitive(t *testing.T) {
	ptracetest.Require(t)
	tree := compile(t, "keepcaps")
	f, err := analyze(t, tree, e2e{cmd: []string{"/bin/sh", "-c", "./keepcaps || true"}, bins: []string{"keepcaps"}, replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != verdict.StatusInsensitive {
		t.Fatalf("status %s, want insensitive", f.Status)
	}
	if f.Runs.Experiments != 0 || f.Runs.Sensitivity != 1 {
		t.Errorf("runs %+v: want the control and no experiment", f.Runs)
	}
	if s := syscallOf(t, f, "keepcaps", "prctl"); s.Stub != nil || s.Fake != nil || s.Required {
		t.Errorf("insensitive verdict decides something: %+v", s)
	}
}

func TestE2EHangKilledByTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits for the derived timeout (3 x baseline, at least 5s)")
	}
	ptracetest.Require(t)
	tree := compile(t, "hang")
	start := time.Now()
	f, err := analyze(t, tree, e2e{cmd: []string{"./hang"}, bins: []string{"hang"}, replicas: 2})
	mustOK(t, f, err)
	want(t, f, "hang", "getrusage", no, yes, false)
	s := syscallOf(t, f, "hang", "getrusage")
	if len(s.Evidence) == 0 || !strings.Contains(strings.Join(s.Evidence, " "), "timed out") {
		t.Errorf("getrusage evidence %q: want the timeout", s.Evidence)
	}
	if d := time.Since(start); d > 2*time.Minute {
		t.Errorf("analysis took %s: the hung run was not killed in time", d)
	}
}

// TestE2EFallbackToSnapshot runs an analysis where mount namespaces cannot
// be created: the test re-executes itself in a user namespace whose
// max_mnt_namespaces limit is 0 (a per-namespace limit, so the machine is
// not affected). Auto isolation must fall back to snapshots, say so, and
// still leave the tree untouched.
func TestE2EFallbackToSnapshot(t *testing.T) {
	if os.Getenv("LOUPE_TEST_NO_MNTNS") == "" {
		if testing.Short() {
			t.Skip("slow: a full analysis in snapshot mode")
		}
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skipf("unshare (util-linux) is needed: %v", err)
		}
		if out, err := exec.Command(unshare, "-Ur", "true").CombinedOutput(); err != nil {
			t.Skipf("user namespaces are unavailable here, so the fallback cannot be provoked: %v %s", err, out)
		}
		self, _ := os.Executable()
		cmd := exec.Command(unshare, "-Ur", "sh", "-c", `echo 0 > /proc/sys/user/max_mnt_namespaces && exec "$@"`, "sh",
			self, "-test.run=^TestE2EFallbackToSnapshot$", "-test.v")
		cmd.Env = append(os.Environ(), "LOUPE_TEST_NO_MNTNS=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in the namespace:\n%s", out)
		if err != nil {
			t.Fatalf("the test failed without mount namespaces: %v", err)
		}
		if !strings.Contains(string(out), "--- PASS: TestE2EFallbackToSnapshot") {
			t.Fatal("the test did not run in the namespace")
		}
		return
	}
	ptracetest.Require(t)
	tree := compile(t, "writer")
	before := treeState(t, tree)
	f, err := analyze(t, tree, e2e{cmd: []string{"/bin/sh", "-c", "./writer && grep -q hello out.txt"}, bins: []string{"writer"}, replicas: 1})
	mustOK(t, f, err)
	want(t, f, "writer", "write", no, no, true)
	if f.RunMetadata.Isolation != string(Snapshot) || !strings.Contains(strings.Join(f.RunMetadata.Notes, " "), "namespaces unavailable") {
		t.Errorf("isolation %q notes %q: want snapshot and a note", f.RunMetadata.Isolation, f.RunMetadata.Notes)
	}
	if after := treeState(t, tree); after != before {
		t.Errorf("the runs changed the tree:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestE2EInChroot runs analyses inside a chroot whose root is not a mount
// point, as sbuild and pbuilder run builds: as root (real, or in a user
// namespace as sbuild's), namespaces isolation works (and snapshots too); as
// an unprivileged user, the runner falls back to snapshots and says why and
// what to change.
func TestE2EInChroot(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds a chroot and runs analyses in it")
	}
	ptracetest.Require(t)
	dirs := []string{"../testdata/fixtures"}
	t.Run("root", func(t *testing.T) {
		res := chroottest.Run(t, chroottest.Spec{Dirs: dirs}, "-test.run=^TestE2EWriteRequiredAndTreeUntouched$", "-test.v", "-test.count=1")
		chroottest.RequirePassed(t, res, "TestE2EWriteRequiredAndTreeUntouched/namespaces", "TestE2EWriteRequiredAndTreeUntouched/snapshot")
	})
	t.Run("root in a user namespace", func(t *testing.T) {
		res := chroottest.Run(t, chroottest.Spec{UserNS: true, Dirs: dirs}, "-test.run=^TestE2EWriteRequiredAndTreeUntouched$", "-test.v", "-test.count=1")
		chroottest.RequirePassed(t, res, "TestE2EWriteRequiredAndTreeUntouched/namespaces", "TestE2EWriteRequiredAndTreeUntouched/snapshot")
	})
	t.Run("nobody", func(t *testing.T) {
		res := chroottest.Run(t, chroottest.Spec{UID: chroottest.Nobody, Dirs: dirs}, "-test.run=^TestE2EFallbackExplainedInChroot$", "-test.v", "-test.count=1")
		chroottest.RequirePassed(t, res, "TestE2EFallbackExplainedInChroot")
	})
}

// Run by TestE2EInChroot as an unprivileged user in a chroot.
func TestE2EFallbackExplainedInChroot(t *testing.T) {
	if os.Geteuid() == 0 || !chroottest.Inside() {
		t.Skip("only meaningful for an unprivileged user in a chroot (TestE2EInChroot runs it there)")
	}
	ptracetest.Require(t)
	tree := compile(t, "writer")
	before := treeState(t, tree)
	var log bytes.Buffer
	f, err := analyze(t, tree, e2e{cmd: []string{"/bin/sh", "-c", "./writer && grep -q hello out.txt"}, bins: []string{"writer"},
		replicas: 1, jobs: 2, log: &log})
	mustOK(t, f, err)
	want(t, f, "writer", "write", no, no, true)
	notes := strings.Join(f.RunMetadata.Notes, "\n")
	if f.RunMetadata.Isolation != string(Snapshot) {
		t.Errorf("isolation %q, want snapshot", f.RunMetadata.Isolation)
	}
	for _, w := range []string{"namespaces unavailable", "inside a chroot", "run loupe as root", "subreaper"} {
		if !strings.Contains(notes, w) {
			t.Errorf("the notes do not say %q:\n%s", w, notes)
		}
	}
	if !strings.Contains(log.String(), "inside a chroot") {
		t.Errorf("the log does not explain the fallback:\n%s", log.String())
	}
	if after := treeState(t, tree); after != before {
		t.Errorf("the runs changed the tree:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
