package pseudofile

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the generated sections of doc/subfeatures.md")

const docFile = "../../doc/subfeatures.md"

// TestDocTables keeps the path and fd tables in doc/subfeatures.md in step
// with table.go: `go test ./internal/pseudofile -update` rewrites them.
func TestDocTables(t *testing.T) {
	var b strings.Builder
	b.WriteString("| Syscall | Path arguments | Stub | Fake |\n|---|---|---|---|\n")
	for _, c := range pathCalls {
		var args, fakes []string
		for _, a := range c.Paths {
			s := fmt.Sprintf("arg%d", a.Arg)
			if a.Dirfd >= 0 {
				s += fmt.Sprintf(" rel. arg%d", a.Dirfd)
			}
			var extra []string
			if a.Flags >= 0 {
				extra = append(extra, fmt.Sprintf("AT_EMPTY_PATH in arg%d", a.Flags))
			}
			if a.EmptyIsFd {
				extra = append(extra, `"" = dirfd`)
			}
			if a.NullIsFd {
				extra = append(extra, "NULL = dirfd")
			}
			if a.AbsoluteOnly {
				extra = append(extra, "only if absolute")
			}
			if a.MemFlags >= 0 {
				extra = append(extra, fmt.Sprintf("flags in *arg%d", a.MemFlags))
			}
			if len(extra) > 0 {
				s += " (" + strings.Join(extra, ", ") + ")"
			}
			args = append(args, s+" "+a.Op.String())
			fakes = append(fakes, fakeText(a.Op))
		}
		if c.ReturnsFD {
			args = append(args, "returns an fd")
		}
		fmt.Fprintf(&b, "| `%s` | %s | ENOENT | %s |\n", c.Syscall, strings.Join(args, "; "), strings.Join(dedup(fakes), "; "))
	}
	testutil.DocSection(t, docFile, "path table", b.String(), *update, "./internal/pseudofile")

	b.Reset()
	b.WriteString("| Kind | Syscalls (fd arguments) |\n|---|---|\n")
	for _, k := range []FdKind{FdUse, FdDup, FdClose} {
		var calls []string
		for _, c := range fdCalls {
			if c.Kind != k {
				continue
			}
			var fds []string
			for _, i := range c.Fds {
				fds = append(fds, fmt.Sprintf("arg%d", i))
			}
			s := fmt.Sprintf("`%s` (%s", c.Syscall, strings.Join(fds, ", "))
			if c.AnonFlags >= 0 {
				s += fmt.Sprintf(", unless MAP_ANONYMOUS in arg%d", c.AnonFlags)
			}
			calls = append(calls, s+")")
		}
		fmt.Fprintf(&b, "| %s | %s |\n", []string{"", "use", "dup", "close"}[k], strings.Join(calls, ", "))
	}
	testutil.DocSection(t, docFile, "fd table", b.String(), *update, "./internal/pseudofile")
}

func fakeText(o Op) string {
	act, errno := o.Fake()
	switch act {
	case FakeOpen:
		return "by open flags (see below)"
	case FakeRedirect:
		return "runs on the stand-in"
	case FakeRedirectDir:
		return "runs on the empty directory"
	case FakeReturn:
		if errno == 0 {
			return "returns 0, not run"
		}
		return "returns " + errnoName[errno] + ", not run"
	case FakePassthrough:
		return "runs unchanged"
	}
	return "?"
}

func dedup(s []string) []string {
	if len(s) == 2 && s[0] == s[1] {
		return s[:1]
	}
	return s
}
