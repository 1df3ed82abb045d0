package plan

import (
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/pseudofile"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

// What an OS file means when a workload runs on that OS (loupe simulate,
// doc/simulate.md). For the whitelisted binaries:
//   - an implemented syscall runs; a stubbed one returns -ENOSYS and a faked
//     one 0, without running;
//   - a syscall the file does not list returns -ENOSYS: an OS lacking it;
//   - when the file names sub-features of an implemented syscall, that
//     syscall's other sub-features are lacking too (-ENOSYS);
//   - when the file names any pseudo-file, every pseudo-file it does not
//     cover (a directory covers what lies under it) is absent (-ENOENT); a
//     faked one exists and is empty.

// SimRule is one intervention of a simulation, in the tracer's rule keys
// (tracer.Rule): Implemented means the call runs (an exemption from a
// wildcard), Stubbed and Faked what they say. The wildcards "*",
// "<syscall>:*" and "/*" stand for what the file does not list.
type SimRule struct {
	Feature string
	Action  Action
}

// SimulationRules returns the rules that make a workload see o, and
// warnings about lines that cannot matter (a sub-feature of a syscall the
// OS does not implement never runs).
func (o *OS) SimulationRules() ([]SimRule, []string) {
	rules := []SimRule{{Feature: "*", Action: Stubbed}}
	var warnings []string
	for _, n := range sortedNames(o.State) {
		if _, ok := abiSyscalls.Number(n); !ok {
			continue // warned about when the file was read
		}
		rules = append(rules, SimRule{n, o.State[n]})
	}
	bySys := map[string][]string{}
	for _, k := range sortedNames(o.Features) {
		sys, _, _ := strings.Cut(k, ":")
		bySys[sys] = append(bySys[sys], k)
	}
	for _, sys := range sortedNames(bySys) {
		if o.State[sys] != Implemented {
			state := "not listed"
			if a, ok := o.State[sys]; ok {
				state = a.String()
			}
			warnings = append(warnings, o.Origin[bySys[sys][0]]+": "+bySys[sys][0]+": "+sys+" is "+state+
				", so its sub-features never run; the sub-feature lines for "+sys+" have no effect")
			continue
		}
		rules = append(rules, SimRule{sys + ":*", Stubbed})
		for _, k := range bySys[sys] {
			rules = append(rules, SimRule{k, o.Features[k]})
		}
	}
	if len(o.PseudoFiles) > 0 {
		rules = append(rules, SimRule{"/*", Stubbed})
		for _, k := range sortedNames(o.PseudoFiles) {
			rules = append(rules, SimRule{k, o.PseudoFiles[k]})
		}
	}
	return rules, warnings
}

// Answer says how the OS answers a call to key (a syscall, sub-feature or
// pseudo-file key): its state, Absent when the file does not cover it, and
// where that comes from ("FILE:LINE", "plan step N", or "not listed").
func (o *OS) Answer(key string) (Action, string) {
	var m map[string]Action
	switch {
	case strings.HasPrefix(key, "/"):
		best := ""
		for k := range o.PseudoFiles {
			if pseudofile.Under(k, key) && len(k) > len(best) {
				best = k
			}
		}
		if best == "" {
			return Absent, "not listed"
		}
		origin := o.Origin[best]
		if best != key {
			origin += " (" + best + ")"
		}
		return o.PseudoFiles[best], origin
	case strings.Contains(key, ":"):
		m = o.Features
	default:
		m = o.State
	}
	if a, ok := m[key]; ok {
		return a, o.Origin[key]
	}
	return Absent, "not listed"
}

// Returns is what a call answered by state a returns, for key's kind.
func Returns(key string, a Action) string {
	pseudo := strings.HasPrefix(key, "/")
	switch {
	case a == Implemented:
		return "runs"
	case a == Faked && pseudo:
		return "empty file"
	case a == Faked:
		return "0"
	case pseudo:
		return "-ENOENT"
	}
	return "-ENOSYS"
}

// sortedNames returns m's keys: syscalls in number order, others by name.
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return dataset.SyscallLess(out[i], out[j]) })
	return out
}
