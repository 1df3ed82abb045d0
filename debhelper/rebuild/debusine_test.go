package rebuild

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

func TestLoadDebusineConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ini")
	os.WriteFile(good, []byte(`[General]
default-server = local

# a comment
[server:local]
api-url = http://localhost:8421/api/
scope = debusine
token = abc

[server:other]
api-url = https://debusine.example.org/api
scope = debian
token = def
`), 0o600)
	noDefault := filepath.Join(dir, "nodefault.ini")
	os.WriteFile(noDefault, []byte("[server:x]\napi-url = http://x/api\nscope = s\ntoken = t\n"), 0o600)
	noToken := filepath.Join(dir, "notoken.ini")
	os.WriteFile(noToken, []byte("[General]\ndefault-server = x\n[server:x]\napi-url = http://x/api\nscope = s\n"), 0o600)
	bad := filepath.Join(dir, "bad.ini")
	os.WriteFile(bad, []byte("[General]\ndefault-server\n"), 0o600)
	for _, c := range []struct {
		name, path, server string
		want               DebusineServer
		err                string
	}{
		{"default server", good, "", DebusineServer{Name: "local", APIURL: "http://localhost:8421/api", Scope: "debusine", Token: "abc"}, ""},
		{"by name", good, "other", DebusineServer{Name: "other", APIURL: "https://debusine.example.org/api", Scope: "debian", Token: "def"}, ""},
		{"by api-url", good, "https://debusine.example.org/api/", DebusineServer{Name: "other", APIURL: "https://debusine.example.org/api", Scope: "debian", Token: "def"}, ""},
		{"unknown server", good, "nope", DebusineServer{}, "no [server:nope] (servers: local, other)"},
		{"no default", noDefault, "", DebusineServer{}, "no [General] default-server"},
		{"no token", noToken, "", DebusineServer{}, "[server:x] has no token"},
		{"syntax", bad, "", DebusineServer{}, "bad.ini:2: want key = value"},
		{"missing file", filepath.Join(dir, "none.ini"), "", DebusineServer{}, "debusine setup"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadDebusineConfig(c.path, c.server)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestDebusineWanted(t *testing.T) {
	for _, c := range []struct {
		cat, name string
		want      bool
	}{
		{"debian:package-build-log", "hello_1.0_amd64.build", true},
		{"debian:upload", "hello_1.0_amd64.changes", true},
		{"debian:upload", "hello_1.0_amd64.buildinfo", true},
		{"debian:upload", "hello-bin_1.0_amd64.loupe.yaml", true},
		{"debian:upload", "hello-bin_1.0_amd64.deb", false},
		{"debian:binary-package", "hello-bin_1.0_amd64.deb", false},
		{"debusine:work-request-debug-logs", "cmd-output.log", false},
	} {
		if got := wanted(c.cat, c.name); got != c.want {
			t.Errorf("wanted(%s, %s) = %v", c.cat, c.name, got)
		}
	}
	for _, n := range []string{"../etc/passwd", "a/b", ".hidden", ""} {
		if safeName.MatchString(n) {
			t.Errorf("file name %q from a server accepted", n)
		}
	}
}

// needDebusine skips unless make test-debusine brought up a local debusine
// (scripts/debusine-local) and made its loupe environments.
func needDebusine(t *testing.T) (conf string, env map[string]string) {
	if os.Getenv("LOUPE_DEBUSINE") == "" {
		t.Skip("needs a running debusine: run make test-debusine (LOUPE_DEBUSINE=1)")
	}
	conf = os.Getenv("LOUPE_DEBUSINE_CONFIG")
	env = map[string]string{"trace": os.Getenv("LOUPE_DEBUSINE_ENV_TRACE"), "analyze": os.Getenv("LOUPE_DEBUSINE_ENV_ANALYZE")}
	if conf == "" || env["trace"] == "" || env["analyze"] == "" {
		t.Fatal("LOUPE_DEBUSINE_CONFIG, LOUPE_DEBUSINE_ENV_TRACE and LOUPE_DEBUSINE_ENV_ANALYZE must be set (make test-debusine sets them)")
	}
	if _, err := exec.LookPath("debusine"); err != nil {
		t.Fatal("debusine client missing: scripts/debusine-local up installs it")
	}
	return conf, env
}

func newTestDebusine(t *testing.T, conf, env, mode, out string) *Debusine {
	srv, err := LoadDebusineConfig(conf, "")
	if err != nil {
		t.Fatal(err)
	}
	d := &Debusine{Server: srv, Workspace: "loupe", Environment: env, Mode: mode, Poll: 2 * time.Second, Out: out,
		CLI: []string{"debusine", "--config-file", conf}, HTTP: &http.Client{Timeout: time.Minute}}
	if err := d.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestDebusineRebuild rebuilds testdata packages on a real local debusine
// (server, scheduler, worker; sbuild tasks in unshare mode) in its loupe
// trace and analyze environments, interrupts a run while its work request
// is in flight and checks the next run follows that work request instead
// of submitting again, and feeds the output to loupe db.
func TestDebusineRebuild(t *testing.T) {
	conf, envs := needDebusine(t)
	loupe := loupeBin(t)
	srcs := repoSources(t, "hello-loupe", "multi-loupe", "failing-loupe")
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Minute)
	defer cancel()

	// Trace: two packages that build, one whose tests fail.
	out := t.TempDir()
	d := newTestDebusine(t, conf, envs["trace"], "trace", out)
	specs := []string{srcs["hello-loupe"], srcs["multi-loupe"], srcs["failing-loupe"]}

	// Interrupt the first run as soon as hello-loupe's work request is
	// submitted: it is not journaled, and must not be submitted again.
	ictx, icancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := Run(ictx, d, specs[:1], Options{Out: out})
		done <- err
	}()
	subs := filepath.Join(out, SubmissionsName)
	for deadline := time.Now().Add(5 * time.Minute); ; {
		if b, _ := os.ReadFile(subs); bytes.Count(b, []byte("\n")) == 1 {
			break
		}
		if time.Now().After(deadline) {
			icancel()
			t.Fatalf("no submission recorded in %s after 5 minutes", subs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	icancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted run: %v", err)
	}
	first, _ := os.ReadFile(subs)

	d.Close() // as the interrupted loupe's exit would
	d = newTestDebusine(t, conf, envs["trace"], "trace", out)
	var prog bytes.Buffer
	start := time.Now()
	res, err := Run(ctx, d, specs, Options{Out: out, Jobs: 3, Progress: &prog})
	t.Logf("trace rebuild of 3 packages on debusine: %s\n%s", time.Since(start).Round(time.Second), prog.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(subs)
	if !bytes.HasPrefix(b, first) || bytes.Count(b, []byte("\n")) != 3 {
		t.Errorf("submissions after the resumed run:\n%s\nwant the interrupted run's line kept and one line per package", b)
	}
	hello, _ := os.ReadFile(filepath.Join(res[0].Dir, "sbuild.out"))
	if !bytes.Contains(hello, []byte("following work request")) {
		t.Errorf("hello-loupe was not followed from the interrupted run's work request:\n%s", hello)
	}
	checkTraceRebuild(t, res)
	for _, r := range res {
		if debs, _ := filepath.Glob(filepath.Join(r.Dir, "*.deb")); len(debs) != 0 {
			t.Errorf("%s: .debs downloaded (they stay on the server): %v", r.Spec, debs)
		}
	}
	log, _ := os.ReadFile(res[0].Log)
	if !bytes.Contains(log, []byte("loupe environment: DH_EXTRA_ADDONS=loupe DEB_BUILD_OPTIONS=")) {
		t.Errorf("the build log does not show the environment enabling loupe (%s)", res[0].Log)
	}

	// A second run finds everything done and submits nothing.
	res2, err := Run(ctx, d, specs, Options{Out: out, Jobs: 3})
	if err != nil || res2[0].Finished != res[0].Finished {
		t.Errorf("second run rebuilt: %v %+v", err, res2[0])
	}
	if b2, _ := os.ReadFile(subs); !bytes.Equal(b2, b) {
		t.Errorf("second run submitted again:\n%s", b2)
	}

	// The output directory goes straight into loupe db.
	ds := filepath.Join(out, "trace.dataset.json")
	if b, err := exec.CommandContext(ctx, loupe, "db", "--strict", "-o", ds, out).CombinedOutput(); err != nil {
		t.Fatalf("loupe db --strict: %v\n%s", err, b)
	}
	set, err := dataset.ReadFile(ds)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range set.Entries {
		names = append(names, e.Name)
		if e.Status != "ok" || e.Mode != "trace" || len(e.Syscalls.Traced) == 0 || len(e.Provenance) != 1 || e.Provenance[0].Changes == "" {
			t.Errorf("dataset entry %s: status %s mode %s, provenance %+v", e.Name, e.Status, e.Mode, e.Provenance)
		}
	}
	if strings.Join(names, " ") != "hello-loupe multi-loupe-bin multi-loupe-scripts" {
		t.Errorf("dataset entries %v", names)
	}

	// Analyze: the environment enabling loupe=analyze.
	aout := t.TempDir()
	a := newTestDebusine(t, conf, envs["analyze"], "analyze", aout)
	start = time.Now()
	ares, err := Run(ctx, a, []string{srcs["hello-loupe"]}, Options{Out: aout, Progress: &prog})
	t.Logf("analyze rebuild of hello-loupe on debusine: %s", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	r := ares[0]
	t.Logf("hello-loupe analyze: %s (%s)", r.Status, r.Detail)
	if r.Status != Built || len(r.Binaries) != 1 || r.Binaries[0].Mode != "analyze" || r.Binaries[0].Status != "ok" {
		t.Errorf("hello-loupe in analyze mode: %+v (log %s)", r, r.Log)
	}
	ads := filepath.Join(aout, "analyze.dataset.json")
	if b, err := exec.CommandContext(ctx, loupe, "db", "--strict", "-o", ads, aout).CombinedOutput(); err != nil {
		t.Fatalf("loupe db --strict (analyze): %v\n%s", err, b)
	}

	// The trace environment refuses to stand in for analyze.
	wrong := newTestDebusine(t, conf, envs["trace"], "analyze", t.TempDir())
	if _, err := Run(ctx, wrong, []string{srcs["failing-loupe"]}, Options{Out: wrong.Out}); err == nil || !strings.Contains(err.Error(), "loupe=trace, not analyze") {
		t.Errorf("trace environment used for --mode analyze: %v", err)
	}
}
