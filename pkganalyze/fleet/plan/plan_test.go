package plan

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
)

type ent struct {
	name, kind, status, mode string
	req, stub, fake, both    string // space-separated syscalls
	feat, pseudo             map[string]string
}

var classState = map[string]dataset.State{"required": dataset.Tested, "stub": dataset.Tested | dataset.StubOK,
	"fake": dataset.Tested | dataset.FakeOK, "both": dataset.Tested | dataset.StubOK | dataset.FakeOK}

func words(s string) []string { return strings.Fields(s) }

func (e ent) entry() dataset.Entry {
	if e.kind == "" {
		e.kind = dataset.KindBenchmark
	}
	if e.status == "" {
		e.status = "ok"
	}
	if e.mode == "" {
		e.mode = "analyze"
	}
	d := dataset.Entry{Name: e.name, Architecture: "amd64", Origin: dataset.OriginLoupeDB,
		Workload: dataset.Workload{Kind: e.kind, Name: e.kind + "-x"}, Status: e.status, Mode: e.mode}
	if e.mode == "trace" {
		d.Syscalls.Traced = words(e.req)
	} else {
		d.Syscalls = dataset.Features{Required: words(e.req), Stub: words(e.stub), Fake: words(e.fake), Both: words(e.both)}
	}
	m := map[string]dataset.State{}
	for k, c := range e.feat {
		m[k] = classState[c]
	}
	d.Features = dataset.FeaturesFrom(m, false)
	m = map[string]dataset.State{}
	for k, c := range e.pseudo {
		m[k] = classState[c]
	}
	d.PseudoFiles = dataset.FeaturesFrom(m, false)
	return d
}

func entries(es ...ent) []dataset.Entry {
	var out []dataset.Entry
	for _, e := range es {
		out = append(out, e.entry())
	}
	return out
}

