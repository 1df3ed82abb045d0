package dataset

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// tricky strings: YAML would read many of them as something else than a
// string if they were not quoted, which verdict.Marshal does.
var tricky = []string{"", "1.0-1", "1:4.8-1", "2.0", "10", "1e3", "0x1f", "007", "yes", "no", "on", "null", "~", "true",
	"2026-01-02", "ioctl:TCGETS", "/proc/self/status", "a: b", "a #b", "#x", "- x", "[x]", "{x}", "x,y", "'q'", `"dq"`,
	"tab\there", "new\nline", "back\\slash", "ünïcødé", " lead", "trail ", "*star", "&amp", "!bang", "|pipe", ">gt", "%pc", "@at",
	"1:20", "12:30:00", ".inf", "-.5", "+1", "0o17", "0b101", "1_000", "?q", ":c", "x:", "4.9", "1.0~rc1+dfsg-2", "deadbeef", "0abc"}

func pick(r *rand.Rand) string {
	if r.Intn(3) == 0 {
		return tricky[r.Intn(len(tricky))]
	}
	return fmt.Sprintf("n%d", r.Intn(1000))
}

func randVerdict(r *rand.Rand) *verdict.File {
	st := []verdict.Status{verdict.StatusOK, verdict.StatusInsensitive, verdict.StatusError, verdict.StatusNotExercised}
	mode := verdict.ModeAnalyze
	if r.Intn(3) == 0 {
		mode = verdict.ModeTrace
	}
	v := &verdict.File{Schema: verdict.Schema, Status: st[r.Intn(len(st))], Mode: mode, Source: pick(r), Package: pick(r),
		Version: pick(r), Architecture: pick(r), Reason: pick(r), Flaky: r.Intn(2) == 0, Evidence: []string{pick(r)},
		Workload:    verdict.Workload{Command: []string{pick(r), pick(r)}, Kind: pick(r), Replicas: r.Intn(5), Timeout: pick(r)},
		Runs:        verdict.Runs{Total: r.Intn(100), Baseline: 3},
		Environment: verdict.Environment{Kernel: pick(r), Libc: pick(r), Loupe: pick(r)},
		RunMetadata: verdict.RunMetadata{WallSeconds: r.Float64() * 100, Notes: []string{pick(r)},
			RunSeconds: map[string]float64{pick(r): 1.5, "baseline": float64(r.Intn(9))}},
	}
	if r.Intn(2) == 0 {
		v.RunMetadata.Started = time.Date(2026, 1, 2, 3, 4, 5, r.Intn(1e9), time.UTC)
		v.RunMetadata.Resources = map[string]verdict.Resources{pick(r): {PeakRSSKB: []uint64{1, 2}, MaxFDs: []int{3}}}
	}
	for i := 0; i < r.Intn(3); i++ {
		b := verdict.Binary{Path: "/usr/bin/" + pick(r), SHA256: pick(r), BuildID: pick(r), Shipped: r.Intn(2) == 0, Package: pick(r), Processes: r.Intn(9)}
		for j := 0; j < r.Intn(6); j++ {
			// Real names: readers refuse unknown ones (and a number that is not the name's).
			names := sysent.AMD64.Names()
			name := names[r.Intn(len(names))]
			nr, _ := sysent.AMD64.Number(name)
			s := verdict.Syscall{Name: name, Number: nr, Calls: uint64(r.Intn(1e6))}
			if mode == verdict.ModeAnalyze {
				s.Stub, s.Fake = b2p(r.Intn(2) == 0), b2p(r.Intn(2) == 0)
				s.Required = r.Intn(2) == 0
				if r.Intn(4) == 0 {
					s.Impact = []verdict.Impact{{Action: "stub", Metric: "max_fds", Direction: "up"}}
				}
			}
			b.Syscalls = append(b.Syscalls, s)
		}
		for j := 0; j < r.Intn(3); j++ {
			f := verdict.Feature{Key: "ioctl:" + pick(r)}
			if mode == verdict.ModeAnalyze {
				f.Stub, f.Fake = b2p(true), b2p(false)
			}
			b.Features = append(b.Features, f)
		}
		v.Binaries = append(v.Binaries, b)
	}
	if r.Intn(5) == 0 {
		v.Conflicts = []verdict.Conflict{{Features: []string{pick(r)}, Demoted: []string{pick(r)}}}
	}
	if len(v.Binaries) > 0 && r.Intn(3) == 0 {
		v.Binaries[0].StandIn = pick(r)
	}
	for i := 0; i < r.Intn(4); i++ {
		h := verdict.Helper{Path: pick(r) + "h", Processes: r.Intn(9)}
		if r.Intn(3) == 0 {
			h.Note = pick(r)
		}
		if r.Intn(3) == 0 {
			h.Syscalls = []verdict.Syscall{{Name: pick(r) + "x", Number: r.Intn(400), Calls: uint64(r.Intn(9))}}
		}
		v.Helpers = append(v.Helpers, h)
	}
	return v
}

