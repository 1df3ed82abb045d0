package plan

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/located"
	"salsa.debian.org/loupe-team/loupe/internal/pseudofile"
	"salsa.debian.org/loupe-team/loupe/internal/subfeature"
	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

// Plans, OS files and simulations name syscalls, sub-features and
// pseudo-files as on amd64: datasets are amd64 only (upstream Loupe's
// results are x86-64, and the tracer supports amd64 alone, see
// tracer/arch_amd64.go). A second architecture would make this a field of
// OS and of the dataset's entries.
const abiArch = "amd64"

var (
	abiSyscalls    = sysent.ForArch(abiArch)
	abiSubfeatures = subfeature.For(abiArch)
	abiPseudoFiles = pseudofile.For(abiArch)
)

// Action is what an OS does for a syscall.
type Action uint8

const (
	Absent      Action = iota // not provided
	Stubbed                   // returns -ENOSYS
	Faked                     // returns 0 and does nothing
	Implemented               // really implemented
)

func (a Action) String() string {
	return [...]string{"absent", "stubbed", "faked", "implemented"}[a]
}

// Meets reports whether an OS that does a for a syscall meets an
// application's need st for it: an implementation always does; a stub or a
// fake does where the application's tests showed it harmless.
func (a Action) Meets(st dataset.State) bool {
	switch a {
	case Implemented:
		return true
	case Stubbed:
		return st&dataset.Tested != 0 && st&dataset.StubOK != 0
	case Faked:
		return st&dataset.Tested != 0 && st&dataset.FakeOK != 0
	}
	return false
}

// OS is what an operating system supports today.
type OS struct {
	Name  string
	State map[string]Action
	// Features and PseudoFiles are the sub-features ("ioctl:TCGETS",
	// canonical) and pseudo-files ("/proc/self/status"; a directory covers
	// what lies under it) the file names. Plans do not use them yet; loupe
	// simulate does: an OS that names some of a syscall's sub-features (or
	// any pseudo-file) lacks the ones it does not name.
	Features    map[string]Action
	PseudoFiles map[string]Action
	// Origin says where each name's state comes from: "FILE:LINE", or
	// "plan step N" for an OS after a plan step (AfterStep).
	Origin map[string]string
	// Unknown lists names that are not amd64 syscalls (kept in State: a
	// dataset could still use them, e.g. syscall_<n>).
	Unknown []string
	// Warnings say, with file, line and a suggestion, which names are
	// Unknown. Upstream's own OS lists have some (Gvisor.syscalls lists
	// futimensat, a libc function): they are warned about, not refused.
	Warnings []string
}

// Count returns how many syscalls the OS has in state a.
func (o *OS) Count(a Action) int {
	n := 0
	for _, s := range o.State {
		if s == a {
			n++
		}
	}
	return n
}

// ReadOS reads an OS support file: either one implemented syscall name per
// line (upstream's <OS>.syscalls), or CSV lines "name,status" with status
// implemented, stubbed or faked (an optional "name,status" header is
// skipped). Blank lines and lines starting with # are ignored. A name is a
// syscall, a sub-feature ("ioctl:TCGETS", any form ParseKey accepts) or a
// pseudo-file ("/proc/self/status"); the keys of doc/subfeatures.md.
func ReadOS(path string) (*OS, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read OS file: %w", err)
	}
	defer f.Close()
	o, err := ParseOS(path, f)
	if err != nil {
		return nil, err
	}
	o.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return o, nil
}

