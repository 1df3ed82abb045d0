package dataset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

var update = flag.Bool("update", false, "rewrite golden files")

// pkgDir is the package directory (tests may chdir away from it).
var pkgDir, _ = os.Getwd()

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join(pkgDir, "testdata", name), got, *update)
}

func b(v bool) *bool { return &v }

// sc builds an analyzed syscall outcome: class is required, stub, fake, both.
func sc(name string, nr int, class string) verdict.Syscall {
	s := verdict.Syscall{Name: name, Number: nr, Calls: 3}
	switch class {
	case "required":
		s.Stub, s.Fake, s.Required = b(false), b(false), true
	case "stub":
		s.Stub, s.Fake = b(true), b(false)
	case "fake":
		s.Stub, s.Fake = b(false), b(true)
	case "both":
		s.Stub, s.Fake = b(true), b(true)
	}
	return s
}

func mkVerdict(pkg, ver, arch string, mode verdict.Mode, bins ...verdict.Binary) *verdict.File {
	return &verdict.File{
		Schema: verdict.Schema, Status: verdict.StatusOK, Mode: mode,
		Source: "src-" + pkg, Package: pkg, Version: ver, Architecture: arch,
		Workload: verdict.Workload{Command: []string{"make", "check"}, Replicas: 3},
		Binaries: bins,
	}
}

func write(t testing.TB, path string, v *verdict.File) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := verdict.WriteFile(path, v); err != nil {
		t.Fatal(err)
	}
}

