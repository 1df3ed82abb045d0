package plan

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/dataset"
	"salsa.debian.org/loupe-team/loupe/tracer/pseudofile"
	"salsa.debian.org/loupe-team/loupe/tracer/subfeature"
	"salsa.debian.org/loupe-team/loupe/tracer/sysent"
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
	dec := subfeature.For("amd64")
	sc := bufio.NewScanner(r)
	ln := 0
	for sc.Scan() {
		ln++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
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
			return nil, fmt.Errorf("%s:%d: field status: %q, want implemented, stubbed or faked", name, ln, status)
		}
		if strings.ContainsAny(sys, " \t") || sys == "" {
			return nil, fmt.Errorf("%s:%d: field name: %q is not a syscall name", name, ln, sys)
		}
		// Sub-feature and pseudo-file keys are new to this format: a bad
		// one is refused (no list in the wild has any to keep).
		var m map[string]Action
		switch {
		case strings.HasPrefix(sys, "/"):
			if err := pseudofile.CheckKey(sys); err != nil {
				return nil, fmt.Errorf("%s:%d: field name: %w", name, ln, err)
			}
			m = o.PseudoFiles
		case strings.Contains(sys, ":"):
			_, canon, err := dec.ParseKey(sys)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: field name: %w", name, ln, err)
			}
			sys, m = canon, o.Features
		}
		if m != nil {
			if old, ok := m[sys]; ok && old != a {
				return nil, fmt.Errorf("%s:%d: %s listed twice, as %s and %s", name, ln, sys, old, a)
			}
			if _, ok := m[sys]; !ok {
				o.Origin[sys] = fmt.Sprintf("%s:%d", name, ln)
			}
			m[sys] = a
			continue
		}
		if old, ok := o.State[sys]; ok && old != a {
			return nil, fmt.Errorf("%s:%d: %s listed twice, as %s and %s", name, ln, sys, old, a)
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
		if _, ok := sysent.AMD64.Number(s); !ok {
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
	ln := 0
	for sc.Scan() {
		ln++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"name cost\", got %q", name, ln, line)
		}
		c, err := strconv.ParseFloat(f[1], 64)
		if err != nil || !(c > 0) || c > 1e9 {
			return nil, fmt.Errorf("%s:%d: field cost: %q, want a number > 0", name, ln, f[1])
		}
		if _, ok := sysent.AMD64.Number(f[0]); !ok {
			return nil, fmt.Errorf("%s:%d: field name: %v", name, ln, lookupErr(f[0]))
		}
		costs[f[0]] = c
	}
	return costs, sc.Err()
}

func lookupErr(name string) error {
	_, err := sysent.AMD64.Lookup(name)
	return err
}
