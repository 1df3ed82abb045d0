package loupedb

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

func parse(t *testing.T, path string) *Table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tb, err := ParseDynCSV(path, f)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// TestKnownRows checks the column semantics on rows whose meaning is known
// from upstream's own documentation (nginx's PERF_METRICS.md lists accept4
// only under stubbing and mkdir only under faking) and on rows of the
// inclusive dialect.
func TestKnownRows(t *testing.T) {
	db := testutil.LoupeDB(t)
	tests := []struct {
		file    string
		dialect string
		header  bool
		want    map[string]string // syscall -> class, "unused" if absent
	}{
		// exclusive: 83,Y,Y,N,N and 288,Y,N,Y,N
		{"apps/nginx/benchmark-wrk/7883824b5cbef4f66dd1c9bdcf7d6185/data/dyn.csv", Exclusive, true,
			map[string]string{"mkdir": "fake", "accept4": "stub", "read": "required", "rt_sigsuspend": "unused"}},
		// deno: 330,Y,N,Y,N (pkey_alloc, works stubbed), which upstream's
		// supplement lists under "Fake".
		{"apps/deno/benchmark-deno-test/effeb313a5966d412ede25fb269bff17/data/dyn.csv", Exclusive, true,
			map[string]string{"pkey_alloc": "stub"}},
		// mono: 143-145,Y,Y,N,N (works faked), listed under "Stub" upstream.
		{"apps/mono/benchmark-mono-test/42ff1faedacff179b8924968d33e588e/data/dyn.csv", Exclusive, true,
			map[string]string{"sched_getparam": "fake", "sched_setscheduler": "fake", "sched_getscheduler": "fake"}},
		// inclusive: 10,Y,Y,N,N  11,Y,Y,Y,Y  51,Y,N,Y,N  108,N,N,N,N
		{"apps/nginx/suite-nginx-tests/imported/data/dyn.csv", Inclusive, true,
			map[string]string{"mprotect": "fake", "munmap": "both", "getsockname": "stub", "getegid": "unused", "read": "required"}},
		// envoy's imported run has no header and 335 exclusive rows.
		{"apps/envoy/benchmark-envoy-test/imported/data/dyn.csv", Exclusive, false,
			map[string]string{"read": "required"}},
	}
	for _, tt := range tests {
		tb := parse(t, filepath.Join(db, tt.file))
		if tb.Dialect != tt.dialect || tb.HasHeader != tt.header {
			t.Errorf("%s: dialect %s header %v, want %s %v", tt.file, tb.Dialect, tb.HasHeader, tt.dialect, tt.header)
		}
		for sys, want := range tt.want {
			got := "unused"
			if s, ok := tb.Syscalls[sys]; ok {
				got = string(s.Class())
			}
			if got != want {
				t.Errorf("%s: %s is %s, want %s", tt.file, sys, got, want)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	rows := func(n int, row func(i int) string) string {
		var b strings.Builder
		b.WriteString(Header + "\n")
		for i := 0; i < n; i++ {
			b.WriteString(row(i) + "\n")
		}
		return b.String()
	}
	plain := func(i int) string { return strconv.Itoa(i) + ",N,N,N,N" }
	tests := []struct{ name, in, want string }{
		{"short", rows(300, plain), "300 rows"},
		{"bad header", strings.Replace(rows(335, plain), "works both", "works neither", 1), ":1: unexpected header"},
		{"not positional", rows(335, func(i int) string {
			if i == 7 {
				return "8,N,N,N,N"
			}
			return plain(i)
		}), ":9: field syscall"},
		{"bad value", rows(335, func(i int) string {
			if i == 3 {
				return "3,Y,maybe,N,N"
			}
			return plain(i)
		}), ":5: field works faked"},
		{"exclusive with two columns", rows(335, func(i int) string {
			if i == 9 {
				return "9,Y,Y,Y,N"
			}
			return plain(i)
		}), "mmap: several"},
		{"inclusive both alone", rows(336, func(i int) string {
			if i == 0 {
				return "0,Y,N,N,Y"
			}
			return plain(i)
		}), "read: works both without"},
	}
	for _, tt := range tests {
		_, err := ParseDynCSV("x.csv", strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want containing %q", tt.name, err, tt.want)
		}
	}
	// A header-less 336-row inclusive file with CRLF line ends parses.
	var b strings.Builder
	for i := 0; i < 336; i++ {
		r := plain(i)
		if i == 1 {
			r = "1,Y,Y,Y,Y"
		}
		b.WriteString(r + "\r\n")
	}
	tb, err := ParseDynCSV("crlf.csv", strings.NewReader(b.String()))
	if err != nil || tb.Syscalls["write"].Class() != "both" {
		t.Errorf("CRLF inclusive: %v %v", err, tb)
	}
}

// TestImportShared imports the whole upstream database.
func TestImportShared(t *testing.T) {
	db := testutil.LoupeDB(t)
	entries, problems, err := Import(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	// 125 dyn.csv; lua's two benchmark runs and nginx's two suite runs fold.
	if len(entries) != 123 {
		t.Errorf("%d entries, want 123", len(entries))
	}
	apps := map[string]bool{}
	by := map[string]*dataset.Entry{}
	for i := range entries {
		e := &entries[i]
		apps[e.Name] = true
		by[e.Name+"/"+e.Workload.Name] = e
		if e.Origin != dataset.OriginLoupeDB || e.Architecture != "amd64" {
			t.Errorf("%s: origin %s arch %s", e.Name, e.Origin, e.Architecture)
		}
	}
	if len(apps) != 116 {
		t.Errorf("%d apps, want 116 (the paper's count)", len(apps))
	}
	if e := by["leveldb/benchmark-bench"]; e == nil || e.Status != "insensitive" {
		t.Errorf("leveldb (no test script, all 31 syscalls 'both') must be insensitive: %+v", e)
	}
	if e := by["lua/benchmark-lua-test"]; e == nil || len(e.Provenance) != 2 {
		t.Errorf("lua: want 2 runs in provenance: %+v", e)
	}
	if e := by["memcached/suite"]; e == nil || e.Workload.Kind != dataset.KindSuite {
		t.Errorf("memcached suite kind: %+v", e)
	}
	if e := by["iperf3/benchmark-iperf3-client"]; e == nil || e.Workload.Kind != dataset.KindBenchmark {
		t.Errorf("iperf3 bench kind: %+v", e)
	}
	h2o := by["h2o/benchmark-h2o"]
	if h2o == nil || len(h2o.Notes) != 3 {
		t.Errorf("h2o: want 3 notes on unused rows with results, got %+v", h2o)
	}
	// Deterministic: a second import is identical.
	again, _, _ := Import(db)
	a, _ := dataset.Marshal(&dataset.Dataset{Entries: entries})
	b, _ := dataset.Marshal(&dataset.Dataset{Entries: again})
	if string(a) != string(b) {
		t.Error("import is not deterministic")
	}
}

// dynCSV is a valid 335-row (exclusive) dyn.csv in which read is used and
// works stubbed.
func dynCSV() string {
	var b strings.Builder
	b.WriteString(Header + "\n")
	for i := 0; i < 335; i++ {
		if i == 0 {
			b.WriteString("0,Y,N,Y,N\n")
			continue
		}
		b.WriteString(strconv.Itoa(i) + ",N,N,N,N\n")
	}
	return b.String()
}

// TestImportRefusesNonLoupeDB: a --loupedb that is a file, or a directory
// with no dyn.csv in the loupedb layout, used to import nothing and succeed
// (loupe db exited 0, even with --strict). It is now an error; a checkout
// and its apps/ directory both work.
func TestImportRefusesNonLoupeDB(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	noApps := filepath.Join(tmp, "no-apps")
	os.MkdirAll(filepath.Join(noApps, "docs"), 0o755)
	os.WriteFile(filepath.Join(noApps, "dyn.csv"), []byte(dynCSV()), 0o644) // not in the layout
	for _, tt := range []struct{ root, want string }{
		{file, "is not a directory (want a loupedb checkout: DIR/apps/<app>/<workload>/<run>/data/dyn.csv)"},
		{noApps, "no <app>/<workload>/<run>/data/dyn.csv under " + noApps},
		{filepath.Join(tmp, "missing"), "no such file or directory (want a loupedb checkout"},
	} {
		if _, _, err := Import(tt.root); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Import(%s): %v, want %q", tt.root, err, tt.want)
		}
	}
	good := filepath.Join(tmp, "good")
	p := filepath.Join(good, "apps", "redis", "suite", "imported", "data", "dyn.csv")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte(dynCSV()), 0o644)
	for _, root := range []string{good, filepath.Join(good, "apps")} {
		es, probs, err := Import(root)
		if err != nil || len(probs) != 0 || len(es) != 1 || strings.Join(es[0].Syscalls.Stub, ",") != "read" {
			t.Errorf("Import(%s): %v %v %+v", root, err, probs, es)
		}
	}
}

// FuzzParseDynCSV: any input either parses into a table whose every entry
// is a syscall the table knows, in a known dialect, or fails with an error
// naming the file; it never panics. The seeds are upstream's two dialects
// (the project's data/loupedb) and a synthetic file;
// crashers found are kept in testdata/fuzz/FuzzParseDynCSV.
func FuzzParseDynCSV(f *testing.F) {
	f.Add([]byte(dynCSV()))
	f.Add([]byte(strings.TrimPrefix(dynCSV(), Header+"\n")))
	f.Add([]byte(dynCSV() + "335,N,N,N,N\n"))
	f.Add([]byte(Header + "\n0,Y,Y,Y,Y\n"))
	if db := testutil.LoupeDB(f); db != "" {
		for _, p := range []string{"apps/nginx/benchmark-wrk", "apps/nginx/suite-nginx-tests", "apps/envoy/*"} {
			ms, _ := filepath.Glob(filepath.Join(db, p, "*", "data", "dyn.csv"))
			for _, m := range ms {
				if b, err := os.ReadFile(m); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := ParseDynCSV("f.csv", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if tb.Dialect != Exclusive && tb.Dialect != Inclusive {
			t.Fatalf("dialect %q", tb.Dialect)
		}
		for name, st := range tb.Syscalls {
			if _, ok := sysent.AMD64.Number(name); !ok {
				t.Fatalf("unknown syscall %q in the table", name)
			}
			if st&dataset.Tested == 0 {
				t.Fatalf("%s: untested state %v", name, st)
			}
		}
	})
}