func sum(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func changesFile(t *testing.T, path, src, ver string, files ...string) {
	t.Helper()
	var md5s, sums strings.Builder
	for _, f := range files {
		p := filepath.Join(filepath.Dir(path), f)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&md5s, " d41d8cd98f00b204e9800998ecf8427e %d debug optional %s\n", st.Size(), f)
		fmt.Fprintf(&sums, " %s %d %s\n", sum(t, p), st.Size(), f)
	}
	c := fmt.Sprintf(`Format: 1.8
Date: Thu, 01 Jan 2026 00:00:00 +0000
Source: %s
Binary: %s
Architecture: amd64 all
Version: %s
Distribution: unstable
Urgency: medium
Maintainer: Test <test@example.org>
Description:
 %s - test
Changes:
 %s (%s) unstable; urgency=medium
 .
   * Test.
Checksums-Sha256:
%sFiles:
%s`, src, src, ver, src, src, ver, sums.String(), md5s.String())
	if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCollect builds a small rebuild output by hand and checks every rule
// of Collect: newest version wins (epoch included), analyze beats trace at
// equal versions, test helpers are not the package's, binaries fold
// conservatively, .changes are provenance and checksums are verified,
// malformed files are reported with file, line and field and skipped.
func TestCollect(t *testing.T) {
	t.Chdir(t.TempDir())
	shipped := func(path string, sys ...verdict.Syscall) verdict.Binary {
		return verdict.Binary{Path: path, SHA256: "00", Shipped: true, Processes: 1, Syscalls: sys}
	}
	// sbuild dir: hello 1.0-1 with a .changes listing both verdicts.
	hello := mkVerdict("hello", "1.0-1", "amd64", verdict.ModeAnalyze,
		shipped("/usr/bin/hello", sc("read", 0, "required"), sc("write", 1, "required"), sc("ioctl", 16, "both"), sc("getrandom", 318, "stub")),
		// a second shipped binary: ioctl only stubbable there, so the
		// package's ioctl is stub-only; mkdir only here.
		shipped("/usr/bin/hello-tool", sc("ioctl", 16, "stub"), sc("mkdir", 83, "fake")),
		// a test helper: its syscalls are not the package's.
		verdict.Binary{Path: "tests/helper", SHA256: "11", Shipped: false, Syscalls: []verdict.Syscall{sc("ptrace", 101, "required")}},
	)
	hello.Binaries[0].Features = []verdict.Feature{{Key: "ioctl:TCGETS", Calls: 1, Outcome: verdict.Outcome{Stub: b(false), Fake: b(true)}}}
	write(t, "sbuild/hello/hello_1.0-1_amd64.loupe.yaml", hello)
	data := mkVerdict("hello-data", "1.0-1", "all", verdict.ModeAnalyze)
	data.Status = verdict.StatusNotExercised
	write(t, "sbuild/hello/hello-data_1.0-1_all.loupe.yaml", data)
	changesFile(t, "sbuild/hello/hello_1.0-1_amd64.changes", "hello", "1.0-1",
		"hello_1.0-1_amd64.loupe.yaml", "hello-data_1.0-1_all.loupe.yaml")

	// A newer hello, in a plain tree, trace mode: 1.0-10 > 1.0-1.
	newer := mkVerdict("hello", "1.0-10", "amd64", verdict.ModeTrace,
		verdict.Binary{Path: "/usr/bin/hello", Shipped: true, Syscalls: []verdict.Syscall{{Name: "read", Number: 0}, {Name: "clone3", Number: 435}}})
	write(t, "tree/hello_1.0-10_amd64.loupe.yaml", newer)
	// An epoch beats any version without one.
	old := mkVerdict("sed", "4.9-1", "amd64", verdict.ModeAnalyze, shipped("/bin/sed", sc("read", 0, "required")))
	write(t, "tree/sed_4.9-1_amd64.loupe.yaml", old)
	epoch := mkVerdict("sed", "1:4.8-1", "amd64", verdict.ModeAnalyze, shipped("/bin/sed", sc("read", 0, "required"), sc("write", 1, "fake")))
	write(t, "tree/sed_4.8-1_amd64.loupe.yaml", epoch)
	// Same version twice: analyze beats trace.
	tr := mkVerdict("bzip2", "1.0.8-5", "amd64", verdict.ModeTrace, verdict.Binary{Path: "/bin/bzip2", Shipped: true, Syscalls: []verdict.Syscall{{Name: "read"}}})
	write(t, "tree/a/bzip2_1.0.8-5_amd64.loupe.yaml", tr)
	an := mkVerdict("bzip2", "1.0.8-5", "amd64", verdict.ModeAnalyze, shipped("/bin/bzip2", sc("read", 0, "required")))
	write(t, "tree/b/bzip2_1.0.8-5_amd64.loupe.yaml", an)
	// Same package on another architecture is another entry.
	write(t, "tree/bzip2_1.0.8-5_arm64.loupe.yaml", mkVerdict("bzip2", "1.0.8-5", "arm64", verdict.ModeAnalyze, shipped("/bin/bzip2", sc("read", 63, "required"))))

	// Malformed files: a bad status, a trace verdict with stub results,
	// not YAML, not a verdict, a verdict with no package.
	end := func(bins, sys int) string {
		return fmt.Sprintf("end:\n  binaries: %d\n  syscalls: %d\n  features: 0\n  pseudo_files: 0\n  conflicts: 0\n", bins, sys)
	}
	os.WriteFile("tree/bad-status_1_amd64.loupe.yaml", []byte("schema: loupe/verdict/v2\nstatus: great\nmode: analyze\npackage: x\narchitecture: amd64\nbinaries: []\n"+end(0, 0)), 0o644)
	os.WriteFile("tree/bad-trace_1_amd64.loupe.yaml", []byte("schema: loupe/verdict/v2\nstatus: ok\nmode: trace\npackage: y\narchitecture: amd64\nbinaries:\n  - path: /bin/y\n    syscalls:\n      - name: read\n        stub: true\n"+end(1, 1)), 0o644)
	os.WriteFile("tree/garbage_1_amd64.loupe.yaml", []byte("{{{ not yaml"), 0o644)
	os.WriteFile("tree/other_1_amd64.loupe.yaml", []byte("schema: something/else\n"), 0o644)
	os.WriteFile("tree/nopkg_1_amd64.loupe.yaml", []byte("schema: loupe/verdict/v2\nstatus: ok\nmode: trace\narchitecture: amd64\nbinaries: []\n"+end(0, 0)), 0o644)
	// A verdict cut at half its lines (it parsed as ok, with fewer
	// syscalls, before the end block), and a whole one of schema v1: kept,
	// with a problem, since it cannot prove it is whole.
	whole, _ := verdict.Marshal(mkVerdict("cut", "1", "amd64", verdict.ModeAnalyze, shipped("/bin/cut", sc("read", 0, "required"), sc("write", 1, "fake"), sc("close", 3, "stub"))))
	lines := strings.SplitAfter(string(whole), "\n")
	os.WriteFile("tree/cut_1_amd64.loupe.yaml", []byte(strings.Join(lines[:len(lines)/2], "")), 0o644)
	legacy, _ := verdict.Marshal(mkVerdict("legacy", "1", "amd64", verdict.ModeAnalyze, shipped("/bin/legacy", sc("read", 0, "required"))))
	ls := strings.Replace(string(legacy), "schema: "+verdict.Schema, "schema: "+verdict.SchemaV1, 1)
	os.WriteFile("tree/legacy_1_amd64.loupe.yaml", []byte(ls[:strings.Index(ls, "end:\n")]), 0o644)
	// A .changes whose verdict was modified after the build, and one that
	// lists a missing verdict.
	write(t, "sbuild/tampered/grep_3.8-5_amd64.loupe.yaml", mkVerdict("grep", "3.8-5", "amd64", verdict.ModeAnalyze))
	changesFile(t, "sbuild/tampered/grep_3.8-5_amd64.changes", "grep", "3.8-5", "grep_3.8-5_amd64.loupe.yaml")
	os.WriteFile("sbuild/tampered/grep_3.8-5_amd64.loupe.yaml", append(mustRead(t, "sbuild/tampered/grep_3.8-5_amd64.loupe.yaml"), "# edited\n"...), 0o644)
	write(t, "sbuild/gone/gzip_1.12-1_amd64.loupe.yaml", mkVerdict("gzip", "1.12-1", "amd64", verdict.ModeAnalyze))
	changesFile(t, "sbuild/gone/gzip_1.12-1_amd64.changes", "gzip", "1.12-1", "gzip_1.12-1_amd64.loupe.yaml")
	os.Remove("sbuild/gone/gzip_1.12-1_amd64.loupe.yaml")

	ds, err := Collect(context.Background(), []string{"sbuild", "tree"}, CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	// The same inputs give byte-identical output, whatever the parallelism.
	ds1, err := Collect(context.Background(), []string{"tree", "sbuild"}, CollectOptions{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	got1, _ := Marshal(ds1)
	if !bytes.Equal(got, got1) {
		t.Error("Collect output depends on argument order or parallelism")
	}
	golden(t, "collect.golden.json", got)

	byName := map[string]*Entry{}
	for i := range ds.Entries {
		e := &ds.Entries[i]
		byName[e.Name+"/"+e.Architecture] = e
	}
	if e := byName["hello/amd64"]; e == nil || e.Version != "1.0-10" || e.Mode != "trace" || len(e.Superseded) != 1 {
		t.Errorf("hello: want 1.0-10 (trace) winning over 1.0-1, got %+v", e)
	}
	if e := byName["sed/amd64"]; e == nil || e.Version != "1:4.8-1" {
		t.Errorf("sed: the epoch version must win, got %+v", e)
	}
	if e := byName["bzip2/amd64"]; e == nil || e.Mode != "analyze" {
		t.Errorf("bzip2: analyze must beat trace at equal versions, got %+v", e)
	}
	if byName["bzip2/arm64"] == nil {
		t.Error("bzip2/arm64 lost: architectures are separate entries")
	}
	if len(ds.Problems) != 9 {
		t.Errorf("want 9 problems, got %d: %v", len(ds.Problems), ds.Problems)
	}
	if byName["cut/amd64"] != nil || byName["legacy/amd64"] == nil {
		t.Errorf("the cut verdict must be skipped, the v1 one kept: %v", byName)
	}
	for _, p := range ds.Problems {
		if strings.Contains(p.File, "bad-status") && (p.Field != "status" || p.Line != 2) {
			t.Errorf("bad status must be located at field status, line 2: %+v", p)
		}
	}
}

// TestFoldHelloBinaries checks the conservative fold on the superseded
// hello 1.0-1, read back from the dataset file.
func TestFoldBinaries(t *testing.T) {
	v := mkVerdict("hello", "1", "amd64", verdict.ModeAnalyze,
		verdict.Binary{Path: "/a", Shipped: true, Syscalls: []verdict.Syscall{sc("ioctl", 16, "both"), sc("read", 0, "stub"), sc("mmap", 9, "both")}},
		verdict.Binary{Path: "/b", Shipped: true, Syscalls: []verdict.Syscall{sc("ioctl", 16, "stub"), sc("read", 0, "fake"), sc("brk", 12, "required")}},
		verdict.Binary{Path: "/t", Shipped: false, Syscalls: []verdict.Syscall{sc("ptrace", 101, "required")}},
	)
	e := FromVerdict(v, Provenance{File: "x"})
	want := Features{Required: []string{"read", "brk"}, Stub: []string{"ioctl"}, Both: []string{"mmap"}}
	if fmt.Sprint(e.Syscalls) != fmt.Sprint(want) {
		t.Errorf("fold: got %+v, want %+v", e.Syscalls, want)
	}
}

// TestHelpersNeverCount: a dh_loupe verdict's test helpers are not the
// package's, whether listed under helpers or, in verdicts written before
// that key, as binaries with shipped: false; even when nothing else ran (a
// not-exercised -doc package). Only a plain command's verdict (no source)
// with nothing marked shipped counts all its binaries.
func TestHelpersNeverCount(t *testing.T) {
	helper := verdict.Binary{Path: "tests/t", Syscalls: []verdict.Syscall{{Name: "ptrace", Number: 101}}}
	for _, tc := range []struct {
		name  string
		v     *verdict.File
		want  int
		noted bool
	}{
		{"legacy not-exercised", mkVerdict("hello-doc", "1", "all", verdict.ModeTrace, helper), 0, false},
		{"helpers key", func() *verdict.File {
			v := mkVerdict("hello-doc", "1", "all", verdict.ModeTrace)
			v.Helpers = []verdict.Helper{{Path: "tests/t", Processes: 1, Syscalls: helper.Syscalls}}
			return v
		}(), 0, false},
		{"plain command", func() *verdict.File {
			v := mkVerdict("cmd", "1", "amd64", verdict.ModeTrace, helper)
			v.Source = ""
			return v
		}(), 1, true},
	} {
		e := FromVerdict(tc.v, Provenance{File: "x"})
		n := len(e.Syscalls.Required) + len(e.Syscalls.Stub) + len(e.Syscalls.Fake) + len(e.Syscalls.Both) + len(e.Syscalls.Traced)
		if n != tc.want || (len(e.Notes) > 0) != tc.noted {
			t.Errorf("%s: %d syscalls counted (%+v), notes %q; want %d", tc.name, n, e.Syscalls, e.Notes, tc.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"schema":"loupe/dataset/v9","entries":[]}`, "unsupported version"},
		{`{"schema":"x"}`, "not a loupe dataset"},
		{"{\n\"schema\": \"loupe/dataset/v1\",\n\"entries\": [}", "d.json:3"},
		{`{"schema":"loupe/dataset/v1","entries":[{"name":""}]}`, "entries[0]"},
		// Unknown names used to be planned as "implement: not_a_syscall".
		{`{"schema":"loupe/dataset/v1","entries":[{"name":"a","origin":"verdict","architecture":"amd64","syscalls":{"required":["read","not_a_syscall"]}}]}`,
			`d.json: field entries[0].syscalls.required[1]: unknown amd64 syscall "not_a_syscall"`},
		{`{"schema":"loupe/dataset/v1","entries":[{"name":"a","origin":"verdict","architecture":"amd64","syscalls":{"stub":["gettimeofdya"]}}]}`,
			`field entries[0].syscalls.stub[0]: unknown amd64 syscall "gettimeofdya" (did you mean "gettimeofday"?)`},
		{`{"schema":"loupe/dataset/v1","entries":[{"name":"a","origin":"loupedb","architecture":"amd64","features":{"fake":["fcntll:F_SETFD"]}}]}`,
			`field entries[0].features.fake[0]: unknown amd64 syscall "fcntll" (did you mean "fcntl"?)`},
	} {
		if _, err := Parse("d.json", []byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want error containing %q", tt.in, err, tt.want)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChangesEntriesStayBeside: a .changes names files beside it. An entry
// with "../" (or a symlink) used to be read, wherever it pointed; now it is
// a problem and nothing outside the .changes' directory is read.
func TestChangesEntriesStayBeside(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	bin := verdict.Binary{Path: "/bin/o", Shipped: true, Syscalls: []verdict.Syscall{sc("read", 0, "required")}}
	write(t, "outside_1_amd64.loupe.yaml", mkVerdict("outside", "1", "amd64", verdict.ModeAnalyze, bin))
	write(t, "b/target_1_amd64.loupe.yaml", mkVerdict("linked", "1", "amd64", verdict.ModeAnalyze, bin))
	os.MkdirAll("b/build", 0o755)
	os.Symlink("../target_1_amd64.loupe.yaml", "b/build/linked_1_amd64.loupe.yaml")
	changesFile(t, "b/build/x_1_amd64.changes", "x", "1", "../../outside_1_amd64.loupe.yaml", "linked_1_amd64.loupe.yaml")
	vs, probs, err := ChangesVerdicts("b/build/x_1_amd64.changes")
	if err != nil || len(vs) != 0 || len(probs) != 2 {
		t.Fatalf("verdicts %v problems %v err %v", vs, probs, err)
	}
	if !strings.Contains(probs[0].String(), `lists "../../outside_1_amd64.loupe.yaml", which is not a file name beside the .changes`) ||
		!strings.Contains(probs[1].String(), "lists linked_1_amd64.loupe.yaml, which is not a regular file") {
		t.Errorf("problems: %v", probs)
	}
	ds, err := Collect(context.Background(), []string{"b/build/x_1_amd64.changes"}, CollectOptions{})
	if err != nil || len(ds.Entries) != 0 || len(ds.Problems) != 2 {
		t.Errorf("Collect: %v entries %+v problems %v", err, ds.Entries, ds.Problems)
	}
}
