package report

import (
	"fmt"
	"html"
	"io"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/plan"
	"salsa.debian.org/loupe-team/loupe/tracer/sysent"
)

// Options tunes the report.
type Options struct {
	Title    string
	OS       *plan.OS // state the effort curve starts from; nil = nothing
	Workload plan.Workload
	Costs    map[string]float64
	Apps     []string // restrict to these apps
}

// Colours (Okabe-Ito). Vermillion (required) and orange (fake only) look
// alike to protanopes and deuteranopes, so "fake only" is also hatched with
// white stripes, in the grid (an SVG pattern) and in every swatch (CSS).
const (
	colRequired = "#D55E00"
	colStub     = "#0072B2"
	colFake     = "#E69F00"
	colBoth     = "#009E73"
	colTraced   = "#999999"
	colLoupe    = "#0072B2"
	colNaive    = "#D55E00"
	colHas      = "#444444" // the OS implements it
	colHasPart  = "#BBBBBB" // the OS stubs or fakes it
	colSticky   = "#778899" // the edges of the grid's fixed labels
)

var classColour = map[string]string{"required": colRequired, "stub": colStub, "fake": colFake, "both": colBoth, "traced": colTraced}

// classFill is what a grid cell of each class is filled with.
var classFill = map[string]string{"required": colRequired, "stub": colStub, "fake": "url(#hatch-fake)", "both": colBoth, "traced": colTraced}

// pageCSS is the page's style sheet. The grid's labels stay in view while
// it scrolls through position: sticky, not a script.
const pageCSS = `body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222;line-height:1.45;padding:0 16px}
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
p.lead{color:#555;margin-top:0}figure{margin:16px 0}figcaption{color:#555;font-size:14px;max-width:900px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right}
.legend span{display:inline-block;margin-right:14px;font-size:13px}.sw{display:inline-block;width:12px;height:12px;vertical-align:-1px;margin-right:4px;border:1px solid #0003}
details{margin:4px 0;font-size:14px}summary{cursor:pointer}code{font-size:12px}
.kpi{display:flex;gap:24px;flex-wrap:wrap}.kpi div{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:6px;padding:8px 14px}.kpi b{font-size:22px;display:block}
.warn{background:#fff4e5;border:1px solid #E69F00;border-radius:6px;padding:8px 14px}
.sw-fake{background-image:repeating-linear-gradient(45deg,transparent 0 2px,#fff 2px 3.5px)}
.gridbox{overflow:auto;max-height:85vh;border:1px solid #ddd;background:#fff}.gridbox svg{display:block}
.grow{display:flex;width:max-content}.ghead{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid ` + colSticky + `}
.gcorner{position:sticky;left:0;z-index:3;background:#fff;border-right:1px solid ` + colSticky + `}
.glabels{position:sticky;left:0;z-index:1;background:#fff;border-right:1px solid ` + colSticky + `}
tr.group th{background:#fdebd3;text-align:left}tr.group.has th{background:#e8e8e8}td.has{color:#777}
`

// swatch is the legend square of a class.
func swatch(class string) string {
	return `<i class="sw sw-` + class + `" style="background-color:` + classColour[class] + `"></i>`
}

var classLabel = map[string]string{"required": "required (implement)", "stub": "stub only (-ENOSYS)", "fake": "fake only (return 0)", "both": "stub or fake", "traced": "traced, untested"}

