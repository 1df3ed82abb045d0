package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/plan"
)

// small is a dataset with every class, a no-data app and a problem.
func small() *dataset.Dataset {
	e := func(name string, f dataset.Features) dataset.Entry {
		return dataset.Entry{Name: name, Architecture: "amd64", Origin: dataset.OriginVerdict, Version: "1.0-1",
			Workload: dataset.Workload{Kind: "suite"}, Status: "ok", Mode: "analyze", Syscalls: f}
	}
	return &dataset.Dataset{Schema: dataset.Schema, Entries: []dataset.Entry{
		e("alpha", dataset.Features{Required: []string{"read", "write", "openat"}, Stub: []string{"getrandom"}, Fake: []string{"mkdir"}, Both: []string{"ioctl"}}),
		e("beta<script>", dataset.Features{Required: []string{"read", "mmap"}, Both: []string{"write"}}),
		{Name: "gamma", Architecture: "amd64", Origin: dataset.OriginVerdict, Workload: dataset.Workload{Kind: "suite"}, Status: "insensitive", Mode: "analyze"},
	}, Problems: []dataset.Problem{{File: "x.loupe.yaml", Line: 3, Field: "status", Msg: "bad"}}}
}

// TestSimulations: simulations folded into the dataset have a section of
// their own and a line in their application's details; a failure the plan
// claimed would pass says so.
func TestSimulations(t *testing.T) {
	ds := small()
	step, yes := 2, true
	ds.Simulations = []dataset.Simulation{
		{App: "alpha", OS: "Kerla", PlanStep: &step, Claimed: &yes, Exit: "exit 1", Command: "make check", Lacking: []string{"socket=absent", "/dev/shm=absent"}},
		{App: "beta<script>", OS: "my<os>", Passed: true, Exit: "exit 0", Command: "./t"},
	}
	s := string(render(t, ds, Options{Title: "t"}))
	for _, want := range []string{"<h2>Simulations</h2>", "<code>socket=absent /dev/shm=absent</code>", "<b>FAILED</b> (exit 1), claimed",
		"Kerla after plan step 2: FAILED (exit 1), although the plan claims it", "my&lt;os&gt;: passed"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(s), "<script") || strings.Contains(string(render(t, small(), Options{})), "<h2>Simulations") {
		t.Error("a name was not escaped, or a dataset without simulations has the section")
	}
}

// TestImpacts: an application's details list its impacts, the benchmark
// metric's changes for the worse first and in bold.
func TestImpacts(t *testing.T) {
	ds := small()
	ds.Entries[0].Impacts = []dataset.Impact{{Key: "close", Action: "stub", Metric: "max_fds", Direction: "up"},
		{Key: "prlimit64", Action: "stub", Metric: "benchmark", Direction: "down", Effect: "worse"}}
	s := string(render(t, ds, Options{Title: "t"}))
	want := `<tr><th>impact</th><td><b>prlimit64=stub: benchmark down (worse)</b><br>close=stub: max_fds up</td></tr>`
	if !strings.Contains(s, want) {
		t.Errorf("report lacks %q", want)
	}
}

func render(t *testing.T, ds *dataset.Dataset, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, ds, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSelfContained: no script, nothing fetched, names escaped, every
// figure present, and the same input gives the same bytes.
func TestSelfContained(t *testing.T) {
	out := render(t, small(), Options{Title: "t"})
	s := string(out)
	if strings.Contains(strings.ToLower(s), "<script") {
		t.Error("the report must not contain scripts (an app name was not escaped?)")
	}
	if !strings.Contains(s, "beta&lt;script&gt;") {
		t.Error("app names must be HTML-escaped")
	}
	for _, re := range []string{`src=`, `href="http`, `url\([^#]`, `@import`} {
		if regexp.MustCompile(re).MatchString(s) {
			t.Errorf("report references something external: %s", re)
		}
	}
	if n := strings.Count(s, "<svg"); n < 3 {
		t.Errorf("%d SVG figures, want the effort curve, importance and grid at least", n)
	}
	for _, want := range []string{"Effort curve", "API importance", "Syscall grid", "Support plan", "gamma", "x.loupe.yaml:3: field status: bad", "alpha: getrandom — stub only"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if !bytes.Equal(out, render(t, small(), Options{Title: "t"})) {
		t.Error("report is not deterministic")
	}
}

// browser runs Debian's headless chromium on pages.
type browser struct {
	t    *testing.T
	path string
}

func (b browser) run(page string, extra ...string) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + b.t.TempDir()}, extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, b.path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
	}
	return out
}

