package priors

import (
	"fmt"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

// Counts are what earlier analyses concluded about one key: in how many it
// was used (and tested), and in how many stubbing held, faking held, and
// neither held (required).
type Counts struct {
	Used, Stub, Fake, Required int
}

func (c Counts) add(o Counts) Counts {
	return Counts{c.Used + o.Used, c.Stub + o.Stub, c.Fake + o.Fake, c.Required + o.Required}
}

// Table maps unit keys to counts. The zero value is empty; a nil *Table
// gives Default for everything.
type Table struct {
	m map[string]Counts
}

// Default is the failure rate assumed for a key no analysis has seen, and
// the value estimates are smoothed towards: as likely to fail as not, so an
// unknown intervention is tested alone first.
const Default = 0.5

// weight is the number of pseudo-analyses at rate Default mixed into every
// estimate: a key seen in two analyses that both held gets 0.25, in twenty
// about 0.05.
const weight = 2.0

// New returns a table with the given counts.
func New(m map[string]Counts) *Table {
	t := &Table{m: make(map[string]Counts, len(m))}
	for k, c := range m {
		t.m[k] = c
	}
	return t
}

// Len is the number of keys with counts.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.m)
}

// Counts returns the counts of key.
func (t *Table) Counts(key string) (Counts, bool) {
	if t == nil {
		return Counts{}, false
	}
	c, ok := t.m[key]
	return c, ok
}

// Keys returns the keys with counts, sorted.
func (t *Table) Keys() []string {
	if t == nil {
		return nil
	}
	ks := make([]string, 0, len(t.m))
	for k := range t.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// FailureRate estimates how likely action ("stub" or "fake") on key is to
// break a workload: the share of analyses in which it did not hold,
// smoothed towards Default. A sub-feature ("ioctl:TCGETS") without counts
// borrows its syscall's at half the weight; other unknown keys get Default.
func (t *Table) FailureRate(key, action string) float64 {
	c, scale, ok := t.lookup(key)
	if !ok {
		return Default
	}
	held := c.Stub
	if action == "fake" {
		held = c.Fake
	}
	n := scale * float64(c.Used)
	fails := scale * float64(c.Used-held)
	return (fails + weight*Default) / (n + weight)
}

// FailureRateGiven is FailureRate knowing whether the other action on the
// same key held (otherHeld) in this workload: among the analyses where the
// other action held (or failed), the share where this one failed, smoothed
// towards FailureRate. Stubbing and faking mostly fail together (a
// required syscall), so this sharpens the estimate a lot: in the bundled
// data, faking access fails in 64% of the programs where stubbing it fails,
// and in 2% of those where stubbing holds.
func (t *Table) FailureRateGiven(key, action string, otherHeld bool) float64 {
	prior := t.FailureRate(key, action)
	c, scale, ok := t.lookup(key)
	if !ok {
		return prior
	}
	held, other := c.Stub, c.Fake
	if action == "fake" {
		held, other = c.Fake, c.Stub
	}
	both := held + other - (c.Used - c.Required)
	var n, fails int
	if otherHeld {
		n, fails = other, other-both
	} else {
		n, fails = c.Used-other, c.Required
	}
	return (scale*float64(fails) + weight*prior) / (scale*float64(n) + weight)
}

// lookup returns the counts an estimate for key uses, and their weight:
// the key's own, or for a sub-feature without counts its syscall's at half
// the weight. ok is false when there are none.
func (t *Table) lookup(key string) (c Counts, scale float64, ok bool) {
	c, ok = t.Counts(key)
	scale = 1
	if !ok {
		if p, _, isFeature := strings.Cut(key, ":"); isFeature && !strings.HasPrefix(key, "/") {
			c, ok = t.Counts(p)
			scale = 0.5
		}
	}
	return c, scale, ok && c.Used > 0
}

// Merge returns a table with the counts of t and o added.
func (t *Table) Merge(o *Table) *Table {
	out := &Table{m: map[string]Counts{}}
	for _, x := range []*Table{t, o} {
		if x == nil {
			continue
		}
		for k, c := range x.m {
			out.m[k] = out.m[k].add(c)
		}
	}
	return out
}

// FromEntries counts the usable entries (status ok, mode analyze) of a
// dataset: every tested syscall, sub-feature and pseudo-file. Untested
// (traced) keys are not counted.
func FromEntries(es []dataset.Entry) *Table {
	t := &Table{m: map[string]Counts{}}
	for i := range es {
		e := &es[i]
		if !e.Usable() {
			continue
		}
		for _, f := range []*dataset.Features{&e.Syscalls, &e.Features, &e.PseudoFiles} {
			for k, s := range f.States() {
				if s&dataset.Tested == 0 {
					continue
				}
				c := Counts{Used: 1}
				if s&dataset.StubOK != 0 {
					c.Stub = 1
				}
				if s&dataset.FakeOK != 0 {
					c.Fake = 1
				}
				if s&(dataset.StubOK|dataset.FakeOK) == 0 {
					c.Required = 1
				}
				t.m[k] = t.m[k].add(c)
			}
		}
	}
	return t
}

// FromDataset reads a dataset file (loupe db) and counts its usable
// entries.
func FromDataset(path string) (*Table, error) {
	ds, err := dataset.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("priors: %w", err)
	}
	t := FromEntries(ds.Entries)
	if t.Len() == 0 {
		return nil, fmt.Errorf("priors: %s has no usable entry (status ok, mode analyze): nothing to learn from", path)
	}
	return t, nil
}

// Builtin is the table generated from the bundled loupedb data.
func Builtin() *Table { return New(builtin) }
