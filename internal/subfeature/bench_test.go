package subfeature

import "testing"

// TestDecodeAllocations pins the hot-path promise of Decode: no allocation
// for syscalls without sub-features, nor for keys made of known names.
func TestDecodeAllocations(t *testing.T) {
	d := amd64(t)
	tests := []struct {
		syscall string
		args    [6]uint64
		allocs  float64
	}{
		{"read", a(3, 0x7ffe0000, 4096), 0},
		{"ioctl", a(0, 0x5401), 0},
		{"futex", a(0x7f00, 128, 1), 0},
		{"mmap", a(0, 4096, 3, 0x22|0x4000, minus1, 0), 0},
		{"mprotect", a(0x7f0000000000, 4096, 3), 0},
		{"socket", a(2, 1|0x80000), 0},
		{"setsockopt", a(3, 1, 2, 0x7ffe0000, 4), 0},
		{"clone", a(0x3d0f00), 0},
	}
	for _, tt := range tests {
		n := nr(t, tt.syscall)
		got := testing.AllocsPerRun(100, func() { d.Decode(n, tt.args, nil) })
		if got != tt.allocs {
			t.Errorf("Decode(%s) allocates %v times per call, want %v", tt.syscall, got, tt.allocs)
		}
	}
}

var sink string

func benchDecode(b *testing.B, syscall string, args [6]uint64, mem MemReader) {
	d := amd64(b)
	n := nr(b, syscall)
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = d.Decode(n, args, mem)
	}
}

// The common case at a syscall stop: no sub-feature.
func BenchmarkDecodeNoSubfeature(b *testing.B) { benchDecode(b, "read", a(3, 0x7ffe0000, 4096), nil) }

func BenchmarkDecodeIoctlKnown(b *testing.B)   { benchDecode(b, "ioctl", a(0, 0x5401), nil) }
func BenchmarkDecodeIoctlUnknown(b *testing.B) { benchDecode(b, "ioctl", a(0, 0x5499), nil) }
func BenchmarkDecodeFutex(b *testing.B)        { benchDecode(b, "futex", a(0x7f00, 128, 1), nil) }
func BenchmarkDecodeMmap(b *testing.B) {
	benchDecode(b, "mmap", a(0, 4096, 3, 0x22, minus1, 0), nil)
}
func BenchmarkDecodeSetsockopt(b *testing.B) { benchDecode(b, "setsockopt", a(3, 1, 2, 0, 4), nil) }
func BenchmarkDecodeClone3(b *testing.B) {
	benchDecode(b, "clone3", a(0x7ffe1000, 88), func(addr uint64, buf []byte) error {
		buf[2] = 0x01 // CLONE_THREAD, little-endian
		return nil
	})
}

func BenchmarkParseKey(b *testing.B) {
	d := amd64(b)
	b.ReportAllocs()
	for b.Loop() {
		_, sink, _ = d.ParseKey("setsockopt:SOL_SOCKET+SO_REUSEADDR")
	}
}
