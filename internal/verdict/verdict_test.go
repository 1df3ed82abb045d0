package verdict

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml")

// sample exercises every field, in shuffled order, so that Marshal must sort.
func sample() *File {
	return &File{
		Status:       StatusOK,
		Mode:         ModeAnalyze,
		Granularity:  GranFeatures,
		Source:       "sed",
		Package:      "sed",
		Version:      "1:4.9-1",
		Architecture: "amd64",
		Workload:     Workload{Command: []string{"dh_auto_test"}, Dir: "/build/sed-4.9", Kind: "suite", Replicas: 3, Timeout: "auto", Strategy: StrategyAdaptive},
		Runs:         Runs{Total: 20, Baseline: 3, Reference: 3, Sensitivity: 1, Experiments: 6, Groups: 2, Confirmation: 3, CulpritSearch: 2},
		Environment:  Environment{Kernel: "6.1.0-18-amd64", Libc: "2.36", Loupe: "0.1.0"},
		Binaries: []Binary{
			{Path: "/usr/bin/sed", BuildPath: "/build/sed-4.9/sed/sed", BuildID: "ab12", SHA256: "cd34", Shipped: true, Package: "sed", Processes: 40,
				Syscalls: []Syscall{
					{Name: "write", Number: 1, Calls: 9, Outcome: Outcome{Stub: Bool(false), Fake: Bool(false), Required: true}},
					{Name: "read", Number: 0, Calls: 20, Outcome: Outcome{Stub: Bool(false), Fake: Bool(false), Required: true}},
					{Name: "close", Number: 3, Calls: 4, Outcome: Outcome{Stub: Bool(true), Fake: Bool(true),
						Impact: []Impact{{Action: "stub", Metric: "max_fds", Direction: "up"}, {Action: "fake", Metric: "max_fds", Direction: "up"}}}},
					{Name: "ioctl", Number: 16, Calls: 2, Outcome: Outcome{Stub: Bool(false), Fake: Bool(true), Required: true,
						Evidence: []string{"required because its sub-feature ioctl:FIONBIO is"}}},
				},
				Features: []Feature{
					{Key: "ioctl:TCGETS", Calls: 1, Outcome: Outcome{Stub: Bool(true), Fake: Bool(true)}},
					{Key: "ioctl:FIONBIO", Calls: 1, Outcome: Outcome{Stub: Bool(false), Fake: Bool(false), Required: true, Flaky: true,
						Evidence: []string{"stub: replica 2 of 3 failed: exit 1 after 1 passed"}}},
				},
				PseudoFiles: []Feature{{Key: "/proc/self/status", Calls: 1, Outcome: Outcome{Stub: nil, Fake: Bool(true)}}},
			},
			// A stand-in's results: the installed psed never ran.
			{Path: "/usr/bin/psed", BuildPath: "testsuite/psed-debug", StandIn: "testsuite/psed-debug", SHA256: "ef56", Shipped: true,
				Package: "sed", Processes: 1,
				Syscalls: []Syscall{{Name: "getuid", Number: 102, Calls: 1, Outcome: Outcome{Stub: Bool(true), Fake: Bool(true), Required: true}}}},
		},
		Helpers: []Helper{
			{Path: "testsuite/sed", Processes: 12, Note: "libtool wrapper script of testsuite/.libs/sed"},
			// helpers=full: untested syscall lists.
			{Path: "testsuite/helper", Processes: 1, Syscalls: []Syscall{{Name: "getuid", Number: 102, Calls: 1}}},
		},
		Conflicts: []Conflict{
			{Features: []string{"getuid", "geteuid"}, Interventions: []string{"getuid=stub", "geteuid=stub"}, Demoted: []string{"getuid"}},
		},
		CombinationImpact: []CombinationImpact{{Metric: "max_fds", Binary: "/usr/bin/sed", Direction: "up"}},
		RunMetadata: RunMetadata{
			Started: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), Finished: time.Date(2024, 3, 1, 12, 3, 0, 0, time.UTC),
			WallSeconds: 180, Timeout: "15s", Jobs: 2, Isolation: "namespaces", ExecutedRuns: 12, ResumedRuns: 8,
			RunSeconds:   map[string]float64{"experiment": 80, "baseline": 9.5},
			BaselineWall: []float64{3.1, 3.2, 3.2}, ReferenceWall: []float64{2.9, 3, 3},
			Resources: map[string]Resources{"/usr/bin/sed": {PeakRSSKB: []uint64{2000, 2010, 2004}, MaxFDs: []int{4, 4, 4}}},
			Impacts: map[string][]ImpactFig{"close": {
				{Action: "stub", Metric: "max_fds", Binary: "/usr/bin/sed", Baseline: []float64{4, 4, 4}, Observed: []float64{12, 12, 12}},
				{Action: "fake", Metric: "max_fds", Binary: "/usr/bin/sed", Baseline: []float64{4, 4, 4}, Observed: []float64{12, 12, 13}},
			}},
			CombinationImpacts: []ImpactFig{{Action: "combination", Metric: "max_fds", Binary: "/usr/bin/sed", Baseline: []float64{4, 4, 4}, Observed: []float64{12, 12, 12}}},
			Notes:              []string{"namespaces unavailable: serial runs with snapshot/restore"},
		},
	}
}

