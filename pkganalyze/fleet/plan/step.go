package plan

import (
	"fmt"
	"sort"
	"strconv"
)

// AfterStep returns the OS o as it is after step n of p, a plan computed
// for o: every step's implement, stub and fake lists up to n applied in
// order (a later step's implementation replaces an earlier stub; a switch
// between stub and fake is listed in the later step), and so are the
// sub-feature and pseudo-file decisions. Origin records, for each name a
// step changed, "plan step K". Step 0 implements nothing but adds the
// stubs and fakes its applications need.
func (p *Plan) AfterStep(o *OS, n int) (*OS, error) {
	if n < 0 || n >= len(p.Steps) {
		return nil, fmt.Errorf("plan step %d: the plan has steps 0 to %d", n, len(p.Steps)-1)
	}
	out := &OS{Name: o.Name + " after plan step " + strconv.Itoa(n), State: map[string]Action{},
		Features: map[string]Action{}, PseudoFiles: map[string]Action{}, Origin: map[string]string{},
		Unknown: append([]string(nil), o.Unknown...), Warnings: append([]string(nil), o.Warnings...)}
	for k, v := range o.State {
		out.State[k] = v
	}
	for k, v := range o.Features {
		out.Features[k] = v
	}
	for k, v := range o.PseudoFiles {
		out.PseudoFiles[k] = v
	}
	for k, v := range o.Origin {
		out.Origin[k] = v
	}
	for _, st := range p.Steps[:n+1] {
		origin := "plan step " + strconv.Itoa(st.Number)
		set := func(m map[string]Action, names []string, a Action) {
			for _, k := range names {
				m[k] = a
				out.Origin[k] = origin
			}
		}
		set(out.State, st.Implement, Implemented)
		set(out.State, st.Stub, Stubbed)
		set(out.State, st.Fake, Faked)
		if f := st.Features; f != nil {
			set(out.Features, f.Implement, Implemented)
			set(out.Features, f.Stub, Stubbed)
			set(out.Features, f.Fake, Faked)
		}
		if f := st.PseudoFiles; f != nil {
			set(out.PseudoFiles, f.Implement, Implemented)
			set(out.PseudoFiles, f.Stub, Stubbed)
			set(out.PseudoFiles, f.Fake, Faked)
		}
	}
	return out, nil
}

// SupportedAt lists the applications the plan claims are supported after
// step n (those unlocked by steps 0 to n), sorted.
func (p *Plan) SupportedAt(n int) []string {
	var apps []string
	for _, st := range p.Steps {
		if st.Number > n {
			break
		}
		for _, u := range st.Unlocks {
			apps = append(apps, u.App)
		}
	}
	sort.Strings(apps)
	return apps
}
