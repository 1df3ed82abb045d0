package rebuild

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

var record = flag.Bool("record", false, "with LOUPE_SBUILD=1: re-record testdata/outcomes from real sbuild builds")

func repoRoot(t *testing.T) string {
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	t.Fatal("go.mod not found")
	return ""
}

// needSbuild skips unless make test-sbuild asked for the slow real builds,
// and returns a chroot tarball, creating it with mmdebstrap if needed.
func needSbuild(t *testing.T) string {
	if os.Getenv("LOUPE_SBUILD") == "" {
		t.Skip("real sbuild builds are slow: run them with make test-sbuild (LOUPE_SBUILD=1)")
	}
	for _, tool := range []string{"sbuild", "mmdebstrap", "dpkg-source", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing: scripts/install-deps sbuild installs it", tool)
		}
	}
	chroot := os.Getenv("LOUPE_SBUILD_CHROOT")
	if chroot == "" {
		chroot = os.Getenv("LOUPE_SBUILD_TARBALL") // make test-sbuild's, see scripts/sbuild-chroot
	}
	if chroot == "" {
		chroot = "/var/cache/loupe-test/bookworm-amd64.tar.zst" // scripts/sbuild-chroot's default
	}
	if st, err := os.Stat(chroot); err != nil || st.Size() == 0 {
		os.MkdirAll(filepath.Dir(chroot), 0o755)
		t.Logf("creating the sbuild chroot %s with mmdebstrap (a few minutes)", chroot)
		cmd := exec.Command("mmdebstrap", "--mode=unshare", "--variant=buildd", "--include=debhelper",
			"bookworm", chroot, "http://deb.debian.org/debian")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(chroot)
			t.Fatalf("mmdebstrap: %v\n%s", err, tail(out))
		}
	}
	return chroot
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// standinDeb builds the stand-in dh-loupe .deb of testdata/standin-dh-loupe
// with dpkg-deb.
func standinDeb(t *testing.T) string {
	root := filepath.Join(t.TempDir(), "root")
	for src, dst := range map[string]string{
		"dh_loupe": "usr/bin/dh_loupe",
		"loupe.pm": "usr/share/perl5/Debian/Debhelper/Sequence/loupe.pm",
		"control":  "DEBIAN/control",
	} {
		b, err := os.ReadFile(filepath.Join("testdata/standin-dh-loupe", src))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, dst)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if src == "dh_loupe" {
			mode = 0o755
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(t.TempDir(), "dh-loupe_0~standin1_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	return deb
}

// sources builds the .dsc of the testdata source packages.
func sources(t *testing.T) map[string]string {
	dir := t.TempDir()
	out := map[string]string{}
	for _, p := range []string{"loupe-rebuild-ok", "loupe-rebuild-fail"} {
		if out, err := exec.Command("cp", "-a", filepath.Join("testdata/src", p), dir).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		cmd := exec.Command("dpkg-source", "-b", p)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dpkg-source -b %s: %v\n%s", p, err, b)
		}
		out[p] = filepath.Join(dir, p+"_1.0.dsc")
	}
	return out
}

// rebuildTwo rebuilds the two testdata packages with deb as dh-loupe and
// checks the statuses, the journal, the env pass-through and loupe db.
func rebuildTwo(t *testing.T, chroot, deb string) string {
	srcs := sources(t)
	out := t.TempDir()
	sb := &Sbuild{Chroot: chroot, Dist: "bookworm", DhLoupeDeb: deb, Config: filepath.Join(out, "sbuild.conf")}
	if err := sb.Check(); err != nil {
		t.Fatal(err)
	}
	if err := sb.WriteConfig(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	var prog bytes.Buffer
	specs := []string{srcs["loupe-rebuild-ok"], srcs["loupe-rebuild-fail"]}
	res, err := Run(ctx, sb, specs, Options{Out: out, Jobs: 2, Progress: &prog})
	t.Logf("progress:\n%s", prog.String())
	if err != nil {
		t.Fatal(err)
	}
	ok, fail := res[0], res[1]
	if ok.Status != Built || len(ok.Binaries) != 1 || ok.Binaries[0].Status != "ok" || ok.Binaries[0].Verdict == "" {
		t.Errorf("loupe-rebuild-ok: %+v (log %s)", ok, ok.Log)
	}
	if fail.Status != TestsFailed {
		t.Errorf("loupe-rebuild-fail: %+v (log %s)", fail, fail.Log)
	}
	log, _ := os.ReadFile(ok.Log)
	if !bytes.Contains(log, []byte("DH_EXTRA_ADDONS=loupe")) {
		t.Errorf("the build log does not show DH_EXTRA_ADDONS=loupe reaching the build (%s)", ok.Log)
	}
	// A second run finds everything done.
	res2, err := Run(ctx, sb, specs, Options{Out: out, Jobs: 2})
	if err != nil || res2[0].Finished != ok.Finished {
		t.Errorf("second run rebuilt: %v %+v", err, res2[0])
	}
	// The output directory goes straight into loupe db.
	ds, err := dataset.Collect(ctx, []string{out}, dataset.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Entries) != 1 || ds.Entries[0].Name != "loupe-rebuild-ok" || ds.Entries[0].Provenance[0].Changes == "" || len(ds.Problems) != 0 {
		t.Errorf("loupe db of the rebuild: %+v problems %v", ds.Entries, ds.Problems)
	}
	return out
}

// TestSbuildRebuildStandin runs the driver over real sbuild builds of the
// two testdata packages, with a stand-in dh-loupe (testdata/standin-dh-loupe)
// that writes placeholder verdicts the way dh_loupe does. It proves the
// sbuild plumbing (DH_EXTRA_ADDONS through $build_environment,
// --extra-package, --add-depends, .changes, logs, statuses, resume,
// loupe db) independently of dh_loupe itself. With -record it re-records
// testdata/outcomes.
func TestSbuildRebuildStandin(t *testing.T) {
	chroot := needSbuild(t)
	deb := standinDeb(t)
	out := rebuildTwo(t, chroot, deb)
	if !*record {
		return
	}
	save := func(name, dir string) {
		dst := filepath.Join("testdata/outcomes", name)
		os.RemoveAll(dst)
		os.MkdirAll(dst, 0o755)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			n := e.Name()
			fi, _ := os.Lstat(filepath.Join(dir, n))
			if fi.Mode()&os.ModeSymlink != 0 || strings.HasSuffix(n, ".deb") || n == "sbuild.out" {
				continue // keep the recording small: logs, .changes, verdicts
			}
			b, _ := os.ReadFile(filepath.Join(dir, n))
			// Dated log names would churn on every recording.
			if strings.HasSuffix(n, ".build") {
				n = strings.SplitN(n, "-20", 2)[0]
				if !strings.HasSuffix(n, ".build") {
					n += ".build"
				}
			}
			os.WriteFile(filepath.Join(dst, n), b, 0o644)
		}
	}
	save("built-verdicts", filepath.Join(out, "pkgs", "loupe-rebuild-ok_1.0"))
	save("tests-failed", filepath.Join(out, "pkgs", "loupe-rebuild-fail_1.0"))
	srcs := sources(t)
	for _, v := range []struct{ name, dbo, deb string }{
		{"insensitive", "loupe-standin=insensitive", deb},
		{"loupe-error", "loupe-standin=error", deb},
		{"build-failed", "", ""}, // no dh-loupe at all: dh cannot load the addon
	} {
		t.Setenv("DEB_BUILD_OPTIONS", v.dbo)
		o := t.TempDir()
		sb := &Sbuild{Chroot: chroot, Dist: "bookworm", DhLoupeDeb: v.deb, Config: filepath.Join(o, "sbuild.conf")}
		sb.WriteConfig()
		res, err := Run(context.Background(), sb, []string{srcs["loupe-rebuild-ok"]}, Options{Out: o})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s (%s)", v.name, res[0].Status, res[0].Detail)
		save(v.name, res[0].Dir)
	}
}

// dhLoupeDeb finds the real dh-loupe .deb: $LOUPE_DEB (make test-sbuild
// sets it), $LOUPE_DH_LOUPE_DEB, or dist/ of the repository (make deb).
func dhLoupeDeb(t *testing.T) string {
	for _, v := range []string{"LOUPE_DEB", "LOUPE_DH_LOUPE_DEB"} {
		if d := os.Getenv(v); d != "" {
			if _, err := os.Stat(d); err != nil {
				t.Fatalf("%s: %v", v, err)
			}
			return d
		}
	}
	m, _ := filepath.Glob(filepath.Join(repoRoot(t), "dist", "dh-loupe_*_amd64.deb"))
	if len(m) == 0 {
		t.Skip("no dh-loupe .deb: build it with make deb (make test-sbuild does), or set LOUPE_DEB")
	}
	return m[len(m)-1]
}

// loupeBin is the loupe command the test runs on the rebuild's output, as
// a user would: $LOUPE_BIN/loupe (make build), else bin/loupe.
func loupeBin(t *testing.T) string {
	dir := os.Getenv("LOUPE_BIN")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "bin")
	}
	p := filepath.Join(dir, "loupe")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("loupe binary: %v (make build)", err)
	}
	return p
}

