package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/debhelper/rebuild"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
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
	argv := []string{
		"--chroot-mode=unshare", "--chroot=" + tarball, "--dist=bookworm",
		"--arch-all", "--arch-any", "--no-run-lintian", "--no-run-piuparts", "--no-run-autopkgtest",
		"--build-dir=" + out, "--nolog",
	}
	for _, d := range rebuild.InjectedDebs(deb) {
		argv = append(argv, "--extra-package="+d)
	}
	argv = append(argv, args...)
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
	f := sbuildVerdict(t, dir, log, "hello-loupe")
	hello := binary(f, "/usr/bin/hello-loupe")
	if f.Status != verdict.StatusOK || hello == nil || !syscallNames(hello)["uname"] {
		t.Errorf("status %s, binaries %v", f.Status, paths(f))
	}
	if !strings.Contains(log, "loupe: hello-loupe status=ok mode=trace") {
		t.Errorf("no summary line in the sbuild log:\n%s", tail(log, 60))
	}
}

// sbuildVerdict reads the verdict of pkg (version 1.0, amd64) in an sbuild
// build directory, and checks that the .changes lists it.
func sbuildVerdict(t *testing.T, dir, log, pkg string) *verdict.File {
	t.Helper()
	name := pkg + "_1.0_amd64.loupe.yaml"
	f, err := verdict.ReadFile(filepath.Join(dir, name))
	if err != nil {
		m, _ := filepath.Glob(filepath.Join(dir, "*"))
		t.Fatalf("no verdict in sbuild's build directory (%v): %v\n%s", m, err, tail(log, 80))
	}
	tr := &tree{t: t, Top: dir}
	if got := tr.loupeEntries(pkg + "_1.0_amd64.changes"); !reflect.DeepEqual(got, []string{name + " debug optional"}) {
		t.Errorf(".changes verdict entries %v", got)
	}
	return f
}

