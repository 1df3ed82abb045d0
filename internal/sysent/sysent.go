package sysent

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/suggest"
)

// Table maps the syscall numbers of one architecture to names and back.
// A Table is immutable and safe for concurrent use.
type Table struct {
	arch   string
	names  []string
	byName map[string]int
}

func newTable(arch string, names []string) *Table {
	t := &Table{arch: arch, names: names, byName: make(map[string]int, len(names))}
	for nr, n := range names {
		if n != "" {
			t.byName[n] = nr
		}
	}
	return t
}

// AMD64 is the x86_64 table, generated from asm/unistd_64.h.
var AMD64 = newTable("amd64", amd64Names[:])

// ForArch returns the table of a GOARCH, or nil if loupe has none for it.
func ForArch(goarch string) *Table {
	switch goarch {
	case "amd64":
		return AMD64
	}
	return nil
}

// Arch is the GOARCH this table describes.
func (t *Table) Arch() string { return t.arch }

// Max is one more than the highest number the headers define.
func (t *Table) Max() int { return len(t.names) }

// Name returns the name of nr, or "syscall_<nr>" when the headers do not know
// it (a kernel newer than linux-libc-dev). It never returns "".
func (t *Table) Name(nr int) string {
	if nr >= 0 && nr < len(t.names) && t.names[nr] != "" {
		return t.names[nr]
	}
	return "syscall_" + strconv.Itoa(nr)
}

// Known reports whether the headers define nr.
func (t *Table) Known(nr int) bool {
	return nr >= 0 && nr < len(t.names) && t.names[nr] != ""
}

// Number returns the number of a syscall name. It accepts the "syscall_<n>"
// form that Name produces for unknown numbers.
func (t *Table) Number(name string) (int, bool) {
	if nr, ok := t.byName[name]; ok {
		return nr, true
	}
	if s, ok := strings.CutPrefix(name, "syscall_"); ok {
		if nr, err := strconv.Atoi(s); err == nil && nr >= 0 && nr < 1<<20 {
			return nr, true
		}
	}
	return 0, false
}

// Lookup is Number with an error that suggests the closest known name.
func (t *Table) Lookup(name string) (int, error) {
	if nr, ok := t.Number(name); ok {
		return nr, nil
	}
	if s := t.Suggest(name); s != "" {
		return 0, fmt.Errorf("unknown %s syscall %q (did you mean %q?)", t.arch, name, s)
	}
	return 0, fmt.Errorf("unknown %s syscall %q", t.arch, name)
}

// Names returns all known names, sorted by number.
func (t *Table) Names() []string {
	out := make([]string, 0, len(t.byName))
	for _, n := range t.names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Suggest returns the known name closest to name (internal/suggest), or ""
// if nothing is reasonably close. Ties go to the lowest syscall number, so
// the answer is deterministic.
func (t *Table) Suggest(name string) string {
	return suggest.Closest(t.names, name)
}

// Less orders syscall names by number, names the table does not know
// after them, by name: the order loupe prints syscalls in.
func (t *Table) Less(a, b string) bool {
	na, oka := t.Number(a)
	nb, okb := t.Number(b)
	switch {
	case oka && okb && na != nb:
		return na < nb
	case oka != okb:
		return oka
	}
	return a < b
}

// SortedNumbers returns the numbers of m's keys in ascending order; a helper
// for callers that keep per-number maps and must print them deterministically.
func SortedNumbers[V any](m map[int]V) []int { return slices.Sorted(maps.Keys(m)) }
