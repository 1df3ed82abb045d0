package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/yamlenc"
)

// Write renders p as text, yaml or json.
func Write(w io.Writer, p *Plan, format string) error {
	switch format {
	case "text", "":
		return WriteText(w, p)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(p)
	case "yaml":
		b, err := yamlenc.Marshal(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("format %q: want text, yaml or json", format)
}

// WriteText renders p as a readable step list.
func WriteText(w io.Writer, p *Plan) error {
	var b strings.Builder
	title := "Support plan"
	if p.Kind == KindNaive {
		title = "NAIVE support plan (implement everything traced; no stub/fake evidence)"
	}
	fmt.Fprintf(&b, "%s for %s (implements %d, stubs %d, fakes %d syscalls), workload %s\n",
		title, p.OS, p.OSState.Implemented, p.OSState.Stubbed, p.OSState.Faked, p.Workload)
	fmt.Fprintf(&b, "%d applications with usable data, %d without (listed at the end)\n", p.Apps, len(p.NoData))
	fmt.Fprintf(&b, "Objective: %s.\n", p.Objective)
	for _, wn := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn)
	}
	for _, s := range p.Steps {
		if s.Number == 0 {
			fmt.Fprintf(&b, "\nStep 0: supported without implementing anything (%d apps)\n", len(s.Unlocks))
		} else {
			fmt.Fprintf(&b, "\nStep %d: cost %s, +%d apps (total %d supported, %d syscalls implemented, cost %s)\n",
				s.Number, num(s.Cost), len(s.Unlocks), s.Supported, s.Implemented, num(s.CumulativeCost))
		}
		line(&b, "implement", s.Implement)
		line(&b, "stub", s.Stub)
		line(&b, "fake", s.Fake)
		if f := s.Features; f != nil {
			line(&b, "features: implement", f.Implement)
			line(&b, "features: stub", f.Stub)
			line(&b, "features: fake", f.Fake)
		}
		if f := s.PseudoFiles; f != nil {
			line(&b, "pseudo-files: provide", f.Implement)
			line(&b, "pseudo-files: may be absent", f.Stub)
			line(&b, "pseudo-files: empty is enough", f.Fake)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
		var us []string
		for _, u := range s.Unlocks {
			x := u.App
			var rel []string
			if len(u.Stub) > 0 {
				rel = append(rel, "stub "+strings.Join(u.Stub, " "))
			}
			if len(u.Fake) > 0 {
				rel = append(rel, "fake "+strings.Join(u.Fake, " "))
			}
			if len(rel) > 0 {
				x += " (" + strings.Join(rel, "; ") + ")"
			}
			us = append(us, x)
		}
		if len(us) > 0 {
			fmt.Fprintf(&b, "  unlocks:   %s\n", strings.Join(us, ",\n             "))
		}
	}
	fmt.Fprintf(&b, "\nTotal work: implement %d (cost %s), stub %d, fake %d\n", len(p.Work.Implement), num(p.Work.Cost), len(p.Work.Stub), len(p.Work.Fake))
	line(&b, "implement", p.Work.Implement)
	line(&b, "stub", p.Work.Stub)
	line(&b, "fake", p.Work.Fake)
	if len(p.NoData) > 0 {
		fmt.Fprintf(&b, "\nNo data (never counted as supported):\n")
		for _, n := range p.NoData {
			fmt.Fprintf(&b, "  %s: %s\n", n.App, n.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func line(b *strings.Builder, label string, xs []string) {
	if len(xs) == 0 {
		return
	}
	fmt.Fprintf(b, "  %-10s %s\n", label+":", strings.Join(xs, " "))
}

func num(f float64) string { return fmt.Sprintf("%g", f) }
