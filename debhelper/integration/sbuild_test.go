package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/verdict"
)

// sbuildSetup returns the dh-loupe .deb and the chroot tarball, or skips.
func sbuildSetup(t *testing.T) (deb, tarball string) {
	t.Helper()
	if os.Getenv("LOUPE_SBUILD") == "" {
		t.Skip("sbuild builds are slow and need a chroot tarball: run make test-sbuild (sets LOUPE_SBUILD=1)")
	}
	needBuildTools(t)
	if _, err := exec.LookPath("sbuild"); err != nil {
		t.Fatal("sbuild not installed (scripts/install-deps sbuild)")
	}
	deb = os.Getenv("LOUPE_DEB")
	if deb == "" {
		t.Fatal("LOUPE_DEB must name the dh-loupe .deb (make deb; make test-sbuild sets it)")
	}
	tarball = os.Getenv("LOUPE_SBUILD_TARBALL")
	if tarball == "" {
		tarball = "/var/cache/loupe-test/bookworm-amd64.tar.zst"
	}
	for _, f := range []string{deb, tarball} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v (make test-sbuild builds both: scripts/sbuild-chroot, make deb)", err)
		}
	}
	return deb, tarball
}

// sourcePackage makes a .dsc of the tree, as a rebuild would fetch it.
func (tr *tree) sourcePackage() string {
	tr.t.Helper()
	cmd := exec.Command("dpkg-source", "-b", tr.pkg)
	cmd.Dir = tr.Top
	if out, err := cmd.CombinedOutput(); err != nil {
		tr.t.Fatalf("dpkg-source -b: %v\n%s", err, out)
	}
	m, _ := filepath.Glob(filepath.Join(tr.Top, "*.dsc"))
	if len(m) != 1 {
		tr.t.Fatalf("dsc files: %v", m)
	}
	return m[0]
}

// sbuild builds a .dsc in unshare mode with the dh-loupe .deb available,
// into a fresh build directory, and returns the directory and the log.
func sbuild(t *testing.T, dsc, deb, tarball string, args []string, env ...string) (string, string) {
	t.Helper()
	out := t.TempDir()
	argv := append([]string{
		"--chroot-mode=unshare", "--chroot=" + tarball, "--dist=bookworm",
		"--arch-all", "--arch-any", "--no-run-lintian", "--no-run-piuparts", "--no-run-autopkgtest",
		"--extra-package=" + deb, "--build-dir=" + out, "--nolog",
	}, args...)
	cmd := exec.Command("sbuild", append(argv, dsc)...)
	cmd.Dir = out
	cmd.Env = append(buildEnv(), env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("sbuild %v: %v\n%s", argv, err, tail(log.String(), 80))
	}
	return out, log.String()
}

func TestSbuild(t *testing.T) {
	deb, tarball := sbuildSetup(t)

	t.Run("declared", func(t *testing.T) {
		tr := newTree(t, "hello-loupe")
		dsc := tr.sourcePackage()
		dir, log := sbuild(t, dsc, deb, tarball, nil, "DEB_BUILD_OPTIONS=loupe=trace")
		checkSbuildVerdict(t, dir, log)
	})

	t.Run("rebuild of an undeclared package", func(t *testing.T) {
		tr := newTree(t, "hello-loupe")
		tr.undeclare()
		dsc := tr.sourcePackage()
		conf := filepath.Join(t.TempDir(), "sbuild.conf")
		// sbuild filters the environment; $build_environment passes
		// DH_EXTRA_ADDONS into the build.
		if err := os.WriteFile(conf, []byte("$build_environment = { DH_EXTRA_ADDONS => 'loupe' };\n1;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		dir, log := sbuild(t, dsc, deb, tarball, []string{"--add-depends=dh-loupe"}, "SBUILD_CONFIG="+conf)
		checkSbuildVerdict(t, dir, log)
	})
}

func checkSbuildVerdict(t *testing.T, dir, log string) {
	t.Helper()
	name := "hello-loupe_1.0_amd64.loupe.yaml"
	f, err := verdict.ReadFile(filepath.Join(dir, name))
	if err != nil {
		m, _ := filepath.Glob(filepath.Join(dir, "*"))
		t.Fatalf("no verdict in sbuild's build directory (%v): %v\n%s", m, err, tail(log, 60))
	}
	hello := binary(f, "/usr/bin/hello-loupe")
	if f.Status != verdict.StatusOK || hello == nil || !syscallNames(hello)["uname"] {
		t.Errorf("status %s, binaries %v", f.Status, paths(f))
	}
	tr := &tree{t: t, Top: dir}
	if got := tr.loupeEntries("hello-loupe_1.0_amd64.changes"); !reflect.DeepEqual(got, []string{name + " debug optional"}) {
		t.Errorf(".changes entries %v", got)
	}
	if !strings.Contains(log, "loupe: hello-loupe status=ok mode=trace") {
		t.Errorf("no summary line in the sbuild log:\n%s", tail(log, 60))
	}
}
