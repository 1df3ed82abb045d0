package dataset

import (
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// FromVerdict folds a verdict file into an entry. Only the binaries the
// package ships count, never its test helpers (the helpers list, or the
// entries with shipped: false of verdicts written before it). When a
// verdict of a plain command (no source: not dh_loupe's) marks no binary
// as shipped, all its binaries count and a note says so.
func FromVerdict(v *verdict.File, prov Provenance) Entry {
	e := Entry{
		Name:         v.Package,
		Source:       v.Source,
		Version:      v.Version,
		Architecture: v.Architecture,
		Origin:       OriginVerdict,
		Workload:     Workload{Kind: v.Workload.Kind},
		Status:       string(v.Status),
		Mode:         string(v.Mode),
		Granularity:  string(v.Granularity),
		Reason:       v.Reason,
		Flaky:        v.Flaky,
	}
	if e.Workload.Kind == "" {
		e.Workload.Kind = KindSuite // dh_loupe runs the package's test suite
	}
	var bins []*verdict.Binary
	for i := range v.Binaries {
		b := &v.Binaries[i]
		if b.Shipped && (b.Package == "" || b.Package == v.Package) {
			bins = append(bins, b)
		}
	}
	if len(bins) == 0 && len(v.Binaries) > 0 && v.Source == "" {
		for i := range v.Binaries {
			bins = append(bins, &v.Binaries[i])
		}
		e.Notes = append(e.Notes, "no binary is marked shipped by this package: all exercised binaries were counted")
	}
	sys, feat, pf := map[string]State{}, map[string]State{}, map[string]State{}
	seen := map[Impact]bool{}
	impacts := func(key string, o verdict.Outcome) {
		for _, im := range o.Impact {
			x := Impact{Key: key, Action: im.Action, Metric: im.Metric, Direction: im.Direction, Effect: im.Effect}
			if !seen[x] {
				seen[x] = true
				e.Impacts = append(e.Impacts, x)
			}
		}
	}
	for _, b := range bins {
		prov.Binaries = append(prov.Binaries, b.Path)
		for _, s := range b.Syscalls {
			fold(sys, s.Name, outcomeState(s.Outcome))
			impacts(s.Name, s.Outcome)
		}
		for _, f := range b.Features {
			fold(feat, f.Key, outcomeState(f.Outcome))
			impacts(f.Key, f.Outcome)
		}
		for _, f := range b.PseudoFiles {
			fold(pf, f.Key, outcomeState(f.Outcome))
			impacts(f.Key, f.Outcome)
		}
	}
	e.Metric = v.Workload.Metric
	e.Syscalls = FeaturesFrom(sys, true)
	e.Features = FeaturesFrom(feat, false)
	e.PseudoFiles = FeaturesFrom(pf, false)
	e.Provenance = []Provenance{prov}
	return e
}

func fold(m map[string]State, k string, s State) {
	if old, ok := m[k]; ok {
		s = Combine(old, s)
	}
	m[k] = s
}

func outcomeState(o verdict.Outcome) State {
	var s State
	if o.Flaky {
		s |= IsFlaky
	}
	if o.Stub == nil && o.Fake == nil {
		return s // trace mode: untested
	}
	s |= Tested
	if o.Required {
		return s
	}
	if o.Stub != nil && *o.Stub {
		s |= StubOK
	}
	if o.Fake != nil && *o.Fake {
		s |= FakeOK
	}
	return s
}