// shot writes html to a page, checks chromium's DOM holds want, and
// returns a w x h screenshot (kept in keep if set).
func (b browser) shot(html []byte, want []string, w, h int, keep string) image.Image {
	t := b.t
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, html, 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(b.run(page, "--dump-dom"))
	for _, x := range want {
		if !strings.Contains(dom, x) {
			t.Errorf("chromium's DOM lacks %q", x)
		}
	}
	shot := filepath.Join(dir, "report.png")
	if keep != "" {
		shot = keep
	}
	b.run(page, "--screenshot="+shot, fmt.Sprintf("--window-size=%d,%d", w, h))
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if bd := img.Bounds(); bd.Dx() != w || bd.Dy() != h {
		t.Errorf("screenshot is %v, want %dx%d", bd, w, h)
	}
	return img
}

// count counts the pixels of r close to colour hex (#RRGGBB).
func count(img image.Image, r image.Rectangle, hex string) int {
	var want [3]uint32
	for i := range want {
		var v uint32
		for _, c := range hex[1+2*i : 3+2*i] {
			v = v*16 + uint32(strings.IndexRune("0123456789ABCDEF", c))
		}
		want[i] = v
	}
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if d(cr>>8, want[0]) < 24 && d(cg>>8, want[1]) < 24 && d(cb>>8, want[2]) < 24 {
				n++
			}
		}
	}
	return n
}

func needChromium(t *testing.T) browser {
	if testing.Short() {
		t.Skip("starts a browser; skipped with -short")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (scripts/install-deps browser installs it; make test does)")
	}
	return browser{t, path}
}

