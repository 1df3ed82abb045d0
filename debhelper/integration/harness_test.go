package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"pault.ag/go/debian/control"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

var (
	repoRoot string // the loupe source tree
	binDir   string // dh_loupe, dh_loupe_verdict and loupe
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	binDir = os.Getenv("LOUPE_BIN")
	if binDir == "" && !shortFlag() {
		tmp, err := os.MkdirTemp("", "loupe-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("go", "build", "-o", tmp+"/", "./cmd/...")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build the commands: %v\n%s", err, out)
			return 1
		}
		binDir = tmp
	}
	return m.Run()
}

// shortFlag reads -test.short before flag parsing by testing.
func shortFlag() bool {
	for _, a := range os.Args {
		if a == "-test.short" || a == "-test.short=true" {
			return true
		}
	}
	return false
}

// needBuildTools skips slow tests under -short, and when the Debian build
// tools are missing; a missing gcc fails (the README installs it).
func needBuildTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("package builds are slow; skipped with -short")
	}
	for _, c := range []string{"dpkg-buildpackage", "dh", "dh_listpackages", "dpkg-distaddfile"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s not installed (apt-get install debhelper dpkg-dev, or make deps)", c)
		}
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatal("gcc not found: the test packages are C programs (apt-get install gcc, or make deps)")
	}
	if _, err := os.Stat(filepath.Join(binDir, "dh_loupe_verdict")); err != nil {
		t.Fatalf("LOUPE_BIN=%s has no dh_loupe_verdict (make build)", binDir)
	}
}

// tree is a copy of a testdata package in a fresh directory, so that
// .. is the upload directory of the build.
type tree struct {
	t        *testing.T
	pkg      string
	Top, Src string
}

func newTree(t *testing.T, pkg string) *tree {
	t.Helper()
	top := t.TempDir()
	src := filepath.Join(top, pkg)
	if out, err := exec.Command("cp", "-a", filepath.Join(repoRoot, "testdata", pkg), src).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v: %s", pkg, err, out)
	}
	return &tree{t: t, pkg: pkg, Top: top, Src: src}
}

// edit rewrites a file of the tree.
func (tr *tree) edit(rel string, f func(string) string) {
	tr.t.Helper()
	p := filepath.Join(tr.Src, rel)
	b, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(f(string(b))), 0o644); err != nil {
		tr.t.Fatal(err)
	}
}

// undeclare removes dh-sequence-loupe from Build-Depends: the package
// then knows nothing of loupe.
func (tr *tree) undeclare() {
	tr.edit("debian/control", func(s string) string { return strings.Replace(s, ", dh-sequence-loupe", "", 1) })
}

// buildEnv is a clean environment for dpkg-buildpackage with loupe's
// commands first in PATH and the addon from the source tree.
func buildEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "DEB_BUILD_OPTIONS", k == "DEB_BUILD_PROFILES", strings.HasPrefix(k, "DH_"),
			k == "MAKEFLAGS", k == "MFLAGS", k == "MAKELEVEL", k == "PATH", k == "PERL5LIB", k == "LC_ALL":
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"PATH="+binDir+":"+os.Getenv("PATH"),
		"PERL5LIB="+filepath.Join(repoRoot, "debhelper/perl"),
		"LC_ALL=C.UTF-8",
	)
	return append(env, extra...)
}

// result is one dpkg-buildpackage run.
type result struct {
	Out  string
	Code int
}

// build runs dpkg-buildpackage -us -uc -d with args in the tree.
func (tr *tree) build(args []string, env ...string) result {
	tr.t.Helper()
	return tr.run(append([]string{"dpkg-buildpackage", "-us", "-uc", "-d"}, args...), env...)
}

func (tr *tree) run(argv []string, env ...string) result {
	tr.t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = tr.Src
	cmd.Env = buildEnv(env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := result{Out: out.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		tr.t.Fatalf("%v: %v", argv, err)
	}
	return r
}

// mustBuild is build that must succeed.
func (tr *tree) mustBuild(args []string, env ...string) result {
	tr.t.Helper()
	r := tr.build(args, env...)
	if r.Code != 0 {
		tr.t.Fatalf("dpkg-buildpackage %v (%v) failed with %d:\n%s", args, env, r.Code, tail(r.Out, 60))
	}
	return r
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// verdicts lists the verdict files next to the tree.
// takeDebs reads the named .debs beside the tree and removes them, so the
// next build's can be compared with them.
func (tr *tree) takeDebs(debs []string) [][]byte {
	tr.t.Helper()
	var out [][]byte
	for _, d := range debs {
		b, err := os.ReadFile(filepath.Join(tr.Top, d))
		if err != nil {
			tr.t.Fatal(err)
		}
		out = append(out, b)
		os.Remove(filepath.Join(tr.Top, d))
	}
	return out
}

func (tr *tree) verdicts() []string {
	tr.t.Helper()
	m, err := filepath.Glob(filepath.Join(tr.Top, "*.loupe.yaml"))
	if err != nil {
		tr.t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	sort.Strings(m)
	return m
}

func (tr *tree) verdict(name string) *verdict.File {
	tr.t.Helper()
	f, err := verdict.ReadFile(filepath.Join(tr.Top, name))
	if err != nil {
		tr.t.Fatalf("verdict %s: %v", name, err)
	}
	return f
}

// changes parses the .changes of the build and returns its Files entries
// as "name section priority".
func (tr *tree) changes(name string) []string {
	tr.t.Helper()
	ch, err := control.ParseChangesFile(filepath.Join(tr.Top, name))
	if err != nil {
		tr.t.Fatalf("parse %s: %v", name, err)
	}
	var out []string
	for _, f := range ch.Files {
		out = append(out, f.Filename+" "+f.Component+" "+f.Priority)
	}
	sort.Strings(out)
	return out
}

// loupeEntries are the verdict entries of a .changes.
func (tr *tree) loupeEntries(changes string) []string {
	var out []string
	for _, e := range tr.changes(changes) {
		if strings.Contains(e, ".loupe.yaml ") {
			out = append(out, e)
		}
	}
	return out
}

var summaryRE = regexp.MustCompile(`(?m)^loupe: .*$`)

// summaries are the "loupe: <pkg> status=..." lines of a build log.
func summaries(out string) []string { return summaryRE.FindAllString(out, -1) }

// binary finds a verdict entry by path.
func binary(f *verdict.File, path string) *verdict.Binary {
	for i := range f.Binaries {
		if f.Binaries[i].Path == path {
			return &f.Binaries[i]
		}
	}
	return nil
}

// helper finds a test helper by build-tree path.
func helper(f *verdict.File, path string) *verdict.Helper {
	for i := range f.Helpers {
		if f.Helpers[i].Path == path {
			return &f.Helpers[i]
		}
	}
	return nil
}

func syscallNames(b *verdict.Binary) map[string]bool {
	m := map[string]bool{}
	for _, s := range b.Syscalls {
		m[s.Name] = true
	}
	return m
}

func paths(f *verdict.File) []string {
	var out []string
	for _, b := range f.Binaries {
		out = append(out, fmt.Sprintf("%s shipped=%v", b.Path, b.Shipped))
	}
	for _, h := range f.Helpers {
		out = append(out, h.Path+" helper")
	}
	return out
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