// repoSources builds .dsc files of the repository's testdata packages.
func repoSources(t *testing.T, pkgs ...string) map[string]string {
	dir := t.TempDir()
	out := map[string]string{}
	for _, p := range pkgs {
		if b, err := exec.Command("cp", "-a", filepath.Join(repoRoot(t), "testdata", p), dir).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, b)
		}
		cmd := exec.Command("dpkg-source", "-b", p)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dpkg-source -b %s: %v\n%s", p, err, b)
		}
		m, _ := filepath.Glob(filepath.Join(dir, p+"_*.dsc"))
		if len(m) != 1 {
			t.Fatalf("%s: .dsc files %v", p, m)
		}
		out[p] = m[0]
	}
	return out
}

// checkTraceRebuild checks the results of a trace rebuild of hello-loupe,
// multi-loupe and failing-loupe, in that order, on any backend.
func checkTraceRebuild(t *testing.T, res []Result) {
	t.Helper()
	wantBins := map[string][]string{"hello-loupe": {"hello-loupe"}, "multi-loupe": {"multi-loupe-bin", "multi-loupe-scripts"}}
	for i, name := range []string{"hello-loupe", "multi-loupe"} {
		r := res[i]
		t.Logf("%s: %s in %.0fs", name, r.Status, r.Seconds)
		var got []string
		for _, b := range r.Binaries {
			got = append(got, b.Package)
			if b.Status != "ok" || b.Mode != "trace" || b.Verdict == "" || b.Syscalls == 0 {
				t.Errorf("%s: binary %+v: want status ok, mode trace, a verdict in the .changes", name, b)
			}
		}
		if r.Status != Built || r.Changes == "" || strings.Join(got, " ") != strings.Join(wantBins[name], " ") {
			t.Errorf("%s: %+v, binaries %v want %v (log %s)", name, r, got, wantBins[name], r.Log)
		}
	}
	if f := res[2]; f.Status != TestsFailed || f.Changes != "" || f.Log == "" {
		t.Errorf("failing-loupe: %+v, want tests-failed with a build log and without .changes", f)
	} else {
		t.Logf("failing-loupe: %s in %.0fs (%s)", f.Status, f.Seconds, f.Detail)
	}
}

