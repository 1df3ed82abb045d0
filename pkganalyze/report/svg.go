package report

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/plan"
	"salsa.debian.org/loupe-team/loupe/tracer/sysent"
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
func (c *chart) legend(items [][3]string, lowerRight bool) { // colour, dash, label
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
	x, y = x+10, y+14
	for i, it := range items {
		yy := y + 20*i
		fmt.Fprintf(&c.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3" stroke-dasharray="%s"/>`, x, yy, x+28, yy, it[0], it[1])
		fmt.Fprintf(&c.b, `<text x="%d" y="%d" fill="#222">%s</text>`, x+36, yy+4, html.EscapeString(it[2]))
	}
}

// effortSVG draws apps supported vs syscalls implemented, as steps.
// With traceOnly only the naive curve is drawn (there is no loupe plan).
func effortSVG(lp, np *plan.Plan, traceOnly bool) string {
	c := &chart{w: 960, h: 440, left: 64, right: 24, top: 16, bot: 52,
		xlabel: "syscalls implemented (beyond the starting OS)", ylabel: "applications supported"}
	last := func(p *plan.Plan) plan.Step { return p.Steps[len(p.Steps)-1] }
	c.xmax = math.Max(1, float64(max(last(lp).Implemented, last(np).Implemented)))
	c.ymax = math.Max(1, float64(max(last(lp).Supported, last(np).Supported)))
	c.axes()
	line := func(p *plan.Plan, col, dash string) {
		var pts []string
		px, py := 0.0, 0.0
		for i, s := range p.Steps {
			x, y := float64(s.Implemented), float64(s.Supported)
			if i > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(x), c.y(py)))
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(x), c.y(y)))
			px, py = x, y
		}
		_ = px
		fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-dasharray="%s"/>`, strings.Join(pts, " "), col, dash)
		for _, s := range p.Steps {
			fmt.Fprintf(&c.b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>step %d: %d syscalls implemented, %d applications</title></circle>`,
				c.x(float64(s.Implemented)), c.y(float64(s.Supported)), col, s.Number, s.Implemented, s.Supported)
		}
	}
	line(np, colNaive, "7 4")
	items := [][3]string{{colNaive, "7 4", fmt.Sprintf("naive: implement everything traced (%d for all %d)", last(np).Implemented, last(np).Supported)}}
	if !traceOnly {
		line(lp, colLoupe, "")
		items = append([][3]string{{colLoupe, "", fmt.Sprintf("loupe plan (%d syscalls for all %d)", last(lp).Implemented, last(lp).Supported)}}, items...)
	}
	c.legend(items, true)
	c.b.WriteString("</svg>")
	return c.b.String()
}

// importanceSVG draws, per method, the share of apps needing each syscall,
// syscalls ranked by that share.
// With traceOnly only the naive series is drawn.
func importanceSVG(apps []*plan.App, traceOnly bool) string {
	need, used := importance(apps)
	n := float64(max(len(apps), 1))
	rn, ru := ranked(need), ranked(used)
	c := &chart{w: 960, h: 400, left: 64, right: 24, top: 16, bot: 52, ysufx: "%",
		xlabel: "syscalls, ranked by importance", ylabel: "applications that need it"}
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
	if !traceOnly {
		series(rn, need, colLoupe, "")
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
	c.b.WriteString("</svg>")
	return c.b.String()
}

// gridSVG draws one row per app and one column per syscall used by any app.
func gridSVG(apps []*plan.App) string {
	set := map[string]bool{}
	for _, a := range apps {
		for s := range a.Syscalls {
			set[s] = true
		}
	}
	var cols []string
	for s := range set {
		cols = append(cols, s)
	}
	sort.Slice(cols, func(i, j int) bool { return dataset.SyscallLess(cols[i], cols[j]) })
	// Room for the rotated column labels (9px DejaVu Sans: under 6px a
	// character) and the row labels (11px: under 7px a character).
	lcol, lrow := 0, 0
	for _, s := range cols {
		lcol = max(lcol, len(s))
	}
	for _, a := range apps {
		lrow = max(lrow, len(a.Name))
	}
	const cw, ch = 11, 13
	top, left := 6*lcol+12, 7*lrow+12
	bottom, right := top, left
	gw, gh := cw*len(cols), ch*len(apps)
	w, h := left+gw+right, top+gh+bottom
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans,Arial,sans-serif" role="img">`, w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, w, h)
	for i, s := range cols {
		x := left + cw*i
		if i%2 == 0 {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#f7f7f7"/>`, x, top, cw, ch*len(apps))
		}
		nr, _ := sysent.AMD64.Number(s)
		fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(-90)" font-size="9" fill="#333">%s<title>%s (%d)</title></text>`, x+cw-3, top-4, html.EscapeString(s), html.EscapeString(s), nr)
		fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(-90)" text-anchor="end" font-size="9" fill="#333">%s</text>`, x+cw-3, top+gh+4, html.EscapeString(s))
	}
	for r, a := range apps {
		y := top + ch*r
		if r%5 == 4 {
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ddd"/>`, left, y+ch, left+cw*len(cols), y+ch)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="11" fill="#222">%s</text>`, left-6, y+ch-3, html.EscapeString(a.Name))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#222">%s</text>`, left+gw+6, y+ch-3, html.EscapeString(a.Name))
		for i, s := range cols {
			st, ok := a.Syscalls[s]
			if !ok {
				continue
			}
			cl := st.Class()
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %s — %s</title></rect>`,
				left+cw*i+1, y+1, cw-2, ch-2, classColour[cl], html.EscapeString(a.Name), html.EscapeString(s), classLabel[cl])
		}
	}
	b.WriteString("</svg>")
	return b.String()
}
