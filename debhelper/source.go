package debhelper

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"pault.ag/go/debian/changelog"
	"pault.ag/go/debian/control"
	"pault.ag/go/debian/version"
)

// Source is what loupe needs to know about the source package being built.
type Source struct {
	Dir     string // the unpacked source tree (where debian/ is)
	Name    string
	Version version.Version // of the latest debian/changelog entry
	// Packages are the binary packages of debian/control, in order.
	Packages []Package
}

// Package is one binary package of debian/control.
type Package struct {
	Name string
	// Arch is the Architecture field, e.g. ["any"] or ["all"].
	Arch []string
}

// ArchAll reports whether the package is Architecture: all.
func (p Package) ArchAll() bool { return len(p.Arch) == 1 && p.Arch[0] == "all" }

// ReadSource reads debian/control and debian/changelog under dir.
func ReadSource(dir string) (*Source, error) {
	ctl, err := control.ParseControlFile(filepath.Join(dir, "debian/control"))
	if err != nil {
		return nil, fmt.Errorf("read debian/control: %w", err)
	}
	ent, err := changelog.ParseFileOne(filepath.Join(dir, "debian/changelog"))
	if err != nil {
		return nil, fmt.Errorf("read debian/changelog: %w", err)
	}
	s := &Source{Dir: dir, Name: ctl.Source.Source, Version: ent.Version}
	if s.Name == "" {
		s.Name = ent.Source
	}
	for _, b := range ctl.Binaries {
		p := Package{Name: b.Package}
		for _, a := range b.Architectures {
			p.Arch = append(p.Arch, a.String())
		}
		s.Packages = append(s.Packages, p)
	}
	return s, nil
}

// PackageNames lists the binary packages of debian/control.
func (s *Source) PackageNames() []string {
	out := make([]string, len(s.Packages))
	for i, p := range s.Packages {
		out[i] = p.Name
	}
	return out
}

// Package returns the named binary package.
func (s *Source) Package(name string) (Package, bool) {
	for _, p := range s.Packages {
		if p.Name == name {
			return p, true
		}
	}
	return Package{}, false
}

// FileArch is the architecture part of a per-package artifact's file name:
// "all" for Architecture: all packages, else the host architecture. It
// must be so, since dpkg-genchanges drops "all" files from -B builds and
// host-architecture files from -A builds.
func (s *Source) FileArch(pkg, hostArch string) string {
	if p, ok := s.Package(pkg); ok && p.ArchAll() {
		return "all"
	}
	return hostArch
}

// goToDebian maps the Go architectures whose Debian name differs.
var goToDebian = map[string]string{"386": "i386", "arm": "armhf", "ppc64le": "ppc64el", "mips64le": "mips64el", "mipsle": "mipsel"}

// NativeArch returns the Debian name of the architecture loupe runs on,
// which is the one it traces: the architecture of a verdict of loupe
// analyze --app, without asking dpkg (the machine need not be Debian).
func NativeArch() string { return DebianArch(runtime.GOARCH) }

// DebianArch returns the Debian name of a Go architecture (GOARCH).
func DebianArch(goarch string) string {
	if a, ok := goToDebian[goarch]; ok {
		return a
	}
	return goarch
}

// HostArch returns DEB_HOST_ARCH from env (dpkg-buildpackage exports it),
// or asks dpkg-architecture.
func HostArch(ctx context.Context, env []string) (string, error) {
	if a := Getenv(env, "DEB_HOST_ARCH"); a != "" {
		return a, nil
	}
	cmd := exec.CommandContext(ctx, "dpkg-architecture", "-qDEB_HOST_ARCH")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("dpkg-architecture -qDEB_HOST_ARCH: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// ListPackages asks dh_listpackages which binary packages a debhelper
// command with these selection arguments acts on, in the environment env
// (so DH_INTERNAL_OPTIONS, DH_OPTIONS, the host architecture and
// Build-Profiles are applied by debhelper itself). An empty list is not an
// error: debhelper commands then do nothing.
func ListPackages(ctx context.Context, dir string, args, env []string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "dh_listpackages", args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("dh_listpackages %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.Fields(string(out)), nil
}