// rebuildDataset is the dataset of a real `loupe rebuild` (recorded by
// debhelper/rebuild's TestSbuildRebuildDhLoupe with LOUPE_KEEP_REBUILD):
// hello-loupe and multi-loupe built by sbuild with the dh-loupe .deb, in
// dh_loupe's default trace mode.
func rebuildDataset(t *testing.T) *dataset.Dataset {
	ds, err := dataset.ReadFile("testdata/rebuild-trace.dataset.json")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestChromium renders the upstream loupedb dataset merged with a real
// rebuild's output in Debian's headless chromium and checks what a reader
// sees: the DOM holds the figures and names the rebuild's packages (as no
// analyze evidence), and the screenshot shows the two effort curves in their
// colours and a grid that is not blank. Set LOUPE_REPORT_SCREENSHOT=file.png
// to keep the screenshot and look at it.
func TestChromium(t *testing.T) {
	b := needChromium(t)
	rb := rebuildDataset(t)
	opt := Options{Title: "loupedb and a rebuild in chromium", Workload: plan.Bench}
	db := testutil.LoupeDB(t)
	es, probs, err := loupedb.Import(db)
	if err != nil {
		t.Fatal(err)
	}
	ds := &dataset.Dataset{Schema: dataset.Schema, Entries: es, Problems: probs}
	if opt.OS, err = plan.ReadOS(filepath.Join(db, "Osv.syscalls")); err != nil {
		t.Fatal(err)
	}
	ds.Entries = append(ds.Entries, rb.Entries...)
	// Relative to Osv: what it lacks first, steps labelled.
	want := []string{"<svg", "polyline", "Effort curve", "No usable evidence", "hello-loupe", "multi-loupe-scripts", "nginx",
		"What Osv lacks", "implemented by Osv", `class="step"`, "<th>Osv lacks</th>"}
	img := b.shot(render(t, ds, opt), want, 1280, 5200, os.Getenv("LOUPE_REPORT_SCREENSHOT"))
	effort := image.Rect(0, 200, 1280, 800) // the first figure
	if n := count(img, effort, colLoupe); n < 300 {
		t.Errorf("the loupe effort curve is not visible: %d pixels of %s", n, colLoupe)
	}
	if n := count(img, effort, colNaive); n < 300 {
		t.Errorf("the naive effort curve is not visible: %d pixels of %s", n, colNaive)
	}
	if n := count(img, img.Bounds(), colBoth); n < 2000 {
		t.Errorf("the syscall grid is not visible: %d pixels of %s (stub or fake)", n, colBoth)
	}
}

// TestChromiumRebuild renders the real rebuild's trace-only dataset alone:
// the naive curve and a grid of traced cells must be visible (no empty
// figures), and no loupe curve drawn. LOUPE_REPORT_SCREENSHOT_REBUILD keeps
// the screenshot.
func TestChromiumRebuild(t *testing.T) {
	b := needChromium(t)
	img := b.shot(render(t, rebuildDataset(t), Options{Title: "rebuild in chromium"}),
		[]string{"Trace data only", "Support plan (naive)", "hello-loupe", "multi-loupe-bin"}, 1280, 2600, os.Getenv("LOUPE_REPORT_SCREENSHOT_REBUILD"))
	effort := image.Rect(0, 250, 1280, 850)
	if n := count(img, effort, colNaive); n < 300 {
		t.Errorf("the naive effort curve is not visible: %d pixels of %s", n, colNaive)
	}
	if n := count(img, effort, colLoupe); n > 0 {
		t.Errorf("a trace-only report drew %d pixels of the loupe colour in the effort curve", n)
	}
	// 64 traced cells of 9x11 pixels.
	if n := count(img, img.Bounds(), colTraced); n < 3000 {
		t.Errorf("the syscall grid is not visible: %d pixels of %s (traced)", n, colTraced)
	}
}

func d(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestTraceOnly: a dataset of trace verdicts (dh_loupe's default mode, e.g.
// a rebuild) has no loupe plan, but its report still shows what was traced:
// the naive plan, the grid in the "traced" colour, the per-app tables; and
// it says why there is no loupe curve.
func TestTraceOnly(t *testing.T) {
	e := func(name string, traced ...string) dataset.Entry {
		return dataset.Entry{Name: name, Architecture: "amd64", Origin: dataset.OriginVerdict, Version: "1.0-1",
			Workload: dataset.Workload{Kind: "suite"}, Status: "ok", Mode: "trace", Syscalls: dataset.Features{Traced: traced},
			PseudoFiles: dataset.Features{Traced: []string{"/proc/self/status"}}}
	}
	ds := &dataset.Dataset{Schema: dataset.Schema, Entries: []dataset.Entry{e("tr1", "read", "write", "uname"), e("tr2", "read", "openat")}}
	s := string(render(t, ds, Options{}))
	for _, want := range []string{"Trace data only", "Support plan (naive)", `id="app-tr1"`, "tr2: openat — traced, untested", "/proc/self/status"} {
		if !strings.Contains(s, want) {
			t.Errorf("trace-only report lacks %q", want)
		}
	}
	cells := func(col string) int {
		return len(regexp.MustCompile(`<rect [^>]*fill="`+col+`"><title>`).FindAllString(s, -1))
	}
	if n := cells(colTraced); n != 5 {
		t.Errorf("%d grid cells in the traced colour, want 5 (3 + 2 syscalls)", n)
	}
	if strings.Contains(s, "loupe plan (") || strings.Contains(s, "needed (loupe)") || cells(colRequired) != 0 {
		t.Error("a trace-only report must not draw a loupe curve or required cells")
	}
}
