package report

import (
	_ "embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/plan"
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

var classColour = map[dataset.Class]string{dataset.ClassRequired: colRequired, dataset.ClassStub: colStub, dataset.ClassFake: colFake,
	dataset.ClassBoth: colBoth, dataset.ClassTraced: colTraced}

// classFill is what a grid cell of each class is filled with.
var classFill = map[dataset.Class]string{dataset.ClassRequired: colRequired, dataset.ClassStub: colStub, dataset.ClassFake: "url(#hatch-fake)",
	dataset.ClassBoth: colBoth, dataset.ClassTraced: colTraced}

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
func swatch(class dataset.Class) template.HTML {
	return template.HTML(`<i class="sw sw-` + string(class) + `" style="background-color:` + classColour[class] + `"></i>`)
}

var classLabel = map[dataset.Class]string{dataset.ClassRequired: "required (implement)", dataset.ClassStub: "stub only (-ENOSYS)",
	dataset.ClassFake: "fake only (return 0)", dataset.ClassBoth: "stub or fake", dataset.ClassTraced: "traced, untested"}

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

	d := &pageData{Title: opt.Title, CSS: template.CSS(pageCSS), Entries: len(ds.Entries), Problems: len(ds.Problems),
		Analyzed: len(apps), Traced: len(napps), Workload: opt.Workload, TraceOnly: traceOnly, Relative: opt.OS != nil,
		OS:    osSummary{Name: o.Name, Implemented: o.Count(plan.Implemented), Stubbed: o.Count(plan.Stubbed), Faked: o.Count(plan.Faked)},
		Loupe: loupePlan, Naive: naivePlan, NoData: nodata, Simulations: ds.Simulations, Faded: template.CSS(colRequired)}
	d.EffortCap = "Applications supported as syscalls get implemented, following loupe's support plan (stubs and fakes allowed where the tests showed them harmless) and the naive plan that implements every traced syscall. Higher and further left is less work for the same applications. Same applications and starting OS for both curves."
	d.ImportanceCap = fmt.Sprintf("For each syscall, the share of the %d applications that need it implemented: with loupe, a syscall that can be stubbed or faked is not needed; with naive tracing, every traced syscall is. Syscalls ranked from most to least important, each method ranked on its own (paper Fig. 3). The table below names the top ones.", len(shown))
	if traceOnly {
		d.EffortCap = "Applications supported as syscalls get implemented, following the naive plan that implements every traced syscall (there is no stub/fake evidence for a loupe plan)."
		d.ImportanceCap = fmt.Sprintf("For each syscall, the share of the %d traced applications that use it (naive analysis: every traced syscall is needed), ranked from most to least used (paper Fig. 3). The table below names the top ones.", len(shown))
	}
	d.EffortCap += " Each step is labelled, where there is room, with the syscalls it implements; every step's point names them on hover."
	if opt.OS != nil {
		d.ImportanceCap += " The strip under the axis marks, at each rank, a syscall " + o.Name + " implements (dark) or stubs or fakes (light); the gaps are what it lacks."
	}
	d.GridCap = "One row per application, one column per syscall used by any of them, the most needed first (needed implemented by the most applications, then used by the most). The labels stay in place while the grid scrolls. Hover a cell for its name and class (paper Fig. 5)."
	if opt.OS != nil {
		d.GridCap = fmt.Sprintf("One row per application, one column per syscall used by any of them: first the %d that %s does not implement, then the %d it implements, each group most needed first. Faded cells are needs %s already meets (implemented, or stubbed or faked where the application accepts it): what remains in full colour is the work. The labels stay in place while the grid scrolls; hover a cell for its name and class (paper Fig. 5).",
			gridSplit(shown, o), o.Name, len(columnsOf(shown))-gridSplit(shown, o), o.Name)
	}
	d.EffortSVG = template.HTML(effortSVG(loupePlan, naivePlan, traceOnly))
	d.ImportanceSVG = template.HTML(importanceSVG(shown, traceOnly, opt.OS))
	d.ImportanceTable = template.HTML(importanceTable(shown, 40, traceOnly, opt.OS))
	d.Grid = template.HTML(gridHTML(shown, opt.OS))
	for _, c := range dataset.Classes {
		d.Legend = append(d.Legend, classRow{Swatch: swatch(c), Label: classLabel[c]})
	}
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
		d.Apps = append(d.Apps, appView(ds, a, o, opt.OS != nil, stepOf[a.Name]))
	}
	for _, pr := range ds.Problems {
		d.ProblemList = append(d.ProblemList, pr.String())
	}
	return page.Execute(w, d)
}

// The page is a template (page.html.tmpl, as debiman renders its pages);
// the figures are SVG drawn by svg.go and given to it as HTML.

