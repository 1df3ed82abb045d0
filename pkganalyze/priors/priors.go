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
	return t.rate(key, action, Default, weight)
}

// rate is FailureRate smoothed towards prior with the weight of w
// analyses; prior itself where t has no counts for key.
func (t *Table) rate(key, action string, prior, w float64) float64 {
	c, scale, ok := t.lookup(key)
	if !ok {
		return prior
	}
	held := c.Stub
	if action == "fake" {
		held = c.Fake
	}
	n := scale * float64(c.Used)
	fails := scale * float64(c.Used-held)
	return (fails + w*prior) / (n + w)
}

// FailureRateGiven is FailureRate knowing whether the other action on the
// same key held (otherHeld) in this workload: among the analyses where the
// other action held (or failed), the share where this one failed, smoothed
// towards FailureRate. Stubbing and faking mostly fail together (a
// required syscall), so this sharpens the estimate a lot: in the bundled
// data, faking access fails in 64% of the programs where stubbing it fails,
// and in 2% of those where stubbing holds.
func (t *Table) FailureRateGiven(key, action string, otherHeld bool) float64 {
	return t.rateGiven(key, action, otherHeld, t.FailureRate(key, action), weight)
}

// rateGiven is FailureRateGiven smoothed towards prior with the weight of
// w analyses.
func (t *Table) rateGiven(key, action string, otherHeld bool, prior, w float64) float64 {
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
	return (scale*float64(fails) + w*prior) / (scale*float64(n) + w)
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
// (traced) keys are not counted. Entries whose name or source is in
// exclude are left out.
func FromEntries(es []dataset.Entry, exclude ...string) *Table {
	t := &Table{m: map[string]Counts{}}
	for i := range es {
		e := &es[i]
		if !e.Usable() || excluded(e.Name, e.Source, exclude) {
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

func excluded(name, source string, exclude []string) bool {
	for _, x := range exclude {
		if x == name || (source != "" && x == source) {
			return true
		}
	}
	return false
}

// FromDataset reads a dataset file (loupe db) and counts its usable
// entries, but those named in exclude (by name or source).
func FromDataset(path string, exclude ...string) (*Table, error) {
	ds, err := dataset.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("priors: %w", err)
	}
	t := FromEntries(ds.Entries, exclude...)
	if t.Len() == 0 {
		return nil, fmt.Errorf("priors: %s has no usable entry (status ok, mode analyze): nothing to learn from", path)
	}
	return t, nil
}

// Upstream is the table generated from the bundled upstream Loupe results
// (data/loupedb): 122 analyses of applications, many of them Go, Java and
// Python programs and servers.
func Upstream() *Table { return New(upstream) }

// Debian is the table generated from the bundled analyses of Debian
// packages' test suites (data/debian), but those whose binary package,
// source package or application name is in exclude: measuring the priors
// on a workload they have not seen leaves it out (bench/analyze).
func Debian(exclude ...string) *Table {
	t := &Table{m: map[string]Counts{}}
	for _, a := range debian {
		if excluded(a.name, a.source, exclude) {
			continue
		}
		for k, c := range a.counts {
			t.m[k] = t.m[k].add(c)
		}
	}
	return t
}

// DebianNames lists the binary packages (or applications) of the bundled
// Debian analyses, with their source package when it differs.
func DebianNames() []string {
	var out []string
	for _, a := range debian {
		n := a.name
		if a.source != "" && a.source != a.name {
			n += " (" + a.source + ")"
		}
		out = append(out, n)
	}
	return out
}

// analysis is one bundled Debian analysis in the generated table: per key,
// Counts with Used 1.
type analysis struct {
	name, source string
	counts       map[string]Counts
}

// Estimator is what the adaptive strategy asks of priors
// (pkganalyze.Priors).
type Estimator interface {
	FailureRate(key, action string) float64
	FailureRateGiven(key, action string, otherHeld bool) float64
}

// Layered estimates from Top where Top has counts for a key, smoothed
// towards Base's estimate (not towards Default) with the weight of Weight
// analyses; elsewhere it is Base. Top holds the analyses closest to the
// workloads at hand (Debian packages' test suites, a user's own rebuilds),
// Base the broader ones (upstream's applications): a key Top has seen in a
// few analyses moves the estimate most of the way, a key it has never seen
// keeps Base's.
type Layered struct {
	Top    *Table
	Base   Estimator
	Weight float64
}

// LayerWeight is Layered's default Weight: the smoothing weight of a
// Table, two analyses. Replaying the bundled Debian analyses, weights of
// 1 to 4 gave the same run counts within 1 % (bench/README.md).
const LayerWeight = weight

// FailureRate is Top's rate smoothed towards Base's.
func (l *Layered) FailureRate(key, action string) float64 {
	return l.Top.rate(key, action, l.Base.FailureRate(key, action), l.Weight)
}

// FailureRateGiven is Top's conditional rate smoothed towards Base's.
func (l *Layered) FailureRateGiven(key, action string, otherHeld bool) float64 {
	return l.Top.rateGiven(key, action, otherHeld, l.Base.FailureRateGiven(key, action, otherHeld), l.Weight)
}

// Bundled is the default priors: the bundled Debian analyses (but those
// in exclude) and the tables in more (loupe analyze --priors) over the
// upstream results.
func Bundled(exclude []string, more ...*Table) *Layered {
	top := Debian(exclude...)
	for _, m := range more {
		top = top.Merge(m)
	}
	return &Layered{Top: top, Base: Upstream(), Weight: LayerWeight}
}

// Builtin is Bundled with nothing excluded and nothing added.
func Builtin() *Layered { return Bundled(nil) }