func TestMarshalGolden(t *testing.T) {
	b, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "full.golden.yaml")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("Marshal differs from %s (go test -update rewrites it):\n%s", path, udiff(t, want, b))
	}
}

func udiff(t *testing.T, a, b []byte) string {
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "want"), a, 0o644)
	os.WriteFile(filepath.Join(d, "got"), b, 0o644)
	out, _ := exec.Command("diff", "-u", filepath.Join(d, "want"), filepath.Join(d, "got")).CombinedOutput()
	return string(out)
}

func TestRoundTrip(t *testing.T) {
	b, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("x.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Errorf("round trip changed the file:\n%s", udiff(t, b, b2))
	}
	// nil stub survives as null, not false.
	if ps := f.Binaries[1].PseudoFiles[0]; ps.Stub != nil || ps.Fake == nil || !*ps.Fake {
		t.Errorf("pseudo-file outcome after round trip: stub %v fake %v", ps.Stub, ps.Fake)
	}
	if !strings.Contains(string(b), "stub: null") {
		t.Error("an untested stub must be written as null")
	}
}

// Marshal is deterministic: the order of the input does not matter.
func TestMarshalDeterministic(t *testing.T) {
	a, _ := Marshal(sample())
	s := sample()
	bs := s.Binaries
	bs[0], bs[1] = bs[1], bs[0]
	sc := bs[1].Syscalls
	for i, j := 0, len(sc)-1; i < j; i, j = i+1, j-1 {
		sc[i], sc[j] = sc[j], sc[i]
	}
	s.Conflicts[0].Features = []string{"geteuid", "getuid"}
	s.Helpers[0], s.Helpers[1] = s.Helpers[1], s.Helpers[0]
	b, _ := Marshal(s)
	if !bytes.Equal(a, b) {
		t.Errorf("order of input changed the output:\n%s", udiff(t, a, b))
	}
}

// Verdicts written before the helpers key listed test helpers in binaries,
// with shipped: false and full syscall lists: they still parse, and
// TestHelpers finds their helpers.
func TestLegacyHelpers(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "legacy-helpers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := f.TestHelpers()
	if len(f.Helpers) != 0 || len(h) != 1 || h[0].Path != "/build/sed-4.9/testsuite/helper" || h[0].Processes != 1 ||
		len(h[0].Syscalls) != 1 || h[0].Syscalls[0].Name != "getuid" {
		t.Errorf("legacy helpers: %+v", h)
	}
	n := sample()
	if h := n.TestHelpers(); len(h) != 2 || h[0].Path != "testsuite/sed" {
		t.Errorf("helpers of a current verdict: %+v", h)
	}
}