// ParseOS parses an OS support file; name is used in errors.
func ParseOS(name string, r io.Reader) (*OS, error) {
	o := &OS{Name: name, State: map[string]Action{}, Features: map[string]Action{}, PseudoFiles: map[string]Action{},
		Origin: map[string]string{}}
	dec := abiSubfeatures
	sc := bufio.NewScanner(r)
	for ln, line := range contentLines(sc) {
		sys, status := line, "implemented"
		if i := strings.IndexByte(line, ','); i >= 0 {
			sys, status = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
			if ln == 1 && sys == "name" && status == "status" {
				continue
			}
		}
		var a Action
		switch status {
		case "implemented":
			a = Implemented
		case "stubbed":
			a = Stubbed
		case "faked":
			a = Faked
		default:
			return nil, &located.Error{File: name, Line: ln, Field: "status", Msg: fmt.Sprintf("%q, want implemented, stubbed or faked", status)}
		}
		if strings.ContainsAny(sys, " \t") || sys == "" {
			return nil, &located.Error{File: name, Line: ln, Field: "name", Msg: fmt.Sprintf("%q is not a syscall name", sys)}
		}
		// Sub-feature and pseudo-file keys are new to this format: a bad
		// one is refused (no list in the wild has any to keep).
		var m map[string]Action
		switch {
		case strings.HasPrefix(sys, "/"):
			if err := pseudofile.CheckKey(sys); err != nil {
				return nil, &located.Error{File: name, Line: ln, Field: "name", Msg: fmt.Sprintf("%v", err)}
			}
			m = o.PseudoFiles
		case strings.Contains(sys, ":"):
			_, canon, err := dec.ParseKey(sys)
			if err != nil {
				return nil, &located.Error{File: name, Line: ln, Field: "name", Msg: fmt.Sprintf("%v", err)}
			}
			sys, m = canon, o.Features
		}
		if m != nil {
			if old, ok := m[sys]; ok && old != a {
				return nil, &located.Error{File: name, Line: ln, Msg: fmt.Sprintf("%s listed twice, as %s and %s", sys, old, a)}
			}
			if _, ok := m[sys]; !ok {
				o.Origin[sys] = fmt.Sprintf("%s:%d", name, ln)
			}
			m[sys] = a
			continue
		}
		if old, ok := o.State[sys]; ok && old != a {
			return nil, &located.Error{File: name, Line: ln, Msg: fmt.Sprintf("%s listed twice, as %s and %s", sys, old, a)}
		}
		if _, seen := o.State[sys]; !seen {
			o.Origin[sys] = fmt.Sprintf("%s:%d", name, ln)
			if err := lookupErr(sys); err != nil {
				o.Warnings = append(o.Warnings, fmt.Sprintf("%s:%d: field name: %v; kept, but no data can use it", name, ln, err))
			}
		}
		o.State[sys] = a
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for s := range o.State {
		if _, ok := abiSyscalls.Number(s); !ok {
			o.Unknown = append(o.Unknown, s)
		}
	}
	sort.Strings(o.Unknown)
	return o, nil
}

// ReadCosts reads per-syscall implementation costs: lines "name cost" or
// "name,cost" with cost > 0; # comments and blank lines are ignored.
// Syscalls not listed cost 1.
func ReadCosts(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read cost file: %w", err)
	}
	defer f.Close()
	return ParseCosts(path, f)
}

// ParseCosts parses a cost file; name is used in errors.
func ParseCosts(name string, r io.Reader) (map[string]float64, error) {
	costs := map[string]float64{}
	sc := bufio.NewScanner(r)
	for ln, line := range contentLines(sc) {
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if len(f) != 2 {
			return nil, &located.Error{File: name, Line: ln, Msg: fmt.Sprintf("want \"name cost\", got %q", line)}
		}
		c, err := strconv.ParseFloat(f[1], 64)
		if err != nil || !(c > 0) || c > 1e9 {
			return nil, &located.Error{File: name, Line: ln, Field: "cost", Msg: fmt.Sprintf("%q, want a number > 0", f[1])}
		}
		if _, ok := abiSyscalls.Number(f[0]); !ok {
			return nil, &located.Error{File: name, Line: ln, Field: "name", Msg: fmt.Sprintf("%v", lookupErr(f[0]))}
		}
		costs[f[0]] = c
	}
	return costs, sc.Err()
}

// contentLines yields the lines of an OS or cost file, trimmed, with their
// numbers, leaving out blank lines and # comments. The caller checks
// sc.Err() after the loop.
func contentLines(sc *bufio.Scanner) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		for ln := 1; sc.Scan(); ln++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !yield(ln, line) {
				return
			}
		}
	}
}

func lookupErr(name string) error {
	_, err := abiSyscalls.Lookup(name)
	return err
}
