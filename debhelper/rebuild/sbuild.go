package rebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
)

// Sbuild builds with sbuild --chroot-mode=unshare.
type Sbuild struct {
	Chroot     string   // chroot tarball (mmdebstrap --mode=unshare --variant=buildd ...)
	Dist       string   // -d, e.g. bookworm
	DhLoupeDeb string   // the dh-loupe .deb to inject
	Mode       string   // loupe=<Mode> in DEB_BUILD_OPTIONS; "" leaves dh_loupe's default
	Config     string   // SBUILD_CONFIG file (WriteConfig writes it)
	Program    string   // default "sbuild"
	Extra      []string // more sbuild arguments
}

// ConfigText is the sbuild configuration loupe rebuild writes. It passes
// DH_EXTRA_ADDONS through sbuild's environment filter into the build, and
// it makes the build user root inside sbuild's user namespace.
//
// Why root: in unshare mode sbuild runs the build in a chroot inside its
// user namespace, and the kernel refuses new user namespaces to a process
// whose root is a chroot; an unprivileged build user can therefore neither
// mount loupe's overlays nor create a network or PID namespace, and
// analyses fall back to serial runs in the real tree (snapshot isolation).
// Root inside sbuild's namespace can: it runs loupe's runs in parallel,
// each in private overlays, network and PID namespace, with the mounts
// locked. That root is not the host's: sbuild maps it to the invoking
// user's first subordinate uid (/etc/subuid), so it has no more power over
// the host than the build user. What changes for the package is that its
// build (and test suite) runs as uid 0 in the chroot, as Debian policy
// allows and pbuilder did by default for years; the comparison builds
// (loupe=off) made with this configuration see the same.
func ConfigText() string {
	return "# Written by loupe rebuild.\n" +
		"# sbuild filters the environment, so DH_EXTRA_ADDONS must be set here to\n" +
		"# reach dh inside the chroot (it enables dh_loupe on packages that do not\n" +
		"# declare it).\n" +
		"$build_environment = { 'DH_EXTRA_ADDONS' => 'loupe' };\n" +
		"# Build as root inside sbuild's user namespace (the invoking user's\n" +
		"# subordinate uid outside it): in its chroot only root can give loupe's\n" +
		"# experiment runs namespaces isolation (private overlays, network, PID\n" +
		"# namespace, in parallel); an unprivileged build user falls back to\n" +
		"# serial runs in the real tree. Remove this line to build as the user.\n" +
		"$build_user = 'root';\n" +
		"# Prefer the injected dh-loupe and loupe-syscalls (sbuild's local archive,\n" +
		"# --extra-package) to any other version the mirror may carry.\n" +
		"# (sbuild runs a command given as a string with sh -c, in the chroot.)\n" +
		"$external_commands = { 'chroot-setup-commands' => [\n" +
		"  'printf \"Package: loupe-syscalls dh-loupe\\\\nPin: origin \\\\\"\\\\\"\\\\nPin-Priority: 1001\\\\n\" > /etc/apt/preferences.d/loupe-rebuild' ] };\n" +
		"1;\n"
}

// WriteConfig writes ConfigText to s.Config.
func (s *Sbuild) WriteConfig() error {
	return atomicfile.WriteFile(s.Config, []byte(ConfigText()), 0o644)
}

// Args returns sbuild's arguments for spec built into dir.
func (s *Sbuild) Args(spec, dir string) []string {
	args := []string{
		"--chroot-mode=unshare", "--chroot=" + s.Chroot,
		"--arch-all", "--arch-any",
		"--no-run-lintian", "--no-run-piuparts", "--no-run-autopkgtest",
		"--build-dir=" + dir,
	}
	if s.DhLoupeDeb != "" { // empty only in tests: the build then fails to load the addon
		for _, deb := range s.extraDebs() {
			args = append(args, "--extra-package="+deb)
		}
		args = append(args, "--add-depends=dh-loupe")
	}
	if s.Dist != "" {
		args = append(args, "--dist="+s.Dist)
	}
	args = append(args, s.Extra...)
	return append(args, spec)
}