// Write renders the report for ds.
func Write(w io.Writer, ds *dataset.Dataset, opt Options) error {
	if opt.Workload == "" {
		opt.Workload = plan.Any
	}
	if opt.Title == "" {
		opt.Title = "loupe report"
	}
	o := opt.OS
	if o == nil {
		o = &plan.OS{Name: "an OS with no syscalls", State: map[string]plan.Action{}}
	}
	apps, nodata := plan.Apps(ds.Entries, opt.Workload, false, opt.Apps)
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	loupePlan := plan.Compute(o, apps, opt.Workload, plan.Options{Costs: opt.Costs})
	// The naive plan over the same applications (every used syscall
	// required); with no analyze evidence at all, over the traced ones.
	naiveOnly := names
	if len(apps) == 0 {
		naiveOnly = opt.Apps
	}
	var napps []*plan.App
	if len(naiveOnly) > 0 || len(apps) == 0 {
		napps, _ = plan.Apps(ds.Entries, opt.Workload, true, naiveOnly)
	}
	naivePlan := plan.Compute(o, napps, opt.Workload, plan.Options{Costs: opt.Costs, Naive: true})
	// Without analyze evidence (e.g. a rebuild in dh_loupe's default trace
	// mode) the figures and tables show what was traced, rather than
	// nothing: every syscall is "traced, untested" and only naive curves
	// are drawn.
	shown, traceOnly := apps, len(apps) == 0 && len(napps) > 0
	if traceOnly {
		shown = tracedView(napps)
	}

	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	esc := html.EscapeString
	p(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title>
<style>
%s</style></head><body>
`, esc(opt.Title), pageCSS)
	p("<h1>%s</h1>\n", esc(opt.Title))
	prob := len(ds.Problems)
	if traceOnly {
		p(`<p class="lead">%d dataset entries, no application with analyze evidence, %d traced applications (workload: %s), %d input problems. Effort curves start from %s (%d syscalls implemented, %d stubbed, %d faked).</p>`+"\n",
			len(ds.Entries), len(napps), esc(string(opt.Workload)), prob, esc(o.Name), o.Count(plan.Implemented), o.Count(plan.Stubbed), o.Count(plan.Faked))
	} else {
		p(`<p class="lead">%d dataset entries, %d applications with analyze evidence (workload: %s), %d without usable evidence, %d input problems. Effort curves start from %s (%d syscalls implemented, %d stubbed, %d faked).</p>`+"\n",
			len(ds.Entries), len(apps), esc(string(opt.Workload)), len(nodata), prob, esc(o.Name), o.Count(plan.Implemented), o.Count(plan.Stubbed), o.Count(plan.Faked))
	}
	if opt.OS != nil {
		p(`<p>Relative to <b>%s</b>: the importance chart marks what it implements, stubs or fakes, its table and the grid put what it lacks first, and grid cells whose need %s already meets are faded.</p>`+"\n",
			esc(o.Name), esc(o.Name))
	}
	if traceOnly {
		p(`<p class="warn"><b>Trace data only.</b> No application has analyze (stub/fake) evidence, so this report shows what the %d traced applications use: the plan is the naive one (implement everything traced) and every syscall is "traced, untested". Run dh_loupe in analyze mode (<code>DEB_BUILD_OPTIONS=loupe=analyze</code>) for a loupe plan.</p>`+"\n", len(napps))
		p(`<div class="kpi"><div><b>%d</b>syscalls to implement for all %d traced apps (naive)</div><div><b>%d</b>plan steps</div></div>`+"\n",
			len(naivePlan.Work.Implement), len(napps), len(naivePlan.Steps)-1)
	} else {
		who := "to implement"
		if opt.OS != nil {
			who = esc(o.Name) + " must implement"
		}
		p(`<div class="kpi"><div><b>%d</b>syscalls %s for all %d apps (loupe)</div><div><b>%d</b>with naive tracing</div><div><b>%d / %d</b>stubs / fakes instead</div><div><b>%d</b>plan steps</div></div>`+"\n",
			len(loupePlan.Work.Implement), who, len(apps), len(naivePlan.Work.Implement), len(loupePlan.Work.Stub), len(loupePlan.Work.Fake), len(loupePlan.Steps)-1)
	}

	effortCap := "Applications supported as syscalls get implemented, following loupe's support plan (stubs and fakes allowed where the tests showed them harmless) and the naive plan that implements every traced syscall. Higher and further left is less work for the same applications. Same applications and starting OS for both curves."
	importanceCap := "For each syscall, the share of the %d applications that need it implemented: with loupe, a syscall that can be stubbed or faked is not needed; with naive tracing, every traced syscall is. Syscalls ranked from most to least important, each method ranked on its own (paper Fig. 3). The table below names the top ones."
	if traceOnly {
		effortCap = "Applications supported as syscalls get implemented, following the naive plan that implements every traced syscall (there is no stub/fake evidence for a loupe plan)."
		importanceCap = "For each syscall, the share of the %d traced applications that use it (naive analysis: every traced syscall is needed), ranked from most to least used (paper Fig. 3). The table below names the top ones."
	}
	effortCap += " Each step is labelled, where there is room, with the syscalls it implements; every step's point names them on hover."
	if opt.OS != nil {
		importanceCap += " The strip under the axis marks, at each rank, a syscall " + esc(o.Name) + " implements (dark) or stubs or fakes (light); the gaps are what it lacks."
	}
	p("<h2>Effort curve</h2>\n<figure>%s<figcaption>%s</figcaption></figure>\n", effortSVG(loupePlan, naivePlan, traceOnly), effortCap)
	p("<h2>API importance</h2>\n<figure>%s<figcaption>"+importanceCap+"</figcaption></figure>\n", importanceSVG(shown, traceOnly, opt.OS), len(shown))
	p("%s\n", importanceTable(shown, 40, traceOnly, opt.OS))

	p("<h2>Syscall grid</h2>\n")
	p(`<div class="legend">`)
	for _, c := range []string{"required", "stub", "fake", "both", "traced"} {
		p(`<span>%s%s</span>`, swatch(c), classLabel[c])
	}
	p(`<span><i class="sw" style="background:#fff"></i>unused</span>`)
	gridCap := "One row per application, one column per syscall used by any of them, the most needed first (needed implemented by the most applications, then used by the most). The labels stay in place while the grid scrolls. Hover a cell for its name and class (paper Fig. 5)."
	if opt.OS != nil {
		p(`<span><i class="sw" style="background:%s;opacity:.22"></i>faded: %s already meets it</span>`, colRequired, esc(o.Name))
		gridCap = fmt.Sprintf("One row per application, one column per syscall used by any of them: first the %d that %s does not implement, then the %d it implements, each group most needed first. Faded cells are needs %s already meets (implemented, or stubbed or faked where the application accepts it): what remains in full colour is the work. The labels stay in place while the grid scrolls; hover a cell for its name and class (paper Fig. 5).",
			gridSplit(shown, o), esc(o.Name), len(columnsOf(shown))-gridSplit(shown, o), esc(o.Name))
	}
	p("</div>\n")
	p("<figure>%s<figcaption>%s</figcaption></figure>\n", gridHTML(shown, opt.OS), gridCap)

	if traceOnly {
		p("<h2>Support plan (naive)</h2>\n%s\n", planTable(naivePlan))
	} else {
		p("<h2>Support plan</h2>\n%s\n", planTable(loupePlan))
	}

	if len(ds.Simulations) > 0 {
		p("<h2>Simulations</h2>\n<p>Workloads run with loupe simulate as an OS (or the OS after a plan step) would answer them: what the plan claims, checked end to end. Lacking: what the workload called that the OS lacks (absent, stubbed or faked).</p>\n%s\n", simulationTable(ds.Simulations))
	}
	p("<h2>Applications</h2>\n")
	lackHead := ""
	if opt.OS != nil {
		lackHead = "<th>" + esc(o.Name) + " lacks</th>"
	}
	p("<table><tr><th>application</th><th>evidence</th><th>used</th><th>required</th><th>stub only</th><th>fake only</th><th>both</th><th>traced, untested</th>%s<th>supported at step</th></tr>\n", lackHead)
	stepOf := map[string]int{}
	shownPlan := loupePlan
	if traceOnly {
		shownPlan = naivePlan
	}
	for _, s := range shownPlan.Steps {
		for _, u := range s.Unlocks {
			stepOf[u.App] = s.Number
		}
	}
	for _, a := range shown {
		f := dataset.FeaturesFrom(a.Syscalls, true)
		lack := ""
		if opt.OS != nil {
			lack = fmt.Sprintf(`<td class="n">%d</td>`, len(unmet(a, o)))
		}
		p(`<tr><td><a href="#app-%s">%s</a></td><td>%s</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td>%s<td class="n">%d</td></tr>`+"\n",
			esc(anchor(a.Name)), esc(a.Name), esc(strings.Join(a.Workloads, ", ")), f.Len(), len(f.Required), len(f.Stub), len(f.Fake), len(f.Both), len(f.Traced), lack, stepOf[a.Name])
	}
	p("</table>\n")
	for _, a := range shown {
		f := dataset.FeaturesFrom(a.Syscalls, true)
		what := fmt.Sprintf("%d required", len(f.Required))
		if len(f.Traced) > 0 {
			what += fmt.Sprintf(", %d traced, untested", len(f.Traced))
		}
		p(`<details id="app-%s"><summary><b>%s</b> — %d syscalls used, %s</summary><table>`, esc(anchor(a.Name)), esc(a.Name), f.Len(), what)
		for _, row := range []struct {
			c  string
			xs []string
		}{{"required", f.Required}, {"stub", f.Stub}, {"fake", f.Fake}, {"both", f.Both}, {"traced", f.Traced}} {
			if len(row.xs) == 0 {
				continue
			}
			p(`<tr><th>%s%s</th><td><code>%s</code></td></tr>`, swatch(row.c), classLabel[row.c], esc(strings.Join(row.xs, " ")))
		}
		if opt.OS != nil {
			p(`<tr><th>%s lacks</th><td><code>%s</code></td></tr>`, esc(o.Name), esc(strings.Join(unmet(a, o), " ")))
		}
		for _, fs := range []struct {
			label string
			m     map[string]dataset.State
		}{{"sub-features", a.Features}, {"pseudo-files", a.PseudoFiles}} {
			if len(fs.m) == 0 {
				continue
			}
			ff := dataset.FeaturesFrom(fs.m, false)
			var parts []string
			for _, row := range []struct {
				c  string
				xs []string
			}{{"required", ff.Required}, {"stub only", ff.Stub}, {"fake only", ff.Fake}, {"both", ff.Both}, {"traced", ff.Traced}} {
				if len(row.xs) > 0 {
					parts = append(parts, row.c+": "+esc(strings.Join(row.xs, " ")))
				}
			}
			p(`<tr><th>%s</th><td><code>%s</code></td></tr>`, fs.label, strings.Join(parts, "<br>"))
		}
		if ims := impactsOf(ds, a.Name); len(ims) > 0 {
			p(`<tr><th>impact</th><td>%s</td></tr>`, strings.Join(ims, "<br>"))
		}
		if sims := ds.SimulationsOf(a.Name); len(sims) > 0 {
			var parts []string
			for _, sm := range sims {
				parts = append(parts, esc(simulationLabel(sm)))
			}
			p(`<tr><th>simulated</th><td>%s</td></tr>`, strings.Join(parts, "<br>"))
		}
		p("</table></details>\n")
	}
	if len(nodata) > 0 && traceOnly {
		p("<h2>No analyze evidence</h2>\n<p>Never counted as supported by a loupe plan; the naive plan above uses the traces.</p><table><tr><th>application</th><th>why</th></tr>\n")
	} else if len(nodata) > 0 {
		p("<h2>No usable evidence</h2>\n<p>Never counted as supported.</p><table><tr><th>application</th><th>why</th></tr>\n")
	}
	if len(nodata) > 0 {
		for _, n := range nodata {
			p("<tr><td>%s</td><td>%s</td></tr>\n", esc(n.App), esc(n.Reason))
		}
		p("</table>\n")
	}
	if prob > 0 {
		p("<h2>Input problems</h2>\n<p>These files were skipped when the dataset was built.</p><table><tr><th>problem</th></tr>\n")
		for _, pr := range ds.Problems {
			p("<tr><td><code>%s</code></td></tr>\n", esc(pr.String()))
		}
		p("</table>\n")
	}
	p("<p style=\"color:#888;font-size:12px;margin-top:40px\">Generated by loupe from a loupe/dataset/v1 file. Objective of the plan: %s.</p>\n</body></html>\n", esc(loupePlan.Objective))
	_, err := io.WriteString(w, b.String())
	return err
}

// tracedView returns copies of naive apps with every state "traced,
// untested": naive Apps marks traced syscalls required, which is what the
// plan needs but not what was observed.
func tracedView(apps []*plan.App) []*plan.App {
	out := make([]*plan.App, 0, len(apps))
	for _, a := range apps {
		c := *a
		c.Syscalls, c.Features, c.PseudoFiles = untested(a.Syscalls), untested(a.Features), untested(a.PseudoFiles)
		out = append(out, &c)
	}
	return out
}

func untested(m map[string]dataset.State) map[string]dataset.State {
	out := make(map[string]dataset.State, len(m))
	for k, s := range m {
		out[k] = s & dataset.IsFlaky
	}
	return out
}

func anchor(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// impactsOf lists, escaped, the impacts of app's entries: what a passing
// stub or fake changed beyond noise, the benchmark figure first and its
// changes for the worse in bold.
func impactsOf(ds *dataset.Dataset, app string) []string {
	var bench, other []string
	seen := map[string]bool{}
	for _, e := range ds.Entries {
		if e.Name != app {
			continue
		}
		for _, im := range e.Impacts {
			x := html.EscapeString(im.String())
			if seen[x] {
				continue
			}
			seen[x] = true
			switch {
			case im.Metric == "benchmark" && im.Effect == "worse":
				bench = append(bench, "<b>"+x+"</b>")
			case im.Metric == "benchmark":
				bench = append(bench, x)
			default:
				other = append(other, x)
			}
		}
	}
	return append(bench, other...)
}

// simulationLabel is one simulation in a few words: "Kerla step 2: passed
// (claimed)".
func simulationLabel(s dataset.Simulation) string {
	l := s.OS
	if s.PlanStep != nil {
		l += fmt.Sprintf(" after plan step %d", *s.PlanStep)
	}
	if s.Passed {
		l += ": passed"
	} else {
		l += ": FAILED (" + s.Exit + ")"
	}
	if s.Claimed != nil {
		switch {
		case *s.Claimed && !s.Passed:
			l += ", although the plan claims it: the plan is wrong for this workload"
		case *s.Claimed:
			l += ", as the plan claims"
		default:
			l += ", not claimed by the plan at that step"
		}
	}
	return l
}

func simulationTable(sims []dataset.Simulation) string {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString("<table><tr><th>application</th><th>OS</th><th>plan step</th><th>outcome</th><th>lacking, called</th><th>command</th></tr>\n")
	for _, s := range sims {
		step := ""
		if s.PlanStep != nil {
			step = fmt.Sprint(*s.PlanStep)
		}
		out := "passed"
		if !s.Passed {
			out = "<b>FAILED</b> (" + esc(s.Exit) + ")"
		}
		if s.Claimed != nil && *s.Claimed {
			out += ", claimed"
		}
		fmt.Fprintf(&b, `<tr><td><a href="#app-%s">%s</a></td><td>%s</td><td class="n">%s</td><td>%s</td><td><code>%s</code></td><td><code>%s</code></td></tr>`+"\n",
			esc(anchor(s.App)), esc(s.App), esc(s.OS), step, out, esc(strings.Join(s.Lacking, " ")), esc(s.Command))
	}
	b.WriteString("</table>")
	return b.String()
}

func planTable(p *plan.Plan) string {
	var b strings.Builder
	esc := html.EscapeString
	b.WriteString("<table><tr><th>step</th><th>implement</th><th>stub</th><th>fake</th><th>unlocks</th><th>apps</th></tr>\n")
	for _, s := range p.Steps {
		var apps []string
		for _, u := range s.Unlocks {
			apps = append(apps, u.App)
		}
		fmt.Fprintf(&b, "<tr><td class=\"n\">%d</td><td><code>%s</code></td><td><code>%s</code></td><td><code>%s</code></td><td>%s</td><td class=\"n\">%d</td></tr>\n",
			s.Number, esc(strings.Join(s.Implement, " ")), esc(strings.Join(s.Stub, " ")), esc(strings.Join(s.Fake, " ")), esc(strings.Join(apps, ", ")), s.Supported)
	}
	b.WriteString("</table>")
	return b.String()
}

// importance returns, per syscall, how many apps need it implemented
// (loupe) and how many use it (naive).
func importance(apps []*plan.App) (need, used map[string]int) {
	need, used = map[string]int{}, map[string]int{}
	for _, a := range apps {
		for s, st := range a.Syscalls {
			used[s]++
			if c := st.Class(); c == "required" || c == "traced" {
				need[s]++
			}
		}
	}
	return
}

func ranked(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if m[ks[i]] != m[ks[j]] {
			return m[ks[i]] > m[ks[j]]
		}
		return dataset.SyscallLess(ks[i], ks[j])
	})
	return ks
}

// unmet lists the syscalls of a whose need o does not meet, sorted by
// number.
func unmet(a *plan.App, o *plan.OS) []string {
	var out []string
	for s, st := range a.Syscalls {
		if !o.State[s].Meets(st) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return dataset.SyscallLess(out[i], out[j]) })
	return out
}

func columnsOf(apps []*plan.App) []string {
	cols, _ := byImportance(apps, nil)
	return cols
}

func gridSplit(apps []*plan.App, o *plan.OS) int {
	_, split := byImportance(apps, o)
	return split
}

// importanceTable lists the most important syscalls: ranked by how many
// applications need them implemented (loupe), then by how many use them.
// With an OS, the top ones it lacks come first and the top ones it
// implements after, each under a heading, with the OS's state in a column.
// With traceOnly there is no loupe column.
func importanceTable(apps []*plan.App, top int, traceOnly bool, o *plan.OS) string {
	need, used := importance(apps)
	r, split := byImportance(apps, o)
	n := max(len(apps), 1)
	esc := html.EscapeString
	var b strings.Builder
	cols := 5
	osHead := ""
	if o != nil {
		osHead = "<th>" + esc(o.Name) + "</th>"
		cols++
	}
	if traceOnly {
		cols--
		b.WriteString(`<table><tr><th>syscall</th><th>nr</th>` + osHead + `<th>used (naive)</th><th style="width:420px">share of applications</th></tr>` + "\n")
	} else {
		b.WriteString(`<table><tr><th>syscall</th><th>nr</th>` + osHead + `<th>needed (loupe)</th><th>used (naive)</th><th style="width:420px">share of applications: <i class="sw" style="background:` + colLoupe + `"></i>loupe <i class="sw" style="background:` + colNaive + `"></i>naive</th></tr>` + "\n")
	}
	row := func(s string) {
		nr, _ := sysent.AMD64.Number(s)
		pn, pu := 100*need[s]/n, 100*used[s]/n
		state, cls := "", ""
		if o != nil {
			a := o.State[s]
			state = "<td>missing</td>"
			if a != plan.Absent {
				state = "<td>" + a.String() + "</td>"
			}
			if a == plan.Implemented {
				cls = ` class="has"`
			}
		}
		if traceOnly {
			fmt.Fprintf(&b, `<tr%s><td><code>%s</code></td><td class="n">%d</td>%s<td class="n">%d%%</td><td><svg width="400" height="14" role="img" aria-label="%s"><rect x="0" y="4" width="%d" height="6" fill="%s"/></svg></td></tr>`+"\n",
				cls, esc(s), nr, state, pu, esc(s), 4*pu, colNaive)
			return
		}
		fmt.Fprintf(&b, `<tr%s><td><code>%s</code></td><td class="n">%d</td>%s<td class="n">%d%%</td><td class="n">%d%%</td><td><svg width="400" height="14" role="img" aria-label="%s"><rect x="0" y="1" width="%d" height="5" fill="%s"/><rect x="0" y="8" width="%d" height="5" fill="%s"/></svg></td></tr>`+"\n",
			cls, esc(s), nr, state, pn, pu, esc(s), 4*pn, colLoupe, 4*pu, colNaive)
	}
	if o == nil {
		for i, s := range r {
			if i == top {
				break
			}
			row(s)
		}
		b.WriteString("</table>")
		return b.String()
	}
	lacks, has := r[:split], r[split:]
	for _, g := range []struct {
		list  []string
		limit int
		cls   string
		text  string
	}{
		{lacks, top, "group", fmt.Sprintf("What %s lacks: %d syscalls used by these applications that it does not implement", o.Name, len(lacks))},
		{has, top / 2, "group has", fmt.Sprintf("What %s implements: %d of the syscalls these applications use", o.Name, len(has))},
	} {
		if len(g.list) == 0 {
			continue
		}
		text := g.text
		if len(g.list) > g.limit {
			text += fmt.Sprintf(" (the first %d)", g.limit)
		}
		fmt.Fprintf(&b, `<tr class="%s"><th colspan="%d">%s</th></tr>`+"\n", g.cls, cols, esc(text))
		for i, s := range g.list {
			if i == g.limit {
				break
			}
			row(s)
		}
	}
	b.WriteString("</table>")
	return b.String()
}
