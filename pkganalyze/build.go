package pkganalyze

import (
	"fmt"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// build makes the verdict from what the engine concluded. Everything outside
// run_metadata comes from run outcomes only (no clock), so the same
// outcomes give the same bytes.
func (e *engine) build(status verdict.Status) *verdict.File {
	f := e.newFile(status)
	f.Flaky = e.flaky
	f.Evidence = e.evidence
	if e.obs != nil {
		for _, b := range e.obs.bins {
			f.Binaries = append(f.Binaries, e.binary(b, status))
		}
	}
	f.Conflicts = e.conflicts
	f.CombinationImpact = e.comb
	e.finish(f)
	return f
}

func (e *engine) binary(b *binObs, status verdict.Status) verdict.Binary {
	vb := verdict.Binary{Path: b.path, BuildID: b.buildID, SHA256: b.sha256, Shipped: true,
		Interpreter: b.interpreter, Processes: b.processes, Syscalls: []verdict.Syscall{}}
	for _, k := range sortedKeys(b.syscalls) {
		u := b.syscalls[k]
		vb.Syscalls = append(vb.Syscalls, verdict.Syscall{Name: k, Number: u.number, Calls: u.calls,
			Outcome: e.outcome(b.path, k, u, status)})
	}
	sort.Slice(vb.Syscalls, func(i, j int) bool { return vb.Syscalls[i].Number < vb.Syscalls[j].Number })
	for _, k := range sortedKeys(b.features) {
		u := b.features[k]
		vb.Features = append(vb.Features, verdict.Feature{Key: k, Calls: u.calls, Outcome: e.outcome(b.path, k, u, status)})
	}
	for _, k := range sortedKeys(b.pseudo) {
		u := b.pseudo[k]
		vb.PseudoFiles = append(vb.PseudoFiles, verdict.Feature{Key: k, Calls: u.calls, Outcome: e.outcome(b.path, k, u, status)})
	}
	if status != verdict.StatusOK {
		return vb
	}
	propagate(&vb)
	return vb
}

// propagate makes a syscall required when one of its sub-features is, so
// that the syscall's own verdict stays meaningful at every granularity: an OS
// that implements none of a syscall cannot provide a sub-feature that must
// work. Syscalls without decoded sub-features keep the verdict of their own
// experiments, and so do the stub and fake results of every syscall (the
// whole syscall stubbed may take the program down another path than one
// sub-feature stubbed). A sub-feature that was never exercised by its own
// experiments counts as required (untested is not "works"), conservatively,
// and the evidence says so.
func propagate(vb *verdict.Binary) {
	idx := map[string]int{}
	for i, s := range vb.Syscalls {
		idx[s.Name] = i
	}
	tested := map[string][]string{}
	untested := map[string][]string{}
	for _, ft := range vb.Features {
		p := ParentSyscall(ft.Key)
		if _, ok := idx[p]; !ok || !ft.Required {
			continue
		}
		if ft.Stub == nil && ft.Fake == nil {
			untested[p] = append(untested[p], ft.Key)
		} else {
			tested[p] = append(tested[p], ft.Key)
		}
	}
	for _, i := range idx {
		s := &vb.Syscalls[i]
		t, u := tested[s.Name], untested[s.Name]
		if s.Required || len(t)+len(u) == 0 {
			continue
		}
		s.Required = true
		if len(t) > 0 {
			s.Evidence = append(s.Evidence, fmt.Sprintf("required because its %s %s required, although the whole syscall can be %s",
				plural("sub-feature", t), isAre(t), works(s.Outcome)))
		}
		if len(u) > 0 {
			s.Evidence = append(s.Evidence, fmt.Sprintf("required because its %s %s untested (never exercised by %s own experiments), which counts as required",
				plural("sub-feature", u), isAre(u), theirIts(u)))
		}
	}
}

func plural(noun string, keys []string) string {
	if len(keys) == 1 {
		return noun + " " + keys[0]
	}
	return noun + "s " + strings.Join(keys, ", ")
}

func isAre(keys []string) string {
	if len(keys) == 1 {
		return "is"
	}
	return "are"
}

func theirIts(keys []string) string {
	if len(keys) == 1 {
		return "its"
	}
	return "their"
}

// works names the actions that hold for an outcome: "stubbed and faked",
// "stubbed", "faked".
func works(o verdict.Outcome) string {
	s, f := o.Stub != nil && *o.Stub, o.Fake != nil && *o.Fake
	switch {
	case s && f:
		return "stubbed and faked"
	case s:
		return "stubbed"
	case f:
		return "faked"
	}
	return "neither stubbed nor faked"
}

// outcome is the verdict on unit key for binary path.
func (e *engine) outcome(path, key string, use *useObs, status verdict.Status) verdict.Outcome {
	var o verdict.Outcome
	if use.replicas < e.obs.replicas {
		o.Evidence = append(o.Evidence, fmt.Sprintf("used in %d of %d baseline replicas", use.replicas, e.obs.replicas))
	}
	if status != verdict.StatusOK {
		return o
	}
	u := e.byKey[key]
	o.Stub, o.Fake = u.stub.ok, u.fake.ok
	o.Required = u.works() == "" || u.demoted
	o.Flaky = u.stub.flaky || u.fake.flaky || u.confFlaky
	o.Evidence = append(o.Evidence, u.stub.evidence...)
	o.Evidence = append(o.Evidence, u.fake.evidence...)
	switch {
	case u.confFlaky:
		o.Evidence = append(o.Evidence, "demoted by the confirmation: it failed alone in the culprit search although its own replicas passed")
	case u.demoted:
		o.Evidence = append(o.Evidence, "demoted by the confirmation: conflicts with "+strings.Join(u.confWith, ", "))
	}
	o.Impact = e.impacts[path][key]
	return o
}
