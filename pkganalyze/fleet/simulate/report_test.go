package simulate

import (
	"bytes"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sample is a report as loupe simulate builds it, from made-up hits: a
// stubbed line, a syscall not listed, a faked sub-feature, a pseudo-file
// under a listed directory, and an implemented key the hits must not list.
func sample() *Report {
	yes := true
	r := &Report{Loupe: "test", App: "srv",
		OS:      OS{Name: "Kerla after plan step 1", File: "Kerla.syscalls", Implemented: 61, Stubbed: 20, Faked: 4, Features: 1, PseudoFiles: 1},
		Plan:    &PlanStep{Dataset: "ds.json", Workload: "any", Step: 1, Steps: 60, Supported: []string{"redis", "srv"}, AppClaimed: &yes},
		Command: []string{"make", "check"}, Dir: "/src", Binaries: []string{"/src/srv"},
		Exit: Exit{Code: 1}, WallSeconds: 0.5}
	answers := map[string][3]string{
		"socket":            {"stubbed", "-ENOSYS", "os.csv:4"},
		"prlimit64":         {"absent", "-ENOSYS", "not listed"},
		"read":              {"implemented", "runs", "os.csv:1"},
		"ioctl:TCGETS":      {"faked", "0", "plan step 1"},
		"/proc/self/status": {"absent", "-ENOENT", "not listed"},
	}
	r.Build(Hits{
		Total: map[string]uint64{"socket": 3, "prlimit64": 2, "read": 9, "ioctl:TCGETS": 1, "/proc/self/status": 1},
		ByBinary: map[string]map[string]uint64{
			"/src/srv":    {"socket": 2, "prlimit64": 2, "ioctl:TCGETS": 1, "/proc/self/status": 1},
			"/src/helper": {"socket": 1},
		},
	}, func(k string) (string, string, string) { a := answers[k]; return a[0], a[1], a[2] })
	return r
}

func TestBuildMarshalParse(t *testing.T) {
	r := sample()
	if len(r.Lacking) != 2 || r.Lacking[0].Name != "socket" || r.Lacking[1].Name != "prlimit64" {
		t.Fatalf("lacking (syscalls in number order, implemented ones left out): %+v", r.Lacking)
	}
	if len(r.Lacking[0].Binaries) != 2 || r.Lacking[0].Binaries[0].Path != "/src/helper" {
		t.Errorf("per-binary counts: %+v", r.Lacking[0].Binaries)
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join("testdata", "sample.simulation.yaml"), b, *update)
	back, err := Parse("sample", b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := back.Marshal()
	if !bytes.Equal(b, b2) {
		t.Errorf("round trip changed the report:\n%s", testutil.Diff(t, b, b2))
	}
	var sum bytes.Buffer
	if err := WriteSummary(&sum, "loupe simulate: ", r); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join("testdata", "sample.summary.txt"), sum.Bytes(), *update)
}

func TestParseRefuses(t *testing.T) {
	good, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	for _, tt := range []struct {
		name, doc, want string
	}{
		{"not a report", "schema: loupe/verdict/v2\n", "not a loupe simulation report"},
		{"later version", strings.Replace(s, Schema, "loupe/simulation/v9", 1), `x:1: field schema: unsupported version "loupe/simulation/v9"`},
		{"cut short", s[:strings.Index(s, "end:")], "no end block: the report was cut short"},
		{"a count changed", strings.Replace(s, "  lacking: 2\n", "  lacking: 3\n", 1), "the end block counts 3/1/1"},
		{"bad state", strings.Replace(s, "state: absent", "state: missing", 1), `x:44: field lacking[1].state: "missing", want absent, stubbed or faked`},
		{"passed but failed", strings.Replace(s, "passed: false", "passed: true", 1), "x:29: field passed: passed is true but the exit status is 1"},
		{"no OS name", strings.Replace(s, "name: Kerla after plan step 1", "name: \"\"", 1), "x:5: field os.name: empty"},
		{"invalid YAML", "schema: [", "x: invalid YAML"},
	} {
		_, err := Parse("x", []byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// FuzzParse: a report parses or fails naming the file; never panics.
func FuzzParse(f *testing.F) {
	good, _ := sample().Marshal()
	f.Add(good)
	f.Add([]byte("schema: loupe/simulation/v1\nend: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("r", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "r") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if _, err := r.Marshal(); err != nil {
			t.Fatalf("a report that parses does not marshal: %v", err)
		}
	})
}