func osFile(t *testing.T, text string) *OS {
	t.Helper()
	o, err := ParseOS("test-os", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func stepSummary(p *Plan) []string {
	var out []string
	for _, s := range p.Steps {
		var apps []string
		for _, u := range s.Unlocks {
			apps = append(apps, u.App)
		}
		out = append(out, fmt.Sprintf("%d impl[%s] stub[%s] fake[%s] +%s", s.Number,
			strings.Join(s.Implement, " "), strings.Join(s.Stub, " "), strings.Join(s.Fake, " "), strings.Join(apps, " ")))
	}
	return out
}

// TestGoldenPlans runs small datasets whose best plan was worked out by
// hand (the comment of each case says why), checks the steps and keeps the
// text rendering as a golden file.
func TestGoldenPlans(t *testing.T) {
	tests := []struct {
		name     string
		os       string
		data     []ent
		workload Workload
		only     []string
		costs    map[string]float64
		want     []string
		nodata   []string
		kind     string
	}{
		{
			// Implementing mmap+brk (cost 2) unlocks 3 apps: 1.5 apps per
			// syscall, better than open or close alone (1 each). Sum of
			// "syscalls implemented when each app runs": 3*2+3+4 = 13,
			// against 1+2+3*4 = 15 for upstream's fewest-missing-first.
			// open and close tie on everything but the app name.
			name: "ratio", os: "read\nwrite\n",
			data: []ent{
				{name: "a1", req: "read write open"},
				{name: "a2", req: "read mmap brk"}, {name: "a3", req: "mmap brk"}, {name: "a4", req: "write mmap brk"},
				{name: "a5", req: "read close"},
			},
			want: []string{"0 impl[] stub[] fake[] +", "1 impl[mmap brk] stub[] fake[] +a2 a3 a4", "2 impl[open] stub[] fake[] +a1", "3 impl[close] stub[] fake[] +a5"},
		},
		{
			// Step 0 counts stub/fake needs. getuid is stubbed by the OS: b1
			// (stub only) runs; b2 needs a fake, which would break b1, so
			// getuid must be implemented for b2. b3 needs mkdir faked and
			// accepts uname either way; b4 needs uname faked, which b3
			// accepts, so uname ends faked, not stubbed then faked.
			name: "stubfake", os: "name,status\nread,implemented\ngetuid,stubbed\n",
			data: []ent{
				{name: "b1", req: "read", stub: "getuid"},
				{name: "b2", req: "read", fake: "getuid"},
				{name: "b3", req: "read", fake: "mkdir", both: "uname"},
				{name: "b4", req: "read", fake: "uname"},
			},
			want: []string{"0 impl[] stub[] fake[uname mkdir] +b1 b3 b4", "1 impl[getuid] stub[] fake[] +b2"},
		},
		{
			// A stub listed at step 0 and implemented later is reported
			// as replaced and is not in the final stub list.
			name: "replaced", os: "read\n",
			data: []ent{
				{name: "c1", req: "read", stub: "openat"},
				{name: "c2", req: "read openat"},
			},
			want: []string{"0 impl[] stub[openat] fake[] +c1", "1 impl[openat] stub[] fake[] +c2"},
		},
		{
			// Cost weights: clone is expensive (10), fork+wait4 cost 2.
			name: "costs", os: "",
			data:  []ent{{name: "x1", req: "clone"}, {name: "x2", req: "fork wait4"}},
			costs: map[string]float64{"clone": 10},
			want:  []string{"0 impl[] stub[] fake[] +", "1 impl[fork wait4] stub[] fake[] +x2", "2 impl[clone] stub[] fake[] +x1"},
		},
		{
			// Workloads combine: open is stub-only for the benchmark and
			// fake-only for the suite, so with "any" it is required; the
			// benchmark alone only needs a stub. d2 has only a suite.
			name: "workloads-any", os: "read\n",
			data: []ent{
				{name: "d1", kind: "benchmark", req: "read", stub: "open"},
				{name: "d1", kind: "suite", req: "read", fake: "open"},
				{name: "d2", kind: "suite", req: "read"},
			},
			workload: Any,
			want:     []string{"0 impl[] stub[] fake[] +d2", "1 impl[open] stub[] fake[] +d1"},
		},
		{
			name: "workloads-bench", os: "read\n",
			data: []ent{
				{name: "d1", kind: "benchmark", req: "read", stub: "open"},
				{name: "d1", kind: "suite", req: "read", fake: "open"},
				{name: "d2", kind: "suite", req: "read"},
			},
			workload: Bench,
			want:     []string{"0 impl[] stub[open] fake[] +d1"},
			nodata:   []string{"d2"},
		},
		{
			// Apps without usable evidence are never supported: an
			// insensitive workload, a trace-only app among analyzed ones, an
			// app that is not in the dataset at all.
			name: "nodata", os: "read\n",
			data: []ent{
				{name: "e1", req: "read"},
				{name: "e2", status: "insensitive", both: "read write"},
				{name: "e3", mode: "trace", req: "read"},
			},
			only:   []string{"e1", "e2", "e3", "e4"},
			want:   []string{"0 impl[] stub[] fake[] +e1"},
			nodata: []string{"e2", "e3", "e4"},
		},
		{
			// Trace-only data gives the naive plan: everything traced is
			// implemented.
			name: "naive", os: "read\n",
			data: []ent{{name: "f1", mode: "trace", req: "read write"}, {name: "f2", mode: "trace", req: "read write mmap"}},
			want: []string{"0 impl[] stub[] fake[] +", "1 impl[write] stub[] fake[] +f1", "2 impl[mmap] stub[] fake[] +f2"},
			kind: KindNaive,
		},
		{
			// Sub-features are listed for implemented syscalls.
			name: "features", os: "read\n",
			data: []ent{{name: "g1", req: "read ioctl", feat: map[string]string{"ioctl:TCGETS": "required", "ioctl:TIOCGWINSZ": "stub", "ioctl:FIONBIO": "fake"}}},
			want: []string{"0 impl[] stub[] fake[] +", "1 impl[ioctl] stub[] fake[] +g1"},
		},
		{
			// Sub-features and pseudo-files only matter once their
			// syscalls run. h1 (step 0) stubs ioctl and openat, so its
			// features and pseudo-files are not listed; h2 needs openat
			// and ioctl implemented, so then h1's and h2's pseudo-files
			// count, combined (/proc/self/stat: h1 accepts a stub, h2
			// needs the file). ioctl:TCGETS is stub for h1 and both for
			// h2: stub. /dev/null is faked: an empty file is enough.
			name: "features-pseudo", os: "read\n",
			data: []ent{
				{name: "h1", req: "read", stub: "openat ioctl", feat: map[string]string{"ioctl:TCGETS": "stub"},
					pseudo: map[string]string{"/proc/self/stat": "stub", "/proc/meminfo": "stub"}},
				{name: "h2", req: "read openat ioctl", feat: map[string]string{"ioctl:TCGETS": "both", "ioctl:FIONREAD": "required"},
					pseudo: map[string]string{"/proc/self/stat": "required", "/dev/null": "fake"}},
			},
			want: []string{"0 impl[] stub[ioctl openat] fake[] +h1", "1 impl[ioctl openat] stub[] fake[] +h2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.workload
			if w == "" {
				w = Bench
			}
			p := Auto(osFile(t, tt.os), entries(tt.data...), w, tt.only, tt.costs, false)
			got := stepSummary(p)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var nd []string
			for _, n := range p.NoData {
				nd = append(nd, n.App)
			}
			if strings.Join(nd, " ") != strings.Join(tt.nodata, " ") {
				t.Errorf("no data: %v, want %v", nd, tt.nodata)
			}
			kind := tt.kind
			if kind == "" {
				kind = KindLoupe
			}
			if p.Kind != kind {
				t.Errorf("kind %s, want %s", p.Kind, kind)
			}
			var buf bytes.Buffer
			if err := WriteText(&buf, p); err != nil {
				t.Fatal(err)
			}
			golden(t, "plan-"+tt.name+".txt", buf.Bytes())
		})
	}
}

func TestReplacedStubNotInFinalWork(t *testing.T) {
	p := Auto(osFile(t, "read\n"), entries(ent{name: "c1", req: "read", stub: "openat"}, ent{name: "c2", req: "read openat"}), Bench, nil, nil, false)
	if strings.Join(p.Work.Stub, " ") != "" || strings.Join(p.Work.Implement, " ") != "openat" {
		t.Errorf("work: %+v", p.Work)
	}
	if len(p.Steps[1].Notes) != 1 || !strings.Contains(p.Steps[1].Notes[0], "openat: stub/fake from step 0 replaced") {
		t.Errorf("notes: %v", p.Steps[1].Notes)
	}
}

func TestParseOSAndCosts(t *testing.T) {
	if _, err := ParseOS("x", strings.NewReader("read,maybe\n")); err == nil || !strings.Contains(err.Error(), "x:1: field status") {
		t.Errorf("bad status: %v", err)
	}
	if _, err := ParseOS("x", strings.NewReader("read\nread,stubbed\n")); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("conflict: %v", err)
	}
	o, err := ParseOS("x", strings.NewReader("# comment\nread\nnot_a_syscall\n\nwrite,faked\n"))
	if want := `x:3: field name: unknown amd64 syscall "not_a_syscall" (did you mean "afs_syscall"?); kept, but no data can use it`; len(o.Warnings) != 1 || o.Warnings[0] != want {
		t.Errorf("warnings %q, want %q", o.Warnings, want)
	}
	if o2, _ := ParseOS("Gvisor.syscalls", strings.NewReader("read\nfutimensat\n")); o2 == nil || len(o2.Warnings) != 1 ||
		!strings.Contains(o2.Warnings[0], `Gvisor.syscalls:2: field name: unknown amd64 syscall "futimensat" (did you mean "futimesat"?)`) {
		t.Errorf("futimensat: %+v", o2)
	}
	if err != nil || o.State["write"] != Faked || o.State["read"] != Implemented || strings.Join(o.Unknown, ",") != "not_a_syscall" {
		t.Errorf("ParseOS: %+v %v", o, err)
	}
	if _, err := ParseCosts("c", strings.NewReader("clone 0\n")); err == nil || !strings.Contains(err.Error(), "c:1: field cost") {
		t.Errorf("zero cost: %v", err)
	}
	if _, err := ParseCosts("c", strings.NewReader("clonee 2\n")); err == nil || !strings.Contains(err.Error(), "did you mean") {
		t.Errorf("typo: %v", err)
	}
	c, err := ParseCosts("c", strings.NewReader("clone 2.5\nfork,1\n"))
	if err != nil || c["clone"] != 2.5 || c["fork"] != 1 {
		t.Errorf("costs %v %v", c, err)
	}
}

// check replays a plan from the OS state and verifies, with the apps'
// own maps (not the planner's bitsets), that every app is supported from
// its step on and at every later step, that no app without data is ever
// supported, and that every app with data is supported at the end.
func check(t *testing.T, label string, o *OS, apps []*App, p *Plan) {
	t.Helper()
	byName := map[string]*App{}
	for _, a := range apps {
		byName[a.Name] = a
	}
	state := map[string]Action{}
	for k, v := range o.State {
		state[k] = v
	}
	ok := func(a *App) string {
		for s, st := range a.Syscalls {
			switch state[s] {
			case Implemented:
			case Stubbed:
				if st&dataset.Tested == 0 || st&dataset.StubOK == 0 {
					return s + " is stubbed but " + a.Name + " needs more"
				}
			case Faked:
				if st&dataset.Tested == 0 || st&dataset.FakeOK == 0 {
					return s + " is faked but " + a.Name + " needs more"
				}
			default:
				return s + " is absent"
			}
		}
		return ""
	}
	nodata := map[string]bool{}
	for _, n := range p.NoData {
		nodata[n.App] = true
	}
	var supported []*App
	seen := map[string]bool{}
	for _, s := range p.Steps {
		for _, x := range s.Implement {
			state[x] = Implemented
		}
		for _, x := range s.Stub {
			state[x] = Stubbed
		}
		for _, x := range s.Fake {
			state[x] = Faked
		}
		for _, u := range s.Unlocks {
			if nodata[u.App] || byName[u.App] == nil {
				t.Errorf("%s: step %d supports %s, which has no data", label, s.Number, u.App)
				continue
			}
			if seen[u.App] {
				t.Errorf("%s: %s unlocked twice", label, u.App)
			}
			seen[u.App] = true
			supported = append(supported, byName[u.App])
		}
		for _, a := range supported {
			if why := ok(a); why != "" {
				t.Errorf("%s: after step %d, %s is counted supported but %s", label, s.Number, a.Name, why)
			}
		}
	}
	if len(seen) != len(apps) {
		t.Errorf("%s: %d of %d apps supported at the end", label, len(seen), len(apps))
	}
}

// TestWholeLoupeDB plans the whole upstream dataset for every OS file and
// every workload selection: deterministic across runs, and no application
// is both "supported" and missing something it needs.
func TestWholeLoupeDB(t *testing.T) {
	db := testutil.LoupeDB(t)
	es, _, err := loupedb.Import(db)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(db, "*.syscalls"))
	if len(files) != 11 {
		t.Fatalf("%d OS files in %s, want 11", len(files), db)
	}
	for _, f := range files {
		o, err := ReadOS(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Unknown) > 0 {
			t.Logf("%s: names that are not amd64 syscalls: %v", o.Name, o.Unknown)
		}
		for _, w := range []Workload{Bench, Suite, Any} {
			for _, naive := range []bool{false, true} {
				label := fmt.Sprintf("%s/%s/naive=%v", o.Name, w, naive)
				p1 := Auto(o, es, w, nil, nil, naive)
				var b1, b2 bytes.Buffer
				Write(&b1, p1, "json")
				// Reversed input order must not matter.
				rev := append([]dataset.Entry(nil), es...)
				for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
					rev[i], rev[j] = rev[j], rev[i]
				}
				Write(&b2, Auto(o, rev, w, nil, nil, naive), "json")
				if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
					t.Errorf("%s: plan differs between runs", label)
				}
				apps, _ := Apps(es, w, naive, nil)
				check(t, label, o, apps, p1)
				checkEvidence(t, label, db, es, w, naive, p1)
			}
		}
	}
}

