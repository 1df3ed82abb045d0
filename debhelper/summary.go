package debhelper

import (
	"fmt"
	"strconv"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Summary is dh_loupe's line for one binary package in the build log:
//
//	loupe: <pkg> status=<status> mode=<mode> syscalls=<n>   (a verdict was written)
//	loupe: <pkg> status=baseline-failed mode=<mode> exit=<n> (the test step failed)
//
// A failed build has no .changes and so no verdict to read: these lines are
// what a rebuild (debhelper/rebuild) learns of its packages then. Format
// writes one, ParseSummary reads one back.
type Summary struct {
	Package  string
	Status   verdict.Status
	Mode     verdict.Mode // "" when not said
	Syscalls *int         // distinct syscalls of the shipped binaries
	Exit     *int         // the test step's shell-style exit status
}

const summaryPrefix = "loupe: "

// Format is the line, without its newline.
func (s Summary) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s status=%s", summaryPrefix, s.Package, s.Status)
	if s.Mode != "" {
		fmt.Fprintf(&b, " mode=%s", s.Mode)
	}
	if s.Syscalls != nil {
		fmt.Fprintf(&b, " syscalls=%d", *s.Syscalls)
	}
	if s.Exit != nil {
		fmt.Fprintf(&b, " exit=%d", *s.Exit)
	}
	return b.String()
}

// ParseSummary reads a summary line (surrounding white space allowed). It
// reports false for any other line, dh_loupe's other messages included.
// Unknown keys are ignored, and so is a count that is not a number.
func ParseSummary(line string) (Summary, bool) {
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != strings.TrimSpace(summaryPrefix) || !strings.HasPrefix(f[2], "status=") {
		return Summary{}, false
	}
	s := Summary{Package: f[1]}
	for _, kv := range f[2:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "status":
			s.Status = verdict.Status(v)
		case "mode":
			s.Mode = verdict.Mode(v)
		case "syscalls", "exit":
			n, err := strconv.Atoi(v)
			if err != nil {
				continue
			}
			if k == "exit" {
				s.Exit = &n
			} else {
				s.Syscalls = &n
			}
		}
	}
	return s, true
}