// TestSbuildAnalyze: loupe=analyze inside sbuild's unshare mode, end to end,
// on limits-loupe, whose answers are known (prlimit64 can be stubbed and
// faked, write is required). In the configuration `loupe rebuild` writes
// (the build user is root inside sbuild's user namespace) the runs get
// namespaces isolation, in parallel; the .debs are byte-identical to a
// build without loupe. With an unprivileged build user the runs fall back
// to snapshots, and the verdict and the build log say why and what to
// change. Then the same with trixie and, if the mirror has it, unstable.
func TestSbuildAnalyze(t *testing.T) {
	deb, tarball := sbuildSetup(t)
	tr := newTree(t, "limits-loupe")
	dsc := tr.sourcePackage()
	debs := []string{"limits-loupe_1.0_amd64.deb", "limits-loupe-dbgsym_1.0_amd64.deb"}
	dbo := "DEB_BUILD_OPTIONS=loupe=analyze,jobs=2,replicas=2"

	var plain [][]byte
	t.Run("without loupe", func(t *testing.T) {
		dir, _ := loupeRebuild(t, dsc, deb, tarball, "bookworm", "DEB_BUILD_OPTIONS=loupe=off")
		plain = (&tree{t: t, Top: dir}).takeDebs(debs)
	})
	t.Run("rebuild configuration", func(t *testing.T) {
		dir, log := loupeRebuild(t, dsc, deb, tarball, "bookworm", dbo)
		f := checkLimitsVerdict(t, dir, log)
		if f.RunMetadata.Isolation != "namespaces" || f.RunMetadata.Jobs != 2 {
			t.Errorf("isolation %q with %d jobs, want namespaces with 2 (notes %q)", f.RunMetadata.Isolation, f.RunMetadata.Jobs, f.RunMetadata.Notes)
		}
		// Root in sbuild's user namespace has CAP_SYS_ADMIN there: the
		// runs follow the tree with seccomp notify, without no_new_privs.
		if f.RunMetadata.Follow != "notify" {
			t.Errorf("follow %q, want notify in the configuration loupe rebuild sets up (notes %q)", f.RunMetadata.Follow, f.RunMetadata.Notes)
		}
		for _, n := range f.RunMetadata.Notes {
			if strings.Contains(n, "namespaces unavailable") || strings.Contains(n, "subreaper") {
				t.Errorf("note %q in the configuration loupe rebuild sets up", n)
			}
		}
		if plain == nil {
			t.Fatal("no build without loupe to compare with")
		}
		for i, b := range (&tree{t: t, Top: dir}).takeDebs(debs) {
			if !bytes.Equal(b, plain[i]) {
				t.Errorf("%s differs between the sbuild builds with and without loupe=analyze", debs[i])
			}
		}
	})
	t.Run("unprivileged build user", func(t *testing.T) {
		conf := filepath.Join(t.TempDir(), "sbuild.conf")
		if err := os.WriteFile(conf, []byte("$build_user = 'sbuild';\n1;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		dir, log := sbuild(t, dsc, deb, tarball, []string{"--build-path=/build/limits-loupe"}, "SBUILD_CONFIG="+conf, dbo)
		f := checkLimitsVerdict(t, dir, log)
		notes := strings.Join(f.RunMetadata.Notes, "\n")
		if f.RunMetadata.Isolation != "snapshot" {
			t.Errorf("isolation %q, want the snapshot fallback", f.RunMetadata.Isolation)
		}
		// Unprivileged, a filter on the whole tree would need
		// no_new_privs, which auto never imposes: ptrace follows it.
		if f.RunMetadata.Follow != "ptrace" {
			t.Errorf("follow %q, want ptrace for an unprivileged build user (notes %q)", f.RunMetadata.Follow, f.RunMetadata.Notes)
		}
		for _, w := range []string{"namespaces unavailable", "inside a chroot", "$build_user = 'root'"} {
			if !strings.Contains(notes, w) {
				t.Errorf("the verdict's notes do not say %q:\n%s", w, notes)
			}
		}
		for _, w := range []string{"inside a chroot", "snapshot isolation", "$build_user = 'root'"} {
			if !strings.Contains(log, w) {
				t.Errorf("the build log does not say %q:\n%s", w, tail(log, 80))
			}
		}
	})
	for _, dist := range []string{"trixie", "unstable"} {
		t.Run(dist, func(t *testing.T) {
			tb := filepath.Join(filepath.Dir(tarball), dist+"-amd64.tar.zst")
			if _, err := os.Stat(tb); err != nil {
				if dist == "unstable" {
					t.Skipf("no unstable chroot (scripts/sbuild-chroot unstable-if-available makes one when the mirror has unstable): %v", err)
				}
				t.Fatalf("%v (make test-sbuild creates it: scripts/sbuild-chroot %s)", err, dist)
			}
			dir, log := loupeRebuild(t, dsc, deb, tb, dist, dbo)
			f := checkLimitsVerdict(t, dir, log)
			if f.RunMetadata.Isolation != "namespaces" {
				t.Errorf("isolation %q, want namespaces (notes %q)", f.RunMetadata.Isolation, f.RunMetadata.Notes)
			}
			if f.RunMetadata.Follow != "notify" {
				t.Errorf("follow %q, want notify (notes %q)", f.RunMetadata.Follow, f.RunMetadata.Notes)
			}
		})
	}
}

// loupeRebuild builds dsc with `loupe rebuild` (its own sbuild
// configuration) and returns the package's build directory and its log.
// The build path is fixed, so that .debs of different builds compare.
func loupeRebuild(t *testing.T, dsc, deb, tarball, dist string, env ...string) (string, string) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "loupe"), "rebuild", "--chroot", tarball, "--dh-loupe-deb", deb,
		"--dist", dist, "--out", out, "--sbuild-arg=--build-path=/build/limits-loupe", dsc)
	cmd.Env = append(buildEnv(), env...)
	b, err := cmd.CombinedOutput()
	dir := rebuildPackageDir(out, dsc)
	logs, _ := filepath.Glob(filepath.Join(dir, "*.build"))
	var log []byte
	if len(logs) > 0 {
		log, _ = os.ReadFile(logs[len(logs)-1])
	}
	if err != nil || !strings.Contains(string(b), ": built 1 ") {
		t.Fatalf("loupe rebuild: %v\n%s\n%s", err, b, tail(string(log), 80))
	}
	return dir, string(log)
}

func rebuildPackageDir(out, dsc string) string {
	return filepath.Join(out, "pkgs", strings.TrimSuffix(filepath.Base(dsc), ".dsc"))
}

// checkLimitsVerdict checks limits-loupe's analyze verdict in an sbuild
// build directory: listed in the .changes, known answers, the summary line.
func checkLimitsVerdict(t *testing.T, dir, log string) *verdict.File {
	t.Helper()
	f := sbuildVerdict(t, dir, log, "limits-loupe")
	if f.Status != verdict.StatusOK || f.Mode != verdict.ModeAnalyze {
		t.Fatalf("status %s (%s) mode %s\n%s", f.Status, f.Reason, f.Mode, tail(log, 80))
	}
	lim := binary(f, "/usr/bin/limits-loupe")
	if lim == nil {
		t.Fatalf("no /usr/bin/limits-loupe in %v", paths(f))
	}
	got := map[string]string{}
	for _, s := range lim.Syscalls {
		got[s.Name] = outcome(s)
	}
	for sc, w := range map[string]string{"prlimit64": "stub+fake", "write": "required"} {
		if got[sc] != w {
			t.Errorf("%s: %q, want %q (all: %v)", sc, got[sc], w, got)
		}
	}
	if !strings.Contains(log, "loupe: limits-loupe status=ok mode=analyze") {
		t.Errorf("no summary line in the build log:\n%s", tail(log, 60))
	}
	t.Logf("isolation %s, %d jobs, %d runs in %.1fs; notes %q", f.RunMetadata.Isolation, f.RunMetadata.Jobs,
		f.Runs.Total, f.RunMetadata.WallSeconds, f.RunMetadata.Notes)
	return f
}
