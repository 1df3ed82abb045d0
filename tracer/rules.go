package tracer

import (
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/internal/subfeature"
	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// ruleSet is Options.Rules compiled for lookup at every stop.
type ruleSet struct {
	// byNr are the whole-syscall rules, by number. A "*" rule (not Kill)
	// is expanded here into one rule per syscall no other rule names,
	// named after the syscall, so that its hits say which were missing.
	byNr    []*Rule
	killAll bool
	execNrs [2]int
	feat    featureRules // sub-feature and pseudo-file rules
}

// ValidateRule checks a rule without running anything; errors name the
// closest known syscall.
func ValidateRule(r Rule) error {
	_, err := compileRules(nativeTable, subfeature.For(runtime.GOARCH), []Rule{r})
	return err
}

func compileRules(t *sysent.Table, dec *subfeature.Decoder, rules []Rule) (*ruleSet, error) {
	rs := &ruleSet{byNr: make([]*Rule, t.Max()), execNrs: [2]int{-1, -1},
		feat: featureRules{sub: map[int]map[string]*Rule{}}}
	if nr, ok := t.Number("execve"); ok {
		rs.execNrs[0] = nr
	}
	if nr, ok := t.Number("execveat"); ok {
		rs.execNrs[1] = nr
	}
	var all *Rule             // "*" with Stub, Fake or Errno
	allowed := map[int]bool{} // whole syscalls exempted from "*"
	for i := range rules {
		r := &rules[i]
		switch r.Action {
		case Stub, Fake, Kill, Allow:
		case Errno:
			if r.Errno <= 0 || r.Errno >= 4096 {
				return nil, fmt.Errorf("rule %s: errno must be between 1 and 4095", r)
			}
			if r.Errno >= 512 && r.Errno <= 516 {
				return nil, fmt.Errorf("rule %s: errno %d is a kernel-internal restart code; the call would be re-run", r, r.Errno)
			}
		default:
			return nil, fmt.Errorf("rule for %q: unknown action %d", r.Feature, int(r.Action))
		}
		switch {
		case r.Feature == "*":
			if r.Action == Allow {
				return nil, fmt.Errorf("rule %s: allowing every syscall is the default; give no rule", r)
			}
			if rs.killAll || all != nil {
				return nil, fmt.Errorf("rule %s: \"*\" given twice", r)
			}
			if r.Action == Kill {
				rs.killAll = true
			} else {
				all = r
			}
		case strings.HasPrefix(r.Feature, "/"), strings.Contains(r.Feature, ":"):
			// A path can contain ':', so '/' is checked first.
			if err := compileFeatureRule(&rs.feat, t, dec, r); err != nil {
				return nil, err
			}
		default:
			nr, err := t.Lookup(r.Feature)
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", r, err)
			}
			if allowed[nr] {
				return nil, fmt.Errorf("rules %s=allow and %s target the same syscall", r.Feature, r)
			}
			if r.Action == Allow {
				if prev := rs.match(nr); prev != nil {
					return nil, fmt.Errorf("rules %s and %s target the same syscall", prev, r)
				}
				allowed[nr] = true
				continue
			}
			if nr >= len(rs.byNr) {
				grown := make([]*Rule, nr+1)
				copy(grown, rs.byNr)
				rs.byNr = grown
			}
			if prev := rs.byNr[nr]; prev != nil {
				return nil, fmt.Errorf("rules %s and %s target the same syscall", prev, r)
			}
			rs.byNr[nr] = r
		}
	}
	if all != nil {
		// Every number up to the table's end: names the headers lack
		// are syscall_<n>. Numbers beyond it fail with ENOSYS in the
		// kernel anyway.
		for nr := range rs.byNr {
			if rs.byNr[nr] == nil && !allowed[nr] {
				rs.byNr[nr] = &Rule{Feature: t.Name(nr), Action: all.Action, Errno: all.Errno}
			}
		}
	}
	return rs, nil
}

func (rs *ruleSet) match(nr int) *Rule {
	if nr >= 0 && nr < len(rs.byNr) {
		return rs.byNr[nr]
	}
	return nil
}

func (rs *ruleSet) isExec(nr int) bool { return nr == rs.execNrs[0] || nr == rs.execNrs[1] }

// retval is the value the skipped syscall returns.
func (r *Rule) retval() int64 {
	switch r.Action {
	case Stub:
		return -int64(unix.ENOSYS)
	case Errno:
		return -int64(r.Errno)
	}
	return 0
}