// Env returns the environment sbuild runs with.
func (s *Sbuild) Env() []string {
	env := []string{"SBUILD_CONFIG=" + s.Config}
	dbo := os.Getenv("DEB_BUILD_OPTIONS")
	if s.Mode != "" {
		var kept []string
		for _, f := range strings.Fields(dbo) {
			if !strings.HasPrefix(f, "loupe=") {
				kept = append(kept, f)
			}
		}
		dbo = strings.Join(append(kept, "loupe="+s.Mode), " ")
	}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SBUILD_CONFIG=") && !strings.HasPrefix(e, "DEB_BUILD_OPTIONS=") {
			env = append(env, e)
		}
	}
	if dbo != "" {
		env = append(env, "DEB_BUILD_OPTIONS="+dbo)
	}
	return env
}

// Check reports what is missing to run, with what to do about it.
func (s *Sbuild) Check() error {
	prog := s.program()
	if _, err := exec.LookPath(prog); err != nil {
		return fmt.Errorf("%s not found: install sbuild, mmdebstrap and uidmap (scripts/install-deps sbuild)", prog)
	}
	if _, err := os.Stat(s.Chroot); err != nil {
		return fmt.Errorf("chroot tarball: %w (create it with: mmdebstrap --mode=unshare --variant=buildd --include=debhelper bookworm %s)", err, s.Chroot)
	}
	if _, err := os.Stat(s.DhLoupeDeb); err != nil {
		return fmt.Errorf("dh-loupe .deb: %w (build it with: make deb)", err)
	}
	if len(s.extraDebs()) == 1 && debDependsOnLoupe(s.DhLoupeDeb) {
		return fmt.Errorf("dh-loupe .deb %s depends on loupe-syscalls, but %s is not beside it (make deb builds both into dist/)",
			s.DhLoupeDeb, loupeDebBeside(s.DhLoupeDeb))
	}
	return nil
}

// extraDebs are the packages to inject (see InjectedDebs).
func (s *Sbuild) extraDebs() []string { return InjectedDebs(s.DhLoupeDeb) }

// InjectedDebs are the packages a build with dhLoupe needs injected:
// dh-loupe, and the loupe-syscalls package it depends on when that lies
// beside it (make deb builds both into dist/).
func InjectedDebs(dhLoupe string) []string {
	debs := []string{dhLoupe}
	if l := loupeDebBeside(dhLoupe); l != "" {
		if _, err := os.Stat(l); err == nil {
			debs = append(debs, l)
		}
	}
	return debs
}

// loupeDebBeside names loupe-syscalls_<version>_<arch>.deb next to
// dh-loupe_<version>_<arch>.deb, or "" for a file not named so.
func loupeDebBeside(dhLoupe string) string {
	dir, base := filepath.Split(dhLoupe)
	rest, ok := strings.CutPrefix(base, "dh-loupe_")
	if !ok {
		return ""
	}
	return filepath.Join(dir, "loupe-syscalls_"+rest)
}

// debDependsOnLoupe reports whether a .deb's Depends name the
// loupe-syscalls package (dh-loupe from 0.2 on).
func debDependsOnLoupe(deb string) bool {
	out, err := exec.Command("dpkg-deb", "--field", deb, "Depends").Output()
	if err != nil {
		return false
	}
	for _, d := range strings.Split(string(out), ",") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "loupe-syscalls" {
			return true
		}
	}
	return false
}

func (s *Sbuild) program() string {
	if s.Program != "" {
		return s.Program
	}
	return "sbuild"
}

// Build runs sbuild for spec; a .dsc is given by absolute path since sbuild
// runs in dir.
func (s *Sbuild) Build(ctx context.Context, spec, dir string, out io.Writer) error {
	if strings.HasSuffix(spec, ".dsc") {
		if abs, err := filepath.Abs(spec); err == nil {
			spec = abs
		}
	}
	cmd := exec.CommandContext(ctx, s.program(), s.Args(spec, dir)...)
	cmd.Dir = dir
	cmd.Env = s.Env()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Stdin = nil
	// sbuild starts its own children (unshare helpers): on cancellation
	// stop the whole process group, politely first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("sbuild %w: exited with %w", ErrBuildFailed, err)
	}
	return err
}
