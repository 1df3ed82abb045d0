package report

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/plan"
)

// niceStep returns a tick step of 1, 2 or 5 times a power of ten giving
// about n ticks up to max.
func niceStep(max float64, n int) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return math.Max(1, m*p)
		}
	}
	return 10 * p
}

type chart struct {
	b                     strings.Builder
	w, h                  int
	left, right, top, bot int
	xmax, ymax            float64
	xlabel, ylabel, ysufx string
}

func (c *chart) x(v float64) float64 {
	return float64(c.left) + v/c.xmax*float64(c.w-c.left-c.right)
}
func (c *chart) y(v float64) float64 {
	return float64(c.h-c.bot) - v/c.ymax*float64(c.h-c.top-c.bot)
}

func (c *chart) axes() {
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans,Arial,sans-serif" font-size="12" role="img">`, c.w, c.h, c.w, c.h)
	fmt.Fprintf(&c.b, `<rect width="%d" height="%d" fill="#fff"/>`, c.w, c.h)
	xs := niceStep(c.xmax, 10)
	for v := 0.0; v <= c.xmax+1e-9; v += xs {
		x := c.x(v)
		fmt.Fprintf(&c.b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>`, x, c.top, x, c.h-c.bot)
		fmt.Fprintf(&c.b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%g</text>`, x, c.h-c.bot+16, v)
	}
	ys := niceStep(c.ymax, 6)
	for v := 0.0; v <= c.ymax+1e-9; v += ys {
		y := c.y(v)
		fmt.Fprintf(&c.b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`, c.left, y, c.w-c.right, y)
		fmt.Fprintf(&c.b, `<text x="%d" y="%.1f" text-anchor="end" fill="#444">%g%s</text>`, c.left-6, y+4, v, c.ysufx)
	}
	fmt.Fprintf(&c.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`, c.left, c.h-c.bot, c.w-c.right, c.h-c.bot)
	fmt.Fprintf(&c.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`, c.left, c.top, c.left, c.h-c.bot)
	fmt.Fprintf(&c.b, `<text x="%d" y="%d" text-anchor="middle" font-size="13" fill="#222">%s</text>`, (c.left+c.w-c.right)/2, c.h-8, html.EscapeString(c.xlabel))
	fmt.Fprintf(&c.b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle" font-size="13" fill="#222">%s</text>`, (c.top+c.h-c.bot)/2, html.EscapeString(c.ylabel))
}

// legend draws items in a boxed legend; right puts it in the lower right
// corner (for curves that rise from the left), else in the upper right.
func (c *chart) legend(items [][3]string, lowerRight bool) rect { // colour, dash, label
	wmax := 0
	for _, it := range items {
		wmax = max(wmax, len(it[2]))
	}
	bw, bh := 52+13*wmax/2, 20*len(items)+8
	x, y := c.w-c.right-bw-12, c.top+8
	if lowerRight {
		y = c.h - c.bot - bh - 12
	}
	fmt.Fprintf(&c.b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#fff" fill-opacity="0.92" stroke="#ccc"/>`, x, y, bw, bh)
	box := rect{float64(x), float64(y), float64(x + bw), float64(y + bh)}
	x, y = x+10, y+14
	for i, it := range items {
		yy := y + 20*i
		fmt.Fprintf(&c.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3" stroke-dasharray="%s"/>`, x, yy, x+28, yy, it[0], it[1])
		fmt.Fprintf(&c.b, `<text x="%d" y="%d" fill="#222">%s</text>`, x+36, yy+4, html.EscapeString(it[2]))
	}
	return box
}

// rect is a box in screen coordinates: x0 <= x1, y0 <= y1.
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) overlaps(o rect) bool {
	return r.x0 < o.x1 && o.x0 < r.x1 && r.y0 < o.y1 && o.y0 < r.y1
}

// crossedBy reports whether the axis-parallel segment (ax,ay)-(bx,by) (a
// step curve is made of them) passes through r.
func (r rect) crossedBy(ax, ay, bx, by float64) bool {
	return r.overlaps(rect{min(ax, bx) - 0.5, min(ay, by) - 0.5, max(ax, bx) + 0.5, max(ay, by) + 0.5})
}

// effortSVG draws apps supported vs syscalls implemented, as steps, and
// labels the steps of the plan (loupe's, or the naive one with traceOnly)
// with the syscalls they implement, where a label fits without covering a
// curve, the legend or another label; every step's point names them on
// hover.
func effortSVG(lp, np *plan.Plan, traceOnly bool) string {
	c := &chart{w: 960, h: 440, left: 64, right: 24, top: 16, bot: 52,
		xlabel: "syscalls implemented (beyond the starting OS)", ylabel: "applications supported"}
	last := func(p *plan.Plan) plan.Step { return p.Steps[len(p.Steps)-1] }
	c.xmax = math.Max(1, float64(max(last(lp).Implemented, last(np).Implemented)))
	c.ymax = math.Max(1, float64(max(last(lp).Supported, last(np).Supported)))
	c.axes()
	// segs are the curves' segments, which labels must not cover.
	var segs [][4]float64
	line := func(p *plan.Plan, col, dash string) {
		var pts []string
		var px, py float64
		for i, s := range p.Steps {
			x, y := c.x(float64(s.Implemented)), c.y(float64(s.Supported))
			if i > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, py))
				segs = append(segs, [4]float64{px, py, x, py}, [4]float64{x, py, x, y})
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			px, py = x, y
		}
		fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-dasharray="%s"/>`, strings.Join(pts, " "), col, dash)
		for _, s := range p.Steps {
			what := ""
			if len(s.Implement) > 0 {
				what = ": implement " + strings.Join(s.Implement, " ")
			}
			fmt.Fprintf(&c.b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>step %d%s; %d syscalls implemented, %d applications</title></circle>`,
				c.x(float64(s.Implemented)), c.y(float64(s.Supported)), col, s.Number, html.EscapeString(what), s.Implemented, s.Supported)
		}
	}
	line(np, colNaive, "7 4")
	items := [][3]string{{colNaive, "7 4", fmt.Sprintf("naive: implement everything traced (%d for all %d)", last(np).Implemented, last(np).Supported)}}
	labelled := np
	if !traceOnly {
		line(lp, colLoupe, "")
		items = append([][3]string{{colLoupe, "", fmt.Sprintf("loupe plan (%d syscalls for all %d)", last(lp).Implemented, last(lp).Supported)}}, items...)
		labelled = lp
	}
	boxes := []rect{c.legend(items, true)}
	plot := rect{float64(c.left), float64(c.top), float64(c.w - c.right), float64(c.h - c.bot)}
	free := func(r rect) bool {
		if r.x0 < plot.x0+2 || r.x1 > plot.x1 || r.y0 < plot.y0 || r.y1 > plot.y1-2 {
			return false
		}
		for _, b := range boxes {
			if r.overlaps(b) {
				return false
			}
		}
		for _, sg := range segs {
			if r.crossedBy(sg[0], sg[1], sg[2], sg[3]) {
				return false
			}
		}
		return true
	}
	for _, s := range labelled.Steps {
		if len(s.Implement) == 0 {
			continue
		}
		text := stepLabel(s.Implement)
		w := labelWidth(text)
		cx, cy := c.x(float64(s.Implemented)), c.y(float64(s.Supported))
		// Above left of the step's corner (where the curve never is), then
		// above right, then below right.
		for _, cand := range []struct {
			r      rect
			x, y   float64
			anchor string
		}{
			{rect{cx - 4 - w, cy - 15, cx - 4, cy - 3}, cx - 4, cy - 5, "end"},
			{rect{cx + 4, cy - 15, cx + 4 + w, cy - 3}, cx + 4, cy - 5, "start"},
			{rect{cx + 4, cy + 3, cx + 4 + w, cy + 15}, cx + 4, cy + 13, "start"},
		} {
			if free(cand.r) {
				boxes = append(boxes, cand.r)
				fmt.Fprintf(&c.b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="10" fill="#333" class="step">%s</text>`,
					cand.x, cand.y, cand.anchor, html.EscapeString(text))
				break
			}
		}
	}
	c.b.WriteString("</svg>")
	return c.b.String()
}

// stepLabel names the syscalls a step implements: all of them when few,
// else the first ones and how many more.
func stepLabel(names []string) string {
	if len(names) <= 4 {
		return strings.Join(names, " ")
	}
	return fmt.Sprintf("%s +%d", strings.Join(names[:3], " "), len(names)-3)
}

// labelWidth estimates the width of 10 px DejaVu Sans text (a little more
// than its widest lower-case letters average), so labels do not collide.
func labelWidth(s string) float64 { return 6.2 * float64(len(s)) }

// importanceSVG draws, per method, the share of apps needing each syscall,
// syscalls ranked by that share. With traceOnly only the naive series is
// drawn. With an OS, a strip under the axis marks, at each rank of the
// loupe series (the naive one with traceOnly), whether the OS implements
// that syscall (dark), stubs or fakes it (light), or lacks it (empty).
func importanceSVG(apps []*plan.App, traceOnly bool, o *plan.OS) string {
	need, used := importance(apps)
	n := float64(max(len(apps), 1))
	rn, ru := ranked(need), ranked(used)
	c := &chart{w: 960, h: 400, left: 64, right: 24, top: 16, bot: 52, ysufx: "%",
		xlabel: "syscalls, ranked by importance", ylabel: "applications that need it"}
	if o != nil {
		c.h, c.bot = 430, 82
	}
	c.xmax = math.Max(1, float64(len(ru)))
	c.ymax = 100
	c.axes()
	series := func(r []string, m map[string]int, col, dash string) {
		var pts []string
		for i, s := range r {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(float64(i+1)), c.y(100*float64(m[s])/n)))
		}
		fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-dasharray="%s"/>`, strings.Join(pts, " "), col, dash)
	}
	series(ru, used, colNaive, "7 4")
	rug, rugM := rn, need
	if !traceOnly {
		series(rn, need, colLoupe, "")
	} else {
		rug, rugM = ru, used
	}
	over := func(r []string, m map[string]int, share float64) int {
		k := 0
		for _, s := range r {
			if float64(m[s])/n > share {
				k++
			}
		}
		return k
	}
	items := [][3]string{{colNaive, "7 4", fmt.Sprintf("naive: %d syscalls traced in some app, %d in more than half", len(ru), over(ru, used, .5))}}
	if !traceOnly {
		items = append([][3]string{{colLoupe, "", fmt.Sprintf("loupe: %d syscalls needed by some app, %d by more than half", len(rn), over(rn, need, .5))}}, items...)
	}
	c.legend(items, false)
	if o != nil {
		y := c.h - c.bot + 24
		fmt.Fprintf(&c.b, `<text x="%d" y="%d" text-anchor="end" font-size="11" fill="#444">%s</text>`, c.left-6, y+9, html.EscapeString(shortName(o.Name)))
		cw := math.Max(1, c.x(1)-c.x(0)-0.5)
		for i, s := range rug {
			a := o.State[s]
			if a == plan.Absent {
				continue
			}
			fill := colHas
			if a != plan.Implemented {
				fill = colHasPart
			}
			fmt.Fprintf(&c.b, `<rect x="%.1f" y="%d" width="%.1f" height="10" fill="%s"><title>%s: %s by %s; needed by %.0f%% of the applications</title></rect>`,
				c.x(float64(i+1))-cw/2, y, cw, fill, html.EscapeString(s), a, html.EscapeString(o.Name), 100*float64(rugM[s])/n)
		}
		fmt.Fprintf(&c.b, `<text x="%d" y="%d" font-size="11" fill="#444"><tspan fill="%s">&#9632;</tspan> implemented by %s  <tspan fill="%s">&#9632;</tspan> stubbed or faked  (gaps: what it lacks)</text>`,
			c.left, y+26, colHas, html.EscapeString(o.Name), colHasPart)
	}
	c.b.WriteString("</svg>")
	return c.b.String()
}

// shortName fits an OS name in the importance chart's left margin.
func shortName(s string) string {
	if len(s) > 9 {
		return s[:8] + "…"
	}
	return s
}

// byImportance orders the syscalls used by apps by importance (the grid's
// columns, the importance table's rows): most applications needing it
// implemented first, then most using it, then by number. With an OS, those
// it lacks (does not implement) come first and the implemented ones after;
// split is where they start.
func byImportance(apps []*plan.App, o *plan.OS) (cols []string, split int) {
	need, used := importance(apps)
	cols = ranked(used)
	sort.SliceStable(cols, func(i, j int) bool { return need[cols[i]] > need[cols[j]] })
	split = len(cols)
	if o != nil {
		var lacks, has []string
		for _, s := range cols {
			if o.State[s] == plan.Implemented {
				has = append(has, s)
			} else {
				lacks = append(lacks, s)
			}
		}
		cols, split = append(lacks, has...), len(lacks)
	}
	return cols, split
}

// gridHTML draws one row per app and one column per syscall used by any
// app (byImportance's order), as three SVGs in a scrolling box: the column
// labels stay at the top and the row labels at the left while the cells
// scroll (CSS position: sticky; no script). With an OS, the cells whose
// need the OS already meets are faded, the columns of what it implements
// come last, under their own heading.
func gridHTML(apps []*plan.App, o *plan.OS) string {
	cols, split := byImportance(apps, o)
	need, _ := importance(apps)
	// Room for the rotated column labels (9px DejaVu Sans: under 6px a
	// character) and the row labels (11px: under 7px a character).
	lcol, lrow := 0, 0
	for _, s := range cols {
		lcol = max(lcol, len(s))
	}
	for _, a := range apps {
		lrow = max(lrow, len(a.Name))
	}
	const cw, ch, gap = 11, 13, 10
	head := 6*lcol + 12
	if o != nil {
		head += 18 // the group headings
	}
	left := 7*lrow + 14
	xOf := func(i int) int {
		if i >= split && split > 0 {
			return cw*i + gap
		}
		return cw * i
	}
	gw := cw * len(cols)
	if o != nil && split > 0 && split < len(cols) {
		gw += gap
	}
	gh := ch * len(apps)
	esc := html.EscapeString
	var b strings.Builder
	svg := func(w, h int) {
		fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans,Arial,sans-serif" role="img">`, w, h, w, h)
	}
	b.WriteString(`<div class="gridbox"><div class="grow ghead"><div class="gcorner">`)
	svg(left, head)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="11" fill="#777">syscalls &#8594;</text><text x="%d" y="%d" text-anchor="end" font-size="11" fill="#777">applications &#8595;</text></svg></div>`,
		left-6, head-20, left-6, head-5)
	svg(gw, head)
	if o != nil {
		groups := []struct {
			from, to int
			text     string
		}{{0, split, fmt.Sprintf("not implemented by %s (%d), most needed first", o.Name, split)},
			{split, len(cols), fmt.Sprintf("implemented by %s (%d)", o.Name, len(cols)-split)}}
		for _, g := range groups {
			if g.to <= g.from {
				continue
			}
			x0, x1 := xOf(g.from), xOf(g.to-1)+cw
			text := g.text
			if labelWidth(text)*1.1 > float64(x1-x0) {
				text = fmt.Sprintf("%d", g.to-g.from)
			}
			fmt.Fprintf(&b, `<rect x="%d" y="2" width="%d" height="14" fill="%s"><title>%s</title></rect><text x="%d" y="13" font-size="11" fill="#222">%s</text>`,
				x0, x1-x0, map[bool]string{true: "#fdebd3", false: "#e8e8e8"}[g.from == 0], esc(g.text), x0+4, esc(text))
		}
	}
	for i, s := range cols {
		nr, _ := sysent.AMD64.Number(s)
		fill, state := "#333", ""
		if o != nil {
			if a := o.State[s]; a != plan.Absent {
				state = fmt.Sprintf("; %s by %s", a, o.Name)
				if a == plan.Implemented {
					fill = "#999"
				}
			}
		}
		fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(-90)" font-size="9" fill="%s">%s<title>%s (%d): needed by %d of %d applications%s</title></text>`,
			xOf(i)+cw-3, head-4, fill, esc(s), esc(s), nr, need[s], len(apps), esc(state))
	}
	b.WriteString(`</svg></div><div class="grow"><div class="glabels">`)
	svg(left, gh)
	for r, a := range apps {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="11" fill="#222">%s</text>`, left-6, ch*r+ch-3, esc(a.Name))
	}
	b.WriteString(`</svg></div><div>`)
	svg(gw, gh)
	b.WriteString(`<defs><pattern id="hatch-fake" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
		`<rect width="4" height="4" fill="` + colFake + `"/><rect width="2" height="4" fill="#fff"/></pattern></defs>`)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, gw, gh)
	for i := range cols {
		if i%2 == 0 {
			fmt.Fprintf(&b, `<rect x="%d" y="0" width="%d" height="%d" fill="#f7f7f7"/>`, xOf(i), cw, gh)
		}
	}
	for r := range apps {
		if r%5 == 4 {
			fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#ddd"/>`, ch*r+ch, gw, ch*r+ch)
		}
	}
	for r, a := range apps {
		y := ch * r
		for i, s := range cols {
			st, ok := a.Syscalls[s]
			if !ok {
				continue
			}
			cl := st.Class()
			fill, extra, meets := classFill[cl], "", ""
			if o != nil {
				if act := o.State[s]; act.Meets(st) {
					extra = ` fill-opacity="0.22"`
					meets = fmt.Sprintf("; %s %s it: met", o.Name, act)
				}
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"%s><title>%s: %s — %s%s</title></rect>`,
				xOf(i)+1, y+1, cw-2, ch-2, fill, extra, esc(a.Name), esc(s), classLabel[cl], esc(meets))
		}
	}
	b.WriteString(`</svg></div></div></div>`)
	return b.String()
}