//go:embed page.html.tmpl
var pageTemplate string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"join":     strings.Join,
	"anchor":   anchor,
	"deref":    func(p *int) int { return *p },
	"steps":    func(p *plan.Plan) int { return len(p.Steps) - 1 },
	"claimed":  func(s dataset.Simulation) bool { return s.Claimed != nil && *s.Claimed },
	"unlocked": func(s plan.Step) string { return strings.Join(unlockedApps(s), ", ") },
}).Parse(pageTemplate))

// pageData is what the page shows.
type pageData struct {
	Title                    string
	CSS                      template.CSS
	Entries, Problems        int
	Analyzed, Traced         int // applications with analyze evidence; traced ones (naive)
	Workload                 plan.Workload
	TraceOnly, Relative      bool // no analyze evidence; relative to an OS
	OS                       osSummary
	Loupe, Naive             *plan.Plan
	EffortSVG, ImportanceSVG template.HTML
	ImportanceTable, Grid    template.HTML
	EffortCap, ImportanceCap string
	GridCap                  string
	Legend                   []classRow
	Faded                    template.CSS
	Simulations              []dataset.Simulation
	Apps                     []appDetails
	NoData                   []plan.NoData
	ProblemList              []string
}

type osSummary struct {
	Name                        string
	Implemented, Stubbed, Faked int
}

// classRow is one class of an application's features, or of the legend.
type classRow struct {
	Swatch template.HTML
	Label  string
	Keys   []string
}

// appDetails is one application's row and details.
type appDetails struct {
	Name      string
	Workloads []string
	Features  dataset.Features
	Used      int
	Lacks     []string // what the OS lacks of it
	Step      int      // the plan step that supports it; 0 if none
	Classes   []classRow
	// Keyed are its sub-features and pseudo-files, by class.
	Keyed []struct {
		Label   string
		Classes []classRow
	}
	Impacts   []impactLine
	Simulated []string
}

func appView(ds *dataset.Dataset, a *plan.App, o *plan.OS, relative bool, step int) appDetails {
	f := dataset.FeaturesFrom(a.Syscalls, true)
	v := appDetails{Name: a.Name, Workloads: a.Workloads, Features: f, Used: f.Len(), Step: step, Impacts: impactsOf(ds, a.Name)}
	if relative {
		v.Lacks = unmet(a, o)
	}
	for _, c := range dataset.Classes {
		if xs := *f.List(c); len(xs) > 0 {
			v.Classes = append(v.Classes, classRow{Swatch: swatch(c), Label: classLabel[c], Keys: xs})
		}
	}
	for _, fs := range []struct {
		label string
		m     map[string]dataset.State
	}{{"sub-features", a.Features}, {"pseudo-files", a.PseudoFiles}} {
		if len(fs.m) == 0 {
			continue
		}
		ff := dataset.FeaturesFrom(fs.m, false)
		var rows []classRow
		for _, c := range dataset.Classes {
			if xs := *ff.List(c); len(xs) > 0 {
				rows = append(rows, classRow{Label: shortLabel[c], Keys: xs})
			}
		}
		v.Keyed = append(v.Keyed, struct {
			Label   string
			Classes []classRow
		}{fs.label, rows})
	}
	for _, sm := range ds.SimulationsOf(a.Name) {
		v.Simulated = append(v.Simulated, simulationLabel(sm))
	}
	return v
}

// shortLabel names a class in the sub-feature and pseudo-file rows.
var shortLabel = map[dataset.Class]string{dataset.ClassRequired: "required", dataset.ClassStub: "stub only", dataset.ClassFake: "fake only",
	dataset.ClassBoth: "both", dataset.ClassTraced: "traced"}

func unlockedApps(s plan.Step) []string {
	var apps []string
	for _, u := range s.Unlocks {
		apps = append(apps, u.App)
	}
	return apps
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

// impactLine is one impact of an application; Worse marks the benchmark
// metric's changes for the worse.
type impactLine struct {
	Text  string
	Worse bool
}

// impactsOf lists the impacts of app's entries: what a passing stub or
// fake changed beyond noise, the benchmark figure first and its changes
// for the worse marked.
func impactsOf(ds *dataset.Dataset, app string) []impactLine {
	var bench, other []impactLine
	seen := map[string]bool{}
	for _, e := range ds.Entries {
		if e.Name != app {
			continue
		}
		for _, im := range e.Impacts {
			x := im.String()
			if seen[x] {
				continue
			}
			seen[x] = true
			switch {
			case im.Metric == verdict.MetricName:
				bench = append(bench, impactLine{x, im.Effect == verdict.EffectWorse})
			default:
				other = append(other, impactLine{Text: x})
			}
		}
	}
	return append(bench, other...)
}

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

// importance returns, per syscall, how many apps need it implemented
// (loupe) and how many use it (naive).
func importance(apps []*plan.App) (need, used map[string]int) {
	need, used = map[string]int{}, map[string]int{}
	for _, a := range apps {
		for s, st := range a.Syscalls {
			used[s]++
			if c := st.Class(); c == dataset.ClassRequired || c == dataset.ClassTraced {
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
