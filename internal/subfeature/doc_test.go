package subfeature

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the generated sections of doc/subfeatures.md")

const docFile = "../../doc/subfeatures.md"

// TestDocTable keeps the table in doc/subfeatures.md in step with table.go:
// `go test ./internal/subfeature -update` rewrites it.
func TestDocTable(t *testing.T) {
	d := amd64(t)
	testutil.DocSection(t, docFile, "subfeature table", docTable(t, d), *update, "./internal/subfeature")
}

func docTable(t *testing.T, d *Decoder) string {
	examples := map[string]string{"fcntl": "fcntl:F_SETFD", "mprotect": "mprotect:read+write", "clone": "clone:thread",
		"clone3": "clone3:thread", "mmap": "mmap:anon+private"}
	for _, c := range decodeCases {
		if c.want != "" && examples[c.syscall] == "" {
			examples[c.syscall] = c.want
		}
	}
	var b strings.Builder
	b.WriteString("| Syscall | Argument | Decoded value | Named by | Key | Example |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, sd := range table {
		n, ok := sysent.AMD64.Number(sd.Syscall)
		if !ok || !d.Has(n) {
			t.Fatalf("%s not in the amd64 decoder", sd.Syscall)
		}
		s := d.specs[n]
		ex := examples[sd.Syscall]
		if ex == "" {
			ex = d.KnownKeys(n)[0]
		}
		if _, canon, err := d.ParseKey(ex); err != nil || canon != ex {
			t.Fatalf("example %q is not a canonical key: %v", ex, err)
		}
		var args, vals, names []string
		for _, fd := range sd.Fields {
			arg := fmt.Sprintf("arg%d (%s)", fd.Arg, fd.Label)
			if fd.Deref != nil {
				arg = fmt.Sprintf("u64 at arg%d, first field of `struct clone_args` (%s); arg%d ≥ `%s`",
					fd.Arg, fd.Label, fd.Deref.SizeArg, fd.Deref.MinSize)
			}
			args = append(args, arg)
			val := "low 32 bits"
			if fd.Width64 {
				val = "64 bits"
			}
			switch {
			case len(fd.Mask) > 0:
				val += " & `" + strings.Join(fd.Mask, "\\|") + "`"
			case fd.MaskLit != 0:
				val += fmt.Sprintf(" & `SOCK_TYPE_MASK` (%#x)", fd.MaskLit)
			case fd.Bits != "":
				val += ", as a set of bits"
			default:
				val += ", exact"
			}
			vals = append(vals, val)
			var name string
			switch {
			case fd.NS != "":
				num := "decimal (signed 32-bit)"
				if fd.Hex {
					num = "hex"
				}
				name = fmt.Sprintf("namespace `%s`; else %s", fd.NS, num)
			case fd.NSByLevel != "":
				name = "namespace `sockopt.<level>` (SOL_SOCKET, SOL_IP, SOL_IPV6, SOL_TCP, SOL_UDP); else decimal"
			case fd.Words != nil:
				var ws []string
				for _, w := range fd.Words {
					c := "0"
					if len(w.Consts) > 0 {
						c = strings.Join(w.Consts, "\\|")
					}
					word := w.Word
					if word == "" {
						word = "(omitted)"
					}
					ws = append(ws, c+" → "+word)
				}
				name = strings.Join(ws, ", ")
				if fd.Fallback != "" {
					name += "; else `" + fd.Fallback + "<n>`"
				}
			case fd.Bits != "":
				name = fmt.Sprintf("one word per bit of namespace `%s`, lowercased; 0 → %s; unknown bits → `0x<hex>`", fd.Bits, fd.None)
			}
			names = append(names, name)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | `%s` | `%s` |\n", sd.Syscall,
			strings.Join(args, "; "), strings.Join(vals, "; "), strings.Join(names, "; "),
			strings.ReplaceAll(s.grammar, "|", "\\|"), ex)
	}
	return b.String()
}
