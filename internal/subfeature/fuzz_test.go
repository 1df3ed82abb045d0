package subfeature

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzDecode: no panics on any registers or memory, and every key Decode
// returns is canonical for ParseKey.
func FuzzDecode(f *testing.F) {
	d := For("amd64")
	if d == nil {
		f.Skip("the fuzz targets use the amd64 decoder")
	}
	nrs := d.Syscalls()
	for i := range nrs {
		f.Add(uint8(i), uint64(0x5401), uint64(0x22), uint64(3), uint64(128), uint64(0), uint64(0), uint64(0x10000), true)
	}
	f.Add(uint8(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), false)
	f.Fuzz(func(t *testing.T, which uint8, a0, a1, a2, a3, a4, a5, memFlags uint64, readable bool) {
		n := nrs[int(which)%len(nrs)]
		if which >= 200 { // also syscalls without sub-features and bad numbers
			n = int(int8(which)) * 3
		}
		args := [6]uint64{a0, a1, a2, a3, a4, a5}
		mem := func(addr uint64, buf []byte) error {
			if !readable {
				return errors.New("EFAULT")
			}
			var b [8]byte
			binary.NativeEndian.PutUint64(b[:], memFlags)
			copy(buf, b[:])
			return nil
		}
		k, ok := d.Decode(n, args, mem)
		if !ok {
			return
		}
		gotNr, canon, err := d.ParseKey(k)
		if err != nil || canon != k || gotNr != n {
			t.Fatalf("Decode(%d, %#x) = %q, but ParseKey = %d, %q, %v", n, args, k, gotNr, canon, err)
		}
	})
}

// FuzzParseKey: no panics on any string, and canonical forms are fixed
// points.
func FuzzParseKey(f *testing.F) {
	d := For("amd64")
	if d == nil {
		f.Skip("the fuzz targets use the amd64 decoder")
	}
	for _, k := range []string{"ioctl:TCGETS", "mmap:anon+private+fixed", "mprotect:read+0x10", "socket:2+1",
		"setsockopt:SOL_SOCKET+SO_REUSEADDR", "futex:FUTEX_WAIT_PRIVATE", "fcntl:-1", "clone3:thread", "mmap:anon+type3",
		"ioctl:0x", "prctl:+5", "rt_sigaction:0x"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		n, canon, err := d.ParseKey(key)
		if err != nil {
			return
		}
		n2, canon2, err := d.ParseKey(canon)
		if err != nil || canon2 != canon || n2 != n {
			t.Fatalf("ParseKey(%q) = %q, but ParseKey(%q) = %d, %q, %v", key, canon, canon, n2, canon2, err)
		}
	})
}
