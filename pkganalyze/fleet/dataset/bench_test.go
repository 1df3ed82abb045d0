package dataset

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// genVerdicts writes n verdict files shaped like dh_loupe's output of an
// archive rebuild: 1-3 shipped binaries with 20-80 analyzed syscalls each and
// a few sub-features, one directory per source package as sbuild leaves them,
// and 5% older versions of the same packages (duplicates to resolve).
func genVerdicts(tb testing.TB, dir string, n int) {
	tb.Helper()
	rng := rand.New(rand.NewSource(1))
	classes := []string{"required", "required", "stub", "fake", "both", "both"}
	const templates = 40
	var tmpl [][]byte
	for t := 0; t < templates; t++ {
		v := mkVerdict("PKGNAME", "1.0-1", "amd64", verdict.ModeAnalyze)
		for bi := 0; bi < 1+rng.Intn(3); bi++ {
			bin := verdict.Binary{Path: fmt.Sprintf("/usr/bin/tool%d", bi), SHA256: "ab", BuildID: "cd", Shipped: true, Processes: 4}
			for _, nr := range rng.Perm(300)[:20+rng.Intn(60)] {
				bin.Syscalls = append(bin.Syscalls, sc(sysent.AMD64.Name(nr), nr, classes[rng.Intn(len(classes))]))
			}
			for _, k := range []string{"fcntl:F_GETFL", "ioctl:TCGETS", "mmap:anon+private"} {
				stub, fake := rng.Intn(2) == 0, rng.Intn(2) == 0
				bin.Features = append(bin.Features, verdict.Feature{Key: k, Calls: 2,
					Outcome: verdict.Outcome{Stub: b(stub), Fake: b(fake), Required: !stub && !fake}})
			}
			v.Binaries = append(v.Binaries, bin)
		}
		data, err := verdict.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		tmpl = append(tmpl, data)
	}
	for i := 0; i < n; i++ {
		pkg := fmt.Sprintf("pkg%05d", i%(n*95/100))
		ver := "1.0-1"
		if i >= n*95/100 {
			ver = "0.9-1"
		}
		d := filepath.Join(dir, fmt.Sprintf("src%05d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		data := bytes.ReplaceAll(tmpl[i%templates], []byte("PKGNAME"), []byte(pkg))
		data = bytes.Replace(data, []byte("version: 1.0-1"), []byte("version: "+ver), 1)
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("%s_%s_amd64.loupe.yaml", pkg, ver)), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkCollect30k measures `loupe db` over 30,000 verdict files (read,
// hash, parse and validate, fold, resolve duplicates, encode). Run with
// go test -run '^$' -bench Collect30k -benchtime 3x ./pkganalyze/fleet/dataset
func BenchmarkCollect30k(b *testing.B) {
	n := benchN()
	dir := b.TempDir()
	genVerdicts(b, dir, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ds, err := Collect(context.Background(), []string{dir}, CollectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(ds.Problems) != 0 || len(ds.Entries) != n*95/100 {
			b.Fatalf("entries %d problems %d (first: %v)", len(ds.Entries), len(ds.Problems), ds.Problems)
		}
		if _, err := Marshal(ds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

// benchN is 30,000 unless LOUPE_BENCH_N says otherwise (for profiling).
func benchN() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("LOUPE_BENCH_N"), &n); err == nil && n > 0 {
		return n
	}
	return 30000
}