// checkEvidence checks, independently of Apps, that every application a
// plan supports has evidence: a status ok entry of the selected workload
// kind (mode analyze unless naive), and that applications whose loupedb
// directory has no workload of that kind (read from the tree itself) are
// "no data".
func checkEvidence(t *testing.T, label, db string, es []dataset.Entry, w Workload, naive bool, p *Plan) {
	t.Helper()
	usable := map[string]bool{}
	for _, e := range es {
		if e.Status == "ok" && (naive || e.Mode == "analyze") && w.matches(e.Workload.Kind) {
			usable[e.Name] = true
		}
	}
	for _, s := range p.Steps {
		for _, u := range s.Unlocks {
			if !usable[u.App] {
				t.Errorf("%s: step %d supports %s, which has no usable %s entry", label, s.Number, u.App, w)
			}
		}
	}
	if w == Any {
		return
	}
	nodata := map[string]bool{}
	for _, n := range p.NoData {
		nodata[n.App] = true
	}
	prefix := map[Workload]string{Bench: "benchmark-", Suite: "suite"}[w]
	dirs, err := os.ReadDir(filepath.Join(db, "apps"))
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, d := range dirs {
		ws, _ := os.ReadDir(filepath.Join(db, "apps", d.Name()))
		has := false
		for _, x := range ws {
			has = has || strings.HasPrefix(x.Name(), prefix)
		}
		if !has {
			missing++
			if !nodata[d.Name()] {
				t.Errorf("%s: %s has no %s* workload directory but is not listed as no data", label, d.Name(), prefix)
			}
		}
	}
	if w == Bench && missing == 0 {
		t.Errorf("%s: every loupedb app has a benchmark: the no-data check checked nothing", label)
	}
}

