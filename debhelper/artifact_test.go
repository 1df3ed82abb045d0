package debhelper

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"pault.ag/go/debian/version"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

func TestArtifactName(t *testing.T) {
	for _, tt := range []struct{ pkg, ver, arch, want string }{
		{"hello", "2.10-3", "amd64", "hello_2.10-3_amd64.loupe.yaml"},
		{"hello-loupe", "1:1.0", "amd64", "hello-loupe_1.0_amd64.loupe.yaml"},
		{"libfoo1", "2:1.2~rc1-1+b1", "arm64", "libfoo1_1.2~rc1-1+b1_arm64.loupe.yaml"},
		{"foo-data", "1.0-1", "all", "foo-data_1.0-1_all.loupe.yaml"},
	} {
		v, err := version.Parse(tt.ver)
		if err != nil {
			t.Fatal(err)
		}
		if got := ArtifactName(tt.pkg, v, tt.arch); got != tt.want {
			t.Errorf("ArtifactName(%s, %s, %s) = %s, want %s", tt.pkg, tt.ver, tt.arch, got, tt.want)
		}
	}
}

func TestReadSource(t *testing.T) {
	s, err := ReadSource(multiLoupe(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "multi-loupe" || s.Version.String() != "2.0" {
		t.Errorf("source %s %s", s.Name, s.Version)
	}
	if got := s.PackageNames(); !reflect.DeepEqual(got, []string{"multi-loupe-bin", "multi-loupe-scripts"}) {
		t.Errorf("packages %v", got)
	}
	if s.FileArch("multi-loupe-bin", "arm64") != "arm64" || s.FileArch("multi-loupe-scripts", "arm64") != "all" {
		t.Error("FileArch: want the host arch for any, all for all")
	}
	if _, err := ReadSource(t.TempDir()); err == nil || !strings.Contains(err.Error(), "debian/control") {
		t.Errorf("missing debian/control: %v", err)
	}
}

// TestWriteArtifact writes a verdict next to a source tree and registers
// it with the real dpkg-distaddfile.
func TestWriteArtifact(t *testing.T) {
	if _, err := exec.LookPath("dpkg-distaddfile"); err != nil {
		t.Skip("dpkg-distaddfile not installed (apt-get install dpkg-dev, or make deps)")
	}
	top := t.TempDir()
	src := filepath.Join(top, "foo")
	os.MkdirAll(filepath.Join(src, "debian"), 0o755)
	// dpkg-distaddfile locks debian/control while it updates debian/files.
	os.WriteFile(filepath.Join(src, "debian/control"), []byte("Source: foo\n\nPackage: foo\nArchitecture: any\n"), 0o644)
	f := &verdict.File{Status: verdict.StatusNotExercised, Mode: verdict.ModeTrace, Package: "foo", Binaries: []verdict.Binary{}}
	ctx := context.Background()
	for i := 0; i < 2; i++ { // registering twice keeps one entry
		p, err := WriteArtifact(ctx, src, "foo_1.0-1_amd64.loupe.yaml", f, os.Environ())
		if err != nil {
			t.Fatal(err)
		}
		if p != filepath.Join(top, "foo_1.0-1_amd64.loupe.yaml") {
			t.Errorf("written to %s", p)
		}
	}
	got, err := verdict.ReadFile(filepath.Join(top, "foo_1.0-1_amd64.loupe.yaml"))
	if err != nil || got.Status != verdict.StatusNotExercised {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	files, err := os.ReadFile(filepath.Join(src, "debian/files"))
	if err != nil {
		t.Fatal(err)
	}
	if string(files) != "foo_1.0-1_amd64.loupe.yaml debug optional\n" {
		t.Errorf("debian/files = %q", files)
	}
	if _, err := WriteArtifact(ctx, src, "../x.loupe.yaml", f, nil); err == nil {
		t.Error("a name with a slash must be refused")
	}
}

func TestRunState(t *testing.T) {
	dir := t.TempDir()
	if runs, err := ReadRuns(dir); err != nil || len(runs) != 0 {
		t.Fatalf("no state: %v, %v", runs, err)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	both := &Run{Packages: []string{"b", "a"}, Mode: ModeTrace, Started: t0, Exit: Exit{Code: 0}}
	onlyA := &Run{Packages: []string{"a"}, Mode: ModeTrace, Started: t0.Add(time.Minute), Exit: Exit{Code: 2}}
	for _, r := range []*Run{both, onlyA} {
		if _, err := WriteRun(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	// Recording the same package set again replaces the record.
	again := *both
	again.Started = t0.Add(-time.Hour)
	if _, err := WriteRun(dir, &again); err != nil {
		t.Fatal(err)
	}
	runs, err := ReadRuns(dir)
	if err != nil || len(runs) != 2 {
		t.Fatalf("%d runs, %v", len(runs), err)
	}
	if r := LatestRun(runs, "a"); r == nil || r.Exit.Code != 2 {
		t.Errorf("latest run for a: %+v", r)
	}
	if r := LatestRun(runs, "b"); r == nil || !r.Started.Equal(t0.Add(-time.Hour)) {
		t.Errorf("latest run for b: %+v", r)
	}
	if LatestRun(runs, "c") != nil {
		t.Error("no run for c")
	}
	os.WriteFile(filepath.Join(dir, StateDir, "run-bad.json"), []byte("{"), 0o644)
	if _, err := ReadRuns(dir); err == nil || !strings.Contains(err.Error(), "dh_clean") {
		t.Errorf("corrupt state: %v", err)
	}
}

func TestWithoutFakeroot(t *testing.T) {
	env := []string{
		"PATH=/usr/bin",
		"LD_PRELOAD=libfakeroot-sysv.so",
		"FAKEROOTKEY=12345",
		"LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/libfakeroot:/opt/lib",
		"HOME=/tmp",
	}
	want := []string{"PATH=/usr/bin", "LD_LIBRARY_PATH=/opt/lib", "HOME=/tmp"}
	if got := WithoutFakeroot(env); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	keep := []string{"LD_PRELOAD=/usr/lib/libeatmydata.so:/usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-tcp.so"}
	if got := WithoutFakeroot(keep); !reflect.DeepEqual(got, []string{"LD_PRELOAD=/usr/lib/libeatmydata.so"}) {
		t.Errorf("got %q", got)
	}
}

// TestWriteRunReplacesPlantedLink: the test step that just ran could plant a
// symlink where dh_loupe records it; the record replaces the link.
func TestWriteRunReplacesPlantedLink(t *testing.T) {
	dir := t.TempDir()
	r := &Run{Packages: []string{"foo"}}
	p := runFile(dir, r.Packages)
	os.MkdirAll(filepath.Dir(p), 0o755)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	os.Symlink(victim, p)
	if _, err := WriteRun(dir, r); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("written through the link: %q", b)
	}
	if runs, err := ReadRuns(dir); err != nil || len(runs) != 1 {
		t.Errorf("ReadRuns: %v %v", runs, err)
	}
	// CheckRun says before the step runs when the record could not be
	// written: here a directory is in its way.
	if err := CheckRun(dir, r.Packages); err != nil {
		t.Errorf("CheckRun: %v", err)
	}
	os.Remove(p)
	os.Mkdir(p, 0o755)
	if err := CheckRun(dir, r.Packages); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("CheckRun with a directory in the way: %v", err)
	}
}

// TestNativeArch: the Debian name of the Go architecture, checked against
// dpkg-architecture on this machine (loupe analyze --app does not ask it).
func TestNativeArch(t *testing.T) {
	for goarch, want := range map[string]string{"amd64": "amd64", "arm64": "arm64", "386": "i386", "arm": "armhf", "ppc64le": "ppc64el", "riscv64": "riscv64", "s390x": "s390x"} {
		if got := DebianArch(goarch); got != want {
			t.Errorf("DebianArch(%s) = %s, want %s", goarch, got, want)
		}
	}
	out, err := exec.Command("dpkg-architecture", "-qDEB_BUILD_ARCH").Output()
	if err != nil {
		t.Skipf("dpkg-architecture (dpkg-dev) is needed to compare: %v", err)
	}
	if got, want := NativeArch(), strings.TrimSpace(string(out)); got != want {
		t.Errorf("NativeArch() = %s, dpkg-architecture says %s", got, want)
	}
}
