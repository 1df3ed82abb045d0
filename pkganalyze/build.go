package pkganalyze

import (
	"fmt"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/verdict"
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
	// A syscall is required when one of its required sub-features is.
	idx := map[string]int{}
	for i, s := range vb.Syscalls {
		idx[s.Name] = i
	}
	for _, ft := range vb.Features {
		i, ok := idx[ParentSyscall(ft.Key)]
		if !ok || !ft.Required {
			continue
		}
		s := &vb.Syscalls[i]
		if !s.Required {
			s.Required = true
			s.Evidence = append(s.Evidence, "required because its sub-feature "+ft.Key+" is")
		}
	}
	return vb
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