// Later issues add keys inside v2: readers ignore them.
func TestUnknownKeysIgnored(t *testing.T) {
	b, _ := Marshal(sample())
	s := strings.Replace(string(b), "status: ok\n", "status: ok\nfuture_key: {a: 1}\n", 1)
	s = strings.Replace(s, "        required: true\n", "        required: true\n        future_field: [1, 2]\n", 1)
	if _, err := Parse("x.yaml", []byte(s)); err != nil {
		t.Errorf("unknown keys rejected: %v", err)
	}
}

// Verdicts written before strategies existed (no workload.strategy, no
// runs.groups, no combination_impact) still parse: they were exhaustive.
func TestVerdictsBeforeStrategies(t *testing.T) {
	b, _ := Marshal(sample())
	s := string(b)
	for _, k := range []string{"  strategy: adaptive\n", "  groups: 2\n", "combination_impact:\n  - metric: max_fds\n    binary: /usr/bin/sed\n    direction: up\n"} {
		if !strings.Contains(s, k) {
			t.Fatalf("sample lacks %q", k)
		}
		s = strings.Replace(s, k, "", 1)
	}
	f, err := Parse("old.yaml", []byte(s))
	if err != nil {
		t.Fatalf("a verdict without strategy: %v", err)
	}
	if f.Workload.Strategy != "" || f.Runs.Groups != 0 {
		t.Errorf("strategy %q groups %d", f.Workload.Strategy, f.Runs.Groups)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v.yaml")
	if err := WriteFile(path, sample()); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Package != "sed" {
		t.Errorf("read back package %q", f.Package)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// WriteFile must never replace what is not a regular file: writing to
// /dev/null or a fifo by rename would destroy them.
func TestWriteFileSpecialTargets(t *testing.T) {
	dir := t.TempDir()
	t.Run("fifo", func(t *testing.T) {
		p := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte)
		go func() {
			b, _ := os.ReadFile(p)
			got <- b
		}()
		if err := WriteFile(p, sample()); err != nil {
			t.Fatal(err)
		}
		if b := <-got; !bytes.Contains(b, []byte("schema: "+Schema)) {
			t.Errorf("the reader got %q", b)
		}
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the fifo was replaced: %v %v", fi.Mode(), err)
		}
	})
	t.Run("char device", func(t *testing.T) {
		p := filepath.Join(dir, "null")
		// A private /dev/null twin (major 1, minor 3); needs root.
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			t.Skipf("cannot make a device node (needs root): %v", err)
		}
		if err := WriteFile(p, sample()); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Errorf("the device node was replaced: %v %v", fi.Mode(), err)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		real := filepath.Join(dir, "real.yaml")
		link := filepath.Join(dir, "link.yaml")
		os.WriteFile(real, []byte("old"), 0o644)
		os.Symlink("real.yaml", link)
		if err := WriteFile(link, sample()); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
		}
		if _, err := ReadFile(real); err != nil {
			t.Errorf("the link's target was not written: %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		if err := WriteFile(dir, sample()); err == nil {
			t.Error("writing over a directory succeeded")
		}
	})
}

