package loupecli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/datadir"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/plan"
)

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code, _ := Run(append([]string{"loupe"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// TestDecisionsCLI: loupe db imports loupedb, loupe plan prints a plan in
// every format, loupe report writes a page; bad input fails with a message.
func TestDecisionsCLI(t *testing.T) {
	db := testutil.LoupeDB(t)
	dir := t.TempDir()
	ds := filepath.Join(dir, "d.dataset.json")
	if _, errs, code := run(t, "db", "-o", ds, "--loupedb", db); code != 0 {
		t.Fatalf("db: %d %s", code, errs)
	}
	d, err := dataset.ReadFile(ds)
	if err != nil || len(d.Entries) != 123 {
		t.Fatalf("dataset: %v %d", err, len(d.Entries))
	}
	// The bundled copy, without a path: the same dataset.
	t.Setenv(datadir.Env, filepath.Dir(db))
	bundled := filepath.Join(dir, "b.dataset.json")
	if _, errs, code := run(t, "db", "-o", bundled, "--bundled-loupedb"); code != 0 {
		t.Fatalf("db --bundled-loupedb: %d %s", code, errs)
	}
	if b, _ := dataset.ReadFile(bundled); b == nil || len(b.Entries) != len(d.Entries) {
		t.Errorf("--bundled-loupedb imported %v entries, --loupedb %d", b, len(d.Entries))
	}
	t.Setenv(datadir.Env, t.TempDir())
	if _, err := os.Stat(filepath.Join(datadir.Installed, "loupedb", "apps")); err != nil {
		if _, errs, code := run(t, "db", "-o", bundled, "--bundled-loupedb"); code == 0 || !strings.Contains(errs, datadir.Env) {
			t.Errorf("db --bundled-loupedb without the data: exit %d %q; want an error naming %s", code, errs, datadir.Env)
		}
	}
	osf := filepath.Join(db, "Kerla.syscalls")
	out, errs, code := run(t, "plan", "--os", osf, "--workload", "bench", ds)
	if code != 0 || !strings.Contains(out, "Step 0: supported without implementing anything (1 apps)") || !strings.Contains(out, "leveldb: no usable evidence") {
		t.Errorf("plan text: %d %s\n%s", code, errs, out)
	}
	out, _, code = run(t, "plan", "--os", osf, "--workload", "bench", "--apps", "nginx,redis,nosuchapp", "--format", "json", ds)
	var p plan.Plan
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || p.Apps != 2 || len(p.NoData) != 1 {
		t.Errorf("plan json: %d %+v", code, p)
	}
	if out, _, code = run(t, "plan", "--os", osf, "--format", "yaml", ds); code != 0 || !strings.HasPrefix(out, "schema: loupe/plan/v1\nkind: loupe") {
		t.Errorf("plan yaml: %d %.200s", code, out)
	}
	if _, errs, code = run(t, "plan", "--os", osf, "--workload", "sometimes", ds); code == 0 || !strings.Contains(errs, "want bench, suite or any") {
		t.Errorf("bad workload: %d %s", code, errs)
	}
	html := filepath.Join(dir, "r.html")
	if _, errs, code = run(t, "report", "--os", filepath.Join(db, "Osv.syscalls"), "-o", html, ds); code != 0 {
		t.Fatalf("report: %d %s", code, errs)
	}
	if b, _ := os.ReadFile(html); !bytes.Contains(b, []byte("<svg")) {
		t.Error("report has no figure")
	}
	// A malformed verdict is reported, skipped, and fatal only with --strict.
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "x_1_amd64.loupe.yaml"), []byte("schema: loupe/verdict/v1\nstatus: weird\nmode: trace\n"), 0o644)
	if _, errs, code = run(t, "db", "-o", filepath.Join(dir, "t.json"), tree); code != 0 || !strings.Contains(errs, "x_1_amd64.loupe.yaml:2: field status") {
		t.Errorf("db malformed: %d %s", code, errs)
	}
	if _, _, code = run(t, "db", "--strict", "-o", filepath.Join(dir, "t.json"), tree); code != 1 {
		t.Errorf("db --strict with a malformed file: exit %d, want 1", code)
	}
}