func b2p(b bool) *bool { return &b }

// check asserts the fast path's contract on one document: if it accepts,
// verdict.Parse accepts too and decodes the same File (compared through
// Marshal, which covers every field).
func checkFast(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	fv, ferr := fastParse("x", data)
	if ferr != nil {
		return false
	}
	sv, serr := verdict.Parse("x", data)
	if serr != nil {
		t.Fatalf("fast path accepted what verdict.Parse rejects (%v):\n%s", serr, data)
	}
	a, _ := verdict.Marshal(fv)
	b, _ := verdict.Marshal(sv)
	if !bytes.Equal(a, b) {
		t.Fatalf("fast path decodes differently:\ninput:\n%s\nfast:\n%s\nslow:\n%s", data, a, b)
	}
	return true
}

func TestFastParseMatchesParse(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	fast, total := 0, 0
	for i := 0; i < 3000; i++ {
		data, err := verdict.Marshal(randVerdict(r))
		if err != nil {
			t.Fatal(err)
		}
		total++
		if checkFast(t, data) {
			fast++
		}
		// Mutations: drop, duplicate or re-indent a line, flip a byte.
		lines := strings.Split(string(data), "\n")
		for k := 0; k < 4; k++ {
			m := append([]string(nil), lines...)
			j := r.Intn(len(m))
			switch r.Intn(5) {
			case 0:
				m = append(m[:j], m[j+1:]...)
			case 1:
				m = append(m[:j+1], m[j:]...)
			case 2:
				m[j] = " " + m[j]
			case 3:
				if len(m[j]) > 0 {
					b := []byte(m[j])
					const alphabet = "aZ: -#\"'0[{\t"
					b[r.Intn(len(b))] = alphabet[r.Intn(len(alphabet))]
					m[j] = string(b)
				}
			case 4:
				m[j] = strings.TrimLeft(m[j], " ")
			}
			checkFast(t, []byte(strings.Join(m, "\n")))
		}
	}
	t.Logf("fast path took %d of %d generated verdicts", fast, total)
	if fast < total/20 {
		t.Errorf("fast path took only %d of %d: it no longer matches what verdict.Marshal writes", fast, total)
	}
	// Realistic verdicts (the benchmark's) must all take the fast path.
	dir := t.TempDir()
	genVerdicts(t, dir, 50)
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.loupe.yaml"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if !checkFast(t, data) {
			t.Fatalf("%s: a plain dh_loupe-like verdict fell off the fast path", f)
		}
	}
}

func FuzzFastParse(f *testing.F) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		d, _ := verdict.Marshal(randVerdict(r))
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFast(t, data) })
}

// TestPlainStringPrefilter: skipping the regexp by first character never
// changes the answer.
func TestPlainStringPrefilter(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	words := []string{"null", "Null", "NULL", "~", "true", "False", "yes", "No", "on", "OFF", "y", "N", "-.inf", ".NaN",
		"0", "-12", "0x1f", "+0o17", "1.5e3", ".5", "2024-01-02", "12:30", "_1", ":", "openat", "read", "mmap:anon+private",
		"/proc/self/status", "ioctl:TCGETS", "n341", "offset", "type", "Yes please", "1.0-1", "1:1.0"}
	const alphabet = "0123456789+-._:~eExXoObBnNtTfFyYaAlLsSuUiI/ "
	for i := 0; i < 20000; i++ {
		b := make([]byte, 1+r.Intn(6))
		for j := range b {
			b[j] = alphabet[r.Intn(len(alphabet))]
		}
		words = append(words, string(b))
	}
	for _, w := range words {
		full := !(w == "" || reNotStr.MatchString(w) || strings.Contains(w, ": ") || strings.HasSuffix(w, ":"))
		if full {
			switch w[0] {
			case '"', '\'', '[', ']', '{', '}', ',', '-', '?', ':', ' ':
				full = false
			}
			full = full && !strings.ContainsAny(w, "{}[],")
		}
		if got := plainString(w); got != full {
			t.Errorf("plainString(%q) = %v, the full check says %v", w, got, full)
		}
	}
}

// FuzzParseDataset: Parse never panics, and what it accepts marshals into a
// file it accepts again.
func FuzzParseDataset(f *testing.F) {
	f.Add([]byte(`{"schema":"loupe/dataset/v1","entries":[{"name":"a","origin":"verdict","architecture":"amd64","status":"ok","mode":"analyze","syscalls":{"required":["read"],"stub":["ioctl"]},"features":{"fake":["fcntl:F_SETFD"]}}]}`))
	f.Add([]byte(`{"schema":"loupe/dataset/v1","entries":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("f.json", data)
		if err != nil {
			return
		}
		b, err := Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("again.json", b); err != nil {
			t.Fatalf("a marshalled dataset does not parse: %v", err)
		}
	})
}