func TestParseErrors(t *testing.T) {
	good, _ := Marshal(sample())
	lineOf := func(s, sub string) int {
		i := strings.Index(s, sub)
		if i < 0 {
			t.Fatalf("%q not in sample", sub)
		}
		return strings.Count(s[:i], "\n") + 1
	}
	g := string(good)
	for _, tc := range []struct {
		name      string
		doc       string
		line      int
		field     string
		msg       string
		notVerdct bool
	}{
		{name: "not yaml", doc: "schema: [\n", msg: "invalid YAML"},
		{name: "not a mapping", doc: "- a\n- b\n", line: 1, msg: "expected a YAML mapping"},
		{name: "no schema", doc: "status: ok\n", notVerdct: true},
		{name: "other schema", doc: "schema: something/else\n", notVerdct: true},
		{name: "future version", doc: "schema: loupe/verdict/v3\nstatus: ok\n", line: 1, field: "schema", msg: "upgrade loupe"},
		{name: "no end", doc: g[:strings.Index(g, "end:\n")], field: "", msg: "the end block is missing: the file is incomplete"},
		{name: "end cut", doc: g[:strings.Index(g, "  conflicts: 1\n")], field: "end.conflicts", msg: "missing: the end block is incomplete"},
		{name: "end mismatch", doc: strings.Replace(g, "  syscalls: 5\n", "  syscalls: 6\n", 1),
			line: lineOf(g, "  syscalls: 5\n"), field: "end.syscalls", msg: "6, but the file lists 5: it is incomplete or was edited"},
		{name: "bad status", doc: strings.Replace(g, "status: ok", "status: fine", 1), line: 2, field: "status", msg: `unknown status "fine"`},
		{name: "bad mode", doc: strings.Replace(g, "mode: analyze", "mode: guess", 1), line: 3, field: "mode", msg: "unknown mode"},
		{name: "bad granularity", doc: strings.Replace(g, "granularity: features", "granularity: atoms", 1), line: 4, field: "granularity"},
		{name: "bad strategy", doc: strings.Replace(g, "strategy: adaptive", "strategy: lucky", 1),
			line: lineOf(g, "strategy: adaptive"), field: "workload.strategy", msg: `unknown strategy "lucky"`},
		{name: "type error", doc: strings.Replace(g, "replicas: 3", "replicas: three", 1),
			line: lineOf(g, "replicas: 3"), field: "workload.replicas", msg: "cannot unmarshal"},
		{name: "type error deep", doc: strings.Replace(g, "calls: 20", "calls: many", 1),
			line: lineOf(g, "calls: 20"), field: "binaries[1].syscalls[0].calls", msg: "cannot unmarshal"},
		{name: "stub not bool", doc: strings.Replace(g, "stub: null", "stub: maybe", 1),
			line: lineOf(g, "stub: null"), field: "binaries[1].pseudo_files[0].stub", msg: "cannot unmarshal"},
		{name: "syscall without name", doc: strings.Replace(g, "name: read", "name: \"\"", 1),
			line: lineOf(g, "name: read"), field: "binaries[1].syscalls[0]", msg: "without name"},
		{name: "required inconsistent", doc: strings.Replace(g, "calls: 20\n        stub: false\n        fake: false\n        required: true", "calls: 20\n        stub: false\n        fake: false\n        required: false", 1),
			line: lineOf(g, "calls: 20") + 3, field: "binaries[1].syscalls[0].required", msg: "required must be true"},
		{name: "bad impact", doc: strings.Replace(g, "direction: up", "direction: sideways", 1),
			line: lineOf(g, "direction: up"), field: "binaries[1].syscalls[2].impact[0].direction", msg: "unknown direction"},
		{name: "pseudo-file not a path", doc: strings.Replace(g, "key: /proc/self/status", "key: proc/self/status", 1),
			line: lineOf(g, "key: /proc/self/status"), field: "binaries[1].pseudo_files[0].key", msg: "not an absolute path"},
		{name: "unknown syscall", doc: strings.Replace(g, "name: read", "name: raed", 1),
			line: lineOf(g, "name: read"), field: "binaries[1].syscalls[0].name", msg: `unknown amd64 syscall "raed" (did you mean "read"?)`},
		{name: "not a syscall", doc: strings.Replace(g, "name: read", "name: not_a_syscall", 1),
			line: lineOf(g, "name: read"), field: "binaries[1].syscalls[0].name", msg: `unknown amd64 syscall "not_a_syscall"`},
		{name: "wrong number", doc: strings.Replace(g, "name: read\n        number: 0", "name: read\n        number: 7", 1),
			line: lineOf(g, "name: read") + 1, field: "binaries[1].syscalls[0].number", msg: "7 is not the number of read (0 on amd64)"},
		{name: "unknown sub-feature syscall", doc: strings.Replace(g, "key: ioctl:TCGETS", "key: iocttl:TCGETS", 1),
			line: lineOf(g, "key: ioctl:TCGETS"), field: "binaries[1].features[1].key", msg: `sub-feature "iocttl:TCGETS": unknown amd64 syscall "iocttl" (did you mean "ioctl"?)`},
		{name: "negative run count", doc: strings.Replace(g, "experiments: 6", "experiments: -6", 1),
			line: lineOf(g, "experiments: 6"), field: "runs.experiments", msg: "negative run count"},
		{name: "negative process count", doc: strings.Replace(g, "processes: 40", "processes: -40", 1),
			line: lineOf(g, "processes: 40"), field: "binaries[1].processes", msg: "negative process count"},
		{name: "trace with stub", doc: strings.Replace(g, "mode: analyze", "mode: trace", 1),
			field: "binaries[0].syscalls[0]", msg: "trace-mode verdicts have stub/fake null"},
		{name: "helper without path", doc: strings.Replace(g, "path: testsuite/helper", "path: \"\"", 1),
			line: lineOf(g, "path: testsuite/helper"), field: "helpers[0]", msg: "helper without path"},
		{name: "helper experimented on", doc: strings.Replace(g, "number: 102\n        calls: 1\n        stub: null", "number: 102\n        calls: 1\n        stub: true", 1),
			line: lineOf(g, "path: testsuite/helper") + 3, field: "helpers[0].syscalls[0]", msg: "never experimented on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("v.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.notVerdct {
				if !errors.Is(err, ErrNotVerdict) {
					t.Errorf("got %v, want ErrNotVerdict", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %T %v, want *FieldError", err, err)
			}
			if fe.File != "v.yaml" || (tc.line != 0 && fe.Line != tc.line) || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got %q (line %d field %q), want line %d field %q msg ~%q", err, fe.Line, fe.Field, tc.line, tc.field, tc.msg)
			}
			if tc.line > 0 && !strings.Contains(err.Error(), "v.yaml:") {
				t.Errorf("error %q does not name file:line", err)
			}
		})
	}
}

