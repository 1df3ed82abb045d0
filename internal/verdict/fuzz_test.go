package verdict

import (
	"bytes"
	"testing"
)

// FuzzParse: Parse never panics; what it accepts is written back by
// Marshal into a file it accepts again, identically (Marshal is canonical).
func FuzzParse(f *testing.F) {
	b, _ := Marshal(sample())
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte("schema: loupe/verdict/v1\nstatus: ok\nmode: trace\nbinaries: []\n"))
	f.Add([]byte("schema: loupe/verdict/v2\nstatus: ok\nmode: trace\nbinaries: []\nend: {binaries: 0, syscalls: 0, features: 0, pseudo_files: 0, conflicts: 0}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse("f.yaml", data)
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal of a parsed verdict: %v", err)
		}
		again, err := Parse("again.yaml", out)
		if err != nil {
			t.Fatalf("a marshalled verdict does not parse: %v\n%s", err, out)
		}
		out2, _ := Marshal(again)
		if !bytes.Equal(out, out2) {
			t.Fatalf("Marshal is not canonical:\n%s\n---\n%s", out, out2)
		}
	})
}