// TestSbuildRebuildDhLoupe rebuilds the repository's testdata packages
// hello-loupe and multi-loupe (both build-depend on dh-sequence-loupe) and
// failing-loupe (its test suite fails) with the real dh-loupe .deb, in
// trace mode, then feeds the output directory to loupe db, loupe plan and
// loupe report, as a user would. Trace mode: dh_loupe's analyze mode is not
// wired to the analysis engine yet (its verdicts say status error, "no
// analysis engine"), so the plan of this rebuild is the naive one.
func TestSbuildRebuildDhLoupe(t *testing.T) {
	deb := dhLoupeDeb(t)
	chroot := needSbuild(t)
	loupe := loupeBin(t)
	srcs := repoSources(t, "hello-loupe", "multi-loupe", "failing-loupe")
	out := t.TempDir()
	sb := &Sbuild{Chroot: chroot, Dist: "bookworm", DhLoupeDeb: deb, Mode: "trace", Config: filepath.Join(out, "sbuild.conf")}
	if err := sb.Check(); err != nil {
		t.Fatal(err)
	}
	if err := sb.WriteConfig(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	specs := []string{srcs["hello-loupe"], srcs["multi-loupe"], srcs["failing-loupe"]}
	var prog bytes.Buffer
	start := time.Now()
	res, err := Run(ctx, sb, specs, Options{Out: out, Jobs: 2, Progress: &prog})
	t.Logf("rebuild of 3 packages, 2 jobs: %s\n%s", time.Since(start).Round(time.Second), prog.String())
	if err != nil {
		t.Fatal(err)
	}
	var sum bytes.Buffer
	Summary(&sum, res)
	t.Logf("summary:\n%s", sum.String())
	checkTraceRebuild(t, res)
	log, _ := os.ReadFile(res[0].Log)
	if !bytes.Contains(log, []byte("DH_EXTRA_ADDONS=loupe")) {
		t.Errorf("the build log does not show DH_EXTRA_ADDONS=loupe reaching the build (%s)", res[0].Log)
	}

	// The output directory goes straight into loupe db, then plan and report.
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(ctx, loupe, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("loupe %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return b
	}
	ds := filepath.Join(out, "rebuild.dataset.json")
	start = time.Now()
	run("db", "--strict", "-o", ds, out)
	t.Logf("loupe db of the rebuild: %s", time.Since(start).Round(time.Millisecond))
	d, err := dataset.ReadFile(ds)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range d.Entries {
		names = append(names, e.Name)
		if e.Status != "ok" || e.Mode != "trace" || len(e.Syscalls.Traced) == 0 || len(e.Provenance) != 1 || e.Provenance[0].Changes == "" {
			t.Errorf("dataset entry %s: status %s mode %s, %d syscalls, provenance %+v", e.Name, e.Status, e.Mode, e.Syscalls.Len(), e.Provenance)
		}
	}
	if strings.Join(names, " ") != "hello-loupe multi-loupe-bin multi-loupe-scripts" {
		t.Errorf("dataset entries %v", names)
	}
	if e := d.Entries[0]; len(d.Entries) > 0 && !strings.Contains(" "+strings.Join(e.Syscalls.Traced, " ")+" ", " uname ") {
		t.Errorf("hello-loupe calls uname(2); its entry has %v", e.Syscalls.Traced)
	}
	if os.Getenv("LOUPE_KEEP_REBUILD") != "" {
		// For looking at the real report: copy the rebuild's dataset out.
		b, _ := os.ReadFile(ds)
		os.WriteFile(os.Getenv("LOUPE_KEEP_REBUILD"), b, 0o644)
	}
	osFile := filepath.Join(out, "empty.syscalls")
	os.WriteFile(osFile, nil, 0o644)
	var pl struct {
		Kind     string   `json:"kind"`
		Apps     int      `json:"apps"`
		Warnings []string `json:"warnings"`
		Steps    []struct {
			Implement []string `json:"implement"`
			Unlocks   []struct {
				App string `json:"app"`
			} `json:"unlocks"`
		} `json:"steps"`
		NoData []any `json:"no_data"`
	}
	if err := json.Unmarshal(run("plan", "--os", osFile, "--format", "json", ds), &pl); err != nil {
		t.Fatal(err)
	}
	unlocked := 0
	for _, s := range pl.Steps {
		unlocked += len(s.Unlocks)
	}
	// Trace verdicts only: the naive plan, said so.
	if pl.Kind != "naive" || pl.Apps != 3 || unlocked != 3 || len(pl.NoData) != 0 || len(pl.Warnings) == 0 {
		t.Errorf("plan of the rebuild: kind %s, %d apps, %d unlocked, no data %v, warnings %v", pl.Kind, pl.Apps, unlocked, pl.NoData, pl.Warnings)
	}
	t.Logf("plan from nothing:\n%s", run("plan", "--os", osFile, ds))
	html := filepath.Join(out, "report.html")
	run("report", "-o", html, ds)
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !bytes.Contains(b, []byte(n)) {
			t.Errorf("report does not mention %s", n)
		}
	}
}
