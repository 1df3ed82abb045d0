package pseudofile

import (
	"path"
	"strings"
	"testing"
)

// FuzzNormalize: no panics; keys are clean, stay under the same root, and
// are fixed points whatever the caller (no raw id survives).
func FuzzNormalize(f *testing.F) {
	for _, tt := range normalizeCases {
		f.Add(tt.in, callerPID, callerTID)
	}
	f.Add("/proc/2147483647/task/0/fd/0", 1, 1)
	f.Fuzz(func(t *testing.T, p string, pid, tid int) {
		got := Normalize(p, pid, tid)
		if !strings.HasPrefix(p, "/") {
			if p != "" && got != path.Clean(p) {
				t.Fatalf("relative %q -> %q, want it only cleaned", p, got)
			}
			return
		}
		if path.Clean(got) != got || !strings.HasPrefix(got, "/") {
			t.Fatalf("Normalize(%q) = %q is not clean and absolute", p, got)
		}
		if IsPseudo(p) != IsPseudo(got) {
			t.Fatalf("Normalize(%q) = %q changed IsPseudo", p, got)
		}
		for _, c := range [][2]int{{pid, tid}, {1, 2}, {0, 0}} {
			if again := Normalize(got, c[0], c[1]); again != got {
				t.Fatalf("Normalize(%q) = %q, but normalising that as pid %d tid %d gives %q", p, got, c[0], c[1], again)
			}
		}
		if IsPseudo(got) {
			if err := CheckKey(got); err != nil {
				t.Fatalf("Normalize(%q) = %q, rejected by CheckKey: %v", p, got, err)
			}
		}
	})
}
