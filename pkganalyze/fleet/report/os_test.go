package report

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/plan"
)

func testOS(t *testing.T, text string) *plan.OS {
	t.Helper()
	o, err := plan.ParseOS("t-os", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestRelativeToOS: with --os, the report marks what the OS implements,
// stubs or fakes in the importance chart, its table and the grid, and puts
// what it lacks first.
func TestRelativeToOS(t *testing.T) {
	// alpha: read write openat required, getrandom stub only, mkdir fake
	// only, ioctl both; beta: read mmap required, write both.
	o := testOS(t, "read\nmmap\ngetrandom,stubbed\nmkdir,stubbed\nopenat,faked\n")
	s := string(render(t, small(), Options{Title: "t", OS: o}))
	for _, want := range []string{
		"Relative to <b>t-os</b>",
		// The table: the OS's column, what it lacks first.
		"<th>t-os</th>",
		`<tr class="group"><th colspan="6">What t-os lacks: 5 syscalls used by these applications that it does not implement</th></tr>`,
		`<tr class="group has"><th colspan="6">What t-os implements: 2 of the syscalls these applications use</th></tr>`,
		// The chart's strip: implemented dark, stubbed light.
		`fill="` + colHas + `"><title>read: implemented by t-os; needed by 100% of the applications</title>`,
		`fill="` + colHasPart + `"><title>openat: faked by t-os; needed by 50% of the applications</title>`,
		// The grid: groups, faded cells where the OS meets the need.
		"<title>not implemented by t-os (5), most needed first</title>", "<title>implemented by t-os (2)</title>",
		`fill-opacity="0.22"><title>alpha: read — required (implement); t-os implemented it: met</title>`,
		`fill-opacity="0.22"><title>alpha: getrandom — stub only (-ENOSYS); t-os stubbed it: met</title>`,
		// Per application: what it lacks.
		"<th>t-os lacks</th>",
		"<tr><th>t-os lacks</th><td><code>write ioctl mkdir openat</code></td></tr>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// A stub does not meet a fake-only need, nor does a missing syscall.
	for _, notMet := range []string{"alpha: mkdir — fake only (return 0)", "alpha: openat — required (implement)", "alpha: ioctl — stub or fake"} {
		if regexp.MustCompile(`fill-opacity="0.22"><title>` + regexp.QuoteMeta(notMet)).MatchString(s) {
			t.Errorf("%s is faded, but t-os does not meet it", notMet)
		}
		if !strings.Contains(s, "<title>"+notMet+"</title>") {
			t.Errorf("no unfaded cell for %s", notMet)
		}
	}
	// Table rows: every missing syscall before every implemented one.
	rows := regexp.MustCompile(`<tr[^>]*><td><code>([a-z0-9_]+)</code></td><td class="n">\d+</td><td>(\w+)</td>`).FindAllStringSubmatch(s, -1)
	seenImpl := false
	for _, r := range rows {
		if r[2] == "implemented" {
			seenImpl = true
		} else if seenImpl {
			t.Errorf("table: %s (%s) after an implemented syscall", r[1], r[2])
		}
	}
	if len(rows) != 7 {
		t.Errorf("%d table rows, want the 7 syscalls used", len(rows))
	}
	// Without --os nothing is relative to an OS.
	plain := string(render(t, small(), Options{Title: "t"}))
	for _, no := range []string{"lacks", `fill-opacity="0.22"`, "Relative to", `class="group`} {
		if strings.Contains(plain, no) {
			t.Errorf("a report without an OS has %q", no)
		}
	}
}

// TestGridColumnsByImportance: the grid's columns go from the syscall most
// applications need implemented to the least; with an OS, what it lacks
// first.
func TestGridColumnsByImportance(t *testing.T) {
	apps, _ := plan.Apps(small().Entries, plan.Any, false, nil)
	cols, split := byImportance(apps, nil)
	// read: needed by 2; write (needed by 1, used by 2), mmap, openat
	// (needed by 1); then ioctl, mkdir, getrandom, used, not needed,
	// by number.
	if got := strings.Join(cols, " "); got != "read write mmap openat ioctl mkdir getrandom" || split != len(cols) {
		t.Errorf("columns %q split %d", got, split)
	}
	cols, split = byImportance(apps, testOS(t, "read\nioctl\n"))
	if got := strings.Join(cols, " "); got != "write mmap openat mkdir getrandom read ioctl" || split != 5 {
		t.Errorf("columns with an OS %q split %d", got, split)
	}
}

// TestEffortStepLabels: the steps of the effort curve are labelled with
// the syscalls they implement, where a label fits, and every step's point
// names them.
func TestEffortStepLabels(t *testing.T) {
	s := string(render(t, small(), Options{Title: "t"}))
	labels := regexp.MustCompile(`<text [^>]*class="step">([^<]*)</text>`).FindAllStringSubmatch(s, -1)
	if len(labels) == 0 {
		t.Fatal("no step is labelled")
	}
	p := plan.Auto(&plan.OS{State: map[string]plan.Action{}}, small().Entries, plan.Any, nil, nil, false)
	steps := map[string]bool{}
	for _, st := range p.Steps {
		if len(st.Implement) > 0 {
			steps[stepLabel(st.Implement)] = true
		}
	}
	for _, l := range labels {
		if !steps[l[1]] {
			t.Errorf("label %q is not a step's syscalls %v", l[1], steps)
		}
	}
	if !strings.Contains(s, "<title>step 1: implement ") {
		t.Error("step points do not name their syscalls")
	}
	if got := stepLabel([]string{"a", "b", "c", "d", "e"}); got != "a b c +2" {
		t.Errorf("stepLabel = %q", got)
	}
}

// TestLabelsAvoidEachOther: no two step labels of a long plan overlap, nor
// cover the curves (the loupedb plan for an OS that implements nothing has
// about 90 steps).
func TestLabelsAvoidEachOther(t *testing.T) {
	ds := loupedbDataset(t)
	s := effortSVG(plan.Auto(&plan.OS{State: map[string]plan.Action{}}, ds.Entries, plan.Any, nil, nil, false),
		plan.Auto(&plan.OS{State: map[string]plan.Action{}}, ds.Entries, plan.Any, nil, nil, true), false)
	re := regexp.MustCompile(`<text x="([0-9.]+)" y="([0-9.]+)" text-anchor="(\w+)" font-size="10" fill="#333" class="step">([^<]*)</text>`)
	var boxes []rect
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		w := labelWidth(m[4])
		r := rect{x, y - 10, x + w, y + 2}
		if m[3] == "end" {
			r.x0, r.x1 = x-w, x
		}
		for _, b := range boxes {
			if r.overlaps(b) {
				t.Errorf("label %q overlaps another", m[4])
			}
		}
		boxes = append(boxes, r)
	}
	if len(boxes) < 8 {
		t.Errorf("only %d steps labelled", len(boxes))
	}
}

func loupedbDataset(t *testing.T) *dataset.Dataset {
	es, probs, err := loupedb.Import(testutil.LoupeDB(t))
	if err != nil {
		t.Fatal(err)
	}
	return &dataset.Dataset{Schema: dataset.Schema, Entries: es, Problems: probs}
}

// gridPage is a page with the report's style and only the grid, then a
// script (in the test page, not in reports) that scrolls the grid to its
// end and writes where the labels are.
func gridPage(apps []*plan.App, o *plan.OS, script bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>%s</style></head><body>%s", pageCSS, gridHTML(apps, o))
	if script {
		b.WriteString(`<pre id="out"></pre><script>
var g = document.querySelector(".gridbox");
g.scrollLeft = 1e6; g.scrollTop = 1e6;
var box = g.getBoundingClientRect(), rows = document.querySelector(".glabels").getBoundingClientRect(),
    head = document.querySelector(".ghead").getBoundingClientRect();
document.getElementById("out").textContent = "scrolled " + (g.scrollLeft > 0 && g.scrollTop > 0) +
  " rows-left " + Math.round(rows.left - box.left - g.clientLeft) + " head-top " + Math.round(head.top - box.top - g.clientTop);
</script>`)
	}
	b.WriteString("</body></html>")
	return []byte(b.String())
}

// manyApps makes a grid larger than its box: 80 applications using 150
// syscalls each.
func manyApps(t *testing.T) []*plan.App {
	var es []dataset.Entry
	for i := range 80 {
		req := sysent.AMD64.Names()[:150]
		es = append(es, dataset.Entry{Name: fmt.Sprintf("application-%02d", i), Architecture: "amd64", Origin: dataset.OriginVerdict,
			Workload: dataset.Workload{Kind: "suite"}, Status: "ok", Mode: "analyze", Syscalls: dataset.Features{Required: req}})
	}
	apps, _ := plan.Apps(es, plan.Any, false, nil)
	return apps
}

// TestChromiumGridLabelsStay: scrolled to its bottom right corner in
// chromium, the grid still shows its row labels at the left edge of its box
// and its column labels at the top (the issue: a 2,309 px grid in a 1,200 px
// box lost them), and the screenshot shows the labels' edges.
func TestChromiumGridLabelsStay(t *testing.T) {
	b := needChromium(t)
	apps := manyApps(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "grid.html")
	os.WriteFile(page, gridPage(apps, nil, true), 0o644)
	dom := string(b.run(page, "--dump-dom", "--window-size=1280,900"))
	if !strings.Contains(dom, "scrolled true rows-left 0 head-top 0") {
		m := regexp.MustCompile(`scrolled \w+ rows-left -?\d+ head-top -?\d+`).FindString(dom)
		t.Errorf("after scrolling the grid to its end: %q, want the labels at the box's left and top edges", m)
	}
	img := b.shot(gridPage(apps, nil, true), nil, 1280, 900, os.Getenv("LOUPE_REPORT_SCREENSHOT_GRID"))
	if n := longestRun(img, colSticky, true); n < 500 {
		t.Errorf("the row labels' edge is not visible after scrolling: longest vertical line of %s is %d px", colSticky, n)
	}
	if n := longestRun(img, colSticky, false); n < 800 {
		t.Errorf("the column labels' edge is not visible after scrolling: longest horizontal line of %s is %d px", colSticky, n)
	}
}

// longestRun is the longest vertical (or horizontal) run of pixels close to
// colour hex.
func longestRun(img image.Image, hex string, vertical bool) int {
	bd := img.Bounds()
	best := 0
	outer, inner := bd.Dx(), bd.Dy()
	if !vertical {
		outer, inner = inner, outer
	}
	for o := 0; o < outer; o++ {
		run := 0
		for i := 0; i < inner; i++ {
			x, y := o, i
			if !vertical {
				x, y = i, o
			}
			if count(img, image.Rect(x, y, x+1, y+1), hex) == 1 {
				run++
				best = max(best, run)
			} else {
				run = 0
			}
		}
	}
	return best
}

// TestChromiumFakeHatched: "required" (vermillion) and "fake only" (orange)
// look alike to colour-blind readers; in chromium, a fake-only cell is
// striped with white and a required one is plain, so they differ by texture
// whatever the reader's colour vision.
func TestChromiumFakeHatched(t *testing.T) {
	b := needChromium(t)
	ds := &dataset.Dataset{Entries: []dataset.Entry{{Name: "app", Architecture: "amd64", Origin: dataset.OriginVerdict,
		Workload: dataset.Workload{Kind: "suite"}, Status: "ok", Mode: "analyze", Syscalls: dataset.Features{Required: []string{"read"}, Fake: []string{"mkdir"}}}}}
	apps, _ := plan.Apps(ds.Entries, plan.Any, false, nil)
	img := b.shot(gridPage(apps, nil, false), nil, 400, 300, "")
	// bright is the share of light pixels (white stripes, blended at
	// their edges) in the box around the pixels of colour hex.
	bright := func(hex string) (float64, int) {
		box := image.Rectangle{}
		bd := img.Bounds()
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			for x := bd.Min.X; x < bd.Max.X; x++ {
				if count(img, image.Rect(x, y, x+1, y+1), hex) == 1 {
					box = box.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
		n := 0
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				if 0.2126*float64(r>>8)+0.7152*float64(g>>8)+0.0722*float64(b>>8) > 200 {
					n++
				}
			}
		}
		if box.Empty() {
			return 0, 0
		}
		return float64(n) / float64(box.Dx()*box.Dy()), box.Dx() * box.Dy()
	}
	if share, area := bright(colFake); area == 0 || share < 0.2 {
		t.Errorf("the fake-only cell is not striped: %.0f%% white over %d px", 100*share, area)
	}
	if share, area := bright(colRequired); area == 0 || share > 0.05 {
		t.Errorf("the required cell is not plain: %.0f%% white over %d px", 100*share, area)
	}
}
