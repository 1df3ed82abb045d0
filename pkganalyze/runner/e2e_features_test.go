package runner

import (
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
	"salsa.debian.org/loupe-team/loupe/tracer/ptracetest"
)

// End-to-end tests of issue 5's units: sub-features and pseudo-files
// analysed like syscalls, with real ptrace, on the fixtures isatty.c,
// nonblock.c, pseudo.c and mmap.c, whose answers are known
// (fixtures/README.md).

// featureOf returns the verdict on a sub-feature or pseudo-file key.
func featureOf(t *testing.T, f *verdict.File, bin, key string) verdict.Feature {
	t.Helper()
	var keys []string
	for _, b := range f.Binaries {
		if filepath.Base(b.Path) != bin {
			continue
		}
		for _, ft := range append(append([]verdict.Feature{}, b.Features...), b.PseudoFiles...) {
			if ft.Key == key {
				return ft
			}
			keys = append(keys, ft.Key)
		}
	}
	t.Fatalf("%s: no %s in the verdict; it has %v", bin, key, keys)
	return verdict.Feature{}
}

// wantFeature checks stub, fake and required of a sub-feature or pseudo-file;
// a nil stub or fake is not checked.
func wantFeature(t *testing.T, f *verdict.File, bin, key string, stub, fake *bool, required bool) {
	t.Helper()
	ft := featureOf(t, f, bin, key)
	if (stub != nil && bp(ft.Stub) != bp(stub)) || (fake != nil && bp(ft.Fake) != bp(fake)) || ft.Required != required {
		t.Errorf("%s %s: stub %s fake %s required %v; want stub %s fake %s required %v (evidence %q)",
			bin, key, bp(ft.Stub), bp(ft.Fake), ft.Required, bp(stub), bp(fake), required, ft.Evidence)
	}
}

// wantOnly checks the verdict holds the units of its granularity and no
// others, and that the unit count the engine reports covers them all.
func wantOnly(t *testing.T, f *verdict.File, g verdict.Granularity) {
	t.Helper()
	if f.Granularity != g {
		t.Errorf("granularity %q, want %q", f.Granularity, g)
	}
	for _, b := range f.Binaries {
		if len(b.Syscalls) == 0 {
			t.Errorf("%s: no syscall verdicts", b.Path)
		}
		if (len(b.Features) > 0) != (g != verdict.GranSyscalls) {
			t.Errorf("%s: %d sub-feature verdicts at granularity %s", b.Path, len(b.Features), g)
		}
		if (len(b.PseudoFiles) > 0) != (g == verdict.GranPseudoFiles) {
			t.Errorf("%s: %d pseudo-file verdicts at granularity %s", b.Path, len(b.PseudoFiles), g)
		}
	}
}

func TestE2EFeatureIsattyStubbable(t *testing.T) {
	ptracetest.Require(t)
	tree := compile(t, "isatty")
	f, err := analyze(t, tree, e2e{cmd: []string{"./isatty"}, bins: []string{"isatty"}, replicas: 1, gran: verdict.GranFeatures})
	mustOK(t, f, err)
	wantOnly(t, f, verdict.GranFeatures)
	// isatty's TCGETS has a fallback; FIONREAD has none, and makes ioctl
	// required as a whole.
	wantFeature(t, f, "isatty", "ioctl:TCGETS", yes, yes, false)
	wantFeature(t, f, "isatty", "ioctl:FIONREAD", no, no, true)
	want(t, f, "isatty", "ioctl", no, no, true)
}

func TestE2EFeatureFcntlSetfdStubbableSetflRequired(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a full analysis at features granularity, and a blocked accept killed by its alarm")
	}
	ptracetest.Require(t)
	tree := compile(t, "nonblock")
	f, err := analyze(t, tree, e2e{cmd: []string{"./nonblock"}, bins: []string{"nonblock"}, replicas: 1, gran: verdict.GranFeatures})
	mustOK(t, f, err)
	wantOnly(t, f, verdict.GranFeatures)
	wantFeature(t, f, "nonblock", "fcntl:F_SETFD", yes, yes, false)
	wantFeature(t, f, "nonblock", "fcntl:F_SETFL", no, no, true)
	want(t, f, "nonblock", "fcntl", no, no, true)
	// The socket's type is matched without SOCK_NONBLOCK/SOCK_CLOEXEC bits.
	wantFeature(t, f, "nonblock", "socket:AF_INET+SOCK_STREAM", no, nil, true)
}

func TestE2EPseudoFilesStatusStubbableUrandomRequired(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a full analysis at pseudo-files granularity")
	}
	ptracetest.Require(t)
	tree := compile(t, "pseudo")
	f, err := analyze(t, tree, e2e{cmd: []string{"./pseudo"}, bins: []string{"pseudo"}, replicas: 1, gran: verdict.GranPseudoFiles})
	mustOK(t, f, err)
	wantOnly(t, f, verdict.GranPseudoFiles)
	// Stubbed, the file is missing; faked, it has no Pid: line. Either way
	// the fallback takes over.
	wantFeature(t, f, "pseudo", "/proc/self/status", yes, yes, false)
	// Stubbed, it does not open; faked, it reads as empty.
	wantFeature(t, f, "pseudo", "/dev/urandom", no, no, true)
	// The fd was followed: open, read and close count as uses of the file.
	if c := featureOf(t, f, "pseudo", "/dev/urandom").Calls; c < 3 {
		t.Errorf("/dev/urandom: %d calls, want at least 3 (open, read, close through the fd)", c)
	}
}

func TestE2EFeatureMmapMaskedAnonVsFile(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a full analysis at features granularity")
	}
	ptracetest.Require(t)
	tree := compile(t, "mmap")
	f, err := analyze(t, tree, e2e{cmd: []string{"./mmap"}, bins: []string{"mmap"}, replicas: 1, gran: verdict.GranFeatures})
	mustOK(t, f, err)
	wantOnly(t, f, verdict.GranFeatures)
	// Both mappings are MAP_SHARED|MAP_POPULATE; only MAP_ANONYMOUS tells
	// them apart, and their answers differ.
	wantFeature(t, f, "mmap", "mmap:anon+shared", yes, nil, false)
	wantFeature(t, f, "mmap", "mmap:file+shared", no, no, true)
	for _, b := range f.Binaries {
		for _, ft := range b.Features {
			if strings.HasPrefix(ft.Key, "mmap:") && strings.ContainsAny(ft.Key, "0123456789") {
				t.Errorf("mmap key %q: a flag word leaked into the key", ft.Key)
			}
		}
	}
	// ld.so's private mappings are required as a whole syscall.
	want(t, f, "mmap", "mmap", no, no, true)
}