// FuzzParseOS: an OS file parses or fails naming the file; never panics.
func FuzzParseOS(f *testing.F) {
	f.Add([]byte("read\nwrite\n# c\n\nfutimensat\n"))
	f.Add([]byte("name,status\nread,implemented\nwrite,stubbed\nopen,faked\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseOS("os", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "os:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(o.Warnings) != len(o.Unknown) {
			t.Fatalf("%d warnings for %d unknown names", len(o.Warnings), len(o.Unknown))
		}
	})
}

// TestPlanFormats: the yaml and json forms carry the schema key first and
// the same content (golden files, the examples doc/plan.md describes).
func TestPlanFormats(t *testing.T) {
	p := Auto(osFile(t, "read\n"), entries(
		ent{name: "a1", req: "read", stub: "openat"},
		ent{name: "a2", req: "read write", fake: "close", feat: map[string]string{"ioctl:TCGETS": "stub"}},
		ent{name: "a3", status: "insensitive", both: "read"},
	), Bench, nil, nil, false)
	for _, f := range []string{"json", "yaml"} {
		var buf bytes.Buffer
		if err := Write(&buf, p, f); err != nil {
			t.Fatal(err)
		}
		first := strings.SplitN(buf.String(), "\n", 3)
		if f == "yaml" && first[0] != "schema: "+Schema || f == "json" && strings.TrimSpace(first[1]) != `"schema": "`+Schema+`",` {
			t.Errorf("%s does not start with the schema key: %q", f, first)
		}
		golden(t, "plan-formats."+f, buf.Bytes())
	}
	if err := Write(&bytes.Buffer{}, p, "xml"); err == nil || !strings.Contains(err.Error(), "want text, yaml or json") {
		t.Errorf("format xml: %v", err)
	}
}