// TestTruncatedRefused: a verdict cut anywhere, at a line boundary (the
// issue's 1/2, 2/3 and 3/4 of its lines) or inside a line, is refused.
// Before the end block, such files parsed as status ok with fewer binaries
// or syscalls. Only the final newline may go.
func TestTruncatedRefused(t *testing.T) {
	b, err := Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(b)-1; n++ {
		if f, err := Parse("cut.yaml", b[:n]); err == nil {
			t.Fatalf("a verdict cut at byte %d of %d parsed: status %s, %d binaries", n, len(b), f.Status, len(f.Binaries))
		}
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	for _, frac := range [][2]int{{1, 2}, {2, 3}, {3, 4}} {
		cut := bytes.Join(lines[:len(lines)*frac[0]/frac[1]], nil)
		// A cut inside an entry may fail an earlier check first; a cut
		// between entries is caught by the end block.
		if _, err := Parse("cut.yaml", cut); err == nil {
			t.Errorf("cut at %d/%d of the lines: parsed", frac[0], frac[1])
		}
	}
}

// TestLegacyV1: verdicts written before the end block (schema v1) are still
// read, and say so; writing one again makes it a current, whole file.
func TestLegacyV1(t *testing.T) {
	b, _ := Marshal(sample())
	s := string(b)
	v1 := strings.Replace(s[:strings.Index(s, "end:\n")], "schema: "+Schema, "schema: "+SchemaV1, 1)
	f, err := Parse("old.yaml", []byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Legacy() || f.End != nil {
		t.Errorf("legacy %v end %v", f.Legacy(), f.End)
	}
	// A cut v1 file cannot be told from a whole one: that is why it is legacy.
	if f, err := Parse("old.yaml", []byte(v1[:len(v1)/2])); err == nil && !f.Legacy() {
		t.Error("a cut v1 file is not marked legacy")
	}
	again, err := Marshal(f)
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("rewriting a v1 verdict: %v\n%s", err, udiff(t, b, again))
	}
}
