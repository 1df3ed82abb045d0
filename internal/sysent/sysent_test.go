package sysent

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestAMD64Known(t *testing.T) {
	tests := []struct {
		name string
		nr   int
	}{
		{"read", 0}, {"getdents64", 217}, {"sysinfo", 99}, {"prlimit64", 302},
		{"clone3", 435}, {"close_range", 436}, {"openat2", 437}, {"faccessat2", 439},
		{"futex_waitv", 449},
	}
	for _, tt := range tests {
		if got := AMD64.Name(tt.nr); got != tt.name {
			t.Errorf("Name(%d) = %q, want %q", tt.nr, got, tt.name)
		}
		if got, ok := AMD64.Number(tt.name); !ok || got != tt.nr {
			t.Errorf("Number(%q) = %d,%v, want %d", tt.name, got, ok, tt.nr)
		}
	}
}

func TestUnknownNumbersAreNamedNotDropped(t *testing.T) {
	for _, nr := range []int{335, 387, 1000, 100000} {
		if AMD64.Known(nr) {
			continue
		}
		n := AMD64.Name(nr)
		if n != "syscall_"+strconv.Itoa(nr) {
			t.Errorf("Name(%d) = %q", nr, n)
		}
		back, ok := AMD64.Number(n)
		if !ok || back != nr {
			t.Errorf("Number(%q) = %d,%v", n, back, ok)
		}
	}
}

// TestSuggestTranspositions: a swapped pair of letters is one edit.
func TestSuggestTranspositions(t *testing.T) {
	for typo, want := range map[string]string{"fnctl": "fcntl", "raed": "read", "wrtie": "write", "getpdi": "getpid", "wrte": "write", "futimensat": "futimesat"} {
		if got := AMD64.Suggest(typo); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", typo, got, want)
		}
	}
}

func TestLookupSuggests(t *testing.T) {
	_, err := AMD64.Lookup("getrlimt")
	if err == nil || !regexp.MustCompile(`did you mean "getrlimit"`).MatchString(err.Error()) {
		t.Fatalf("Lookup(getrlimt) err = %v", err)
	}
	if _, err := AMD64.Lookup("zzzzzzzzzzzzzzzzzzzz"); err == nil {
		t.Fatal("expected error")
	}
}

// TestTableMatchesHeaders re-reads the installed header, so a stale committed
// table (after linux-libc-dev is upgraded) is noticed.
func TestTableMatchesHeaders(t *testing.T) {
	const hdr = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
	f, err := os.Open(hdr)
	if err != nil {
		t.Skipf("%s not installed (linux-libc-dev): %v", hdr, err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^#define\s+__NR_([a-z0-9_]+)\s+([0-9]+)\s*$`)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		nr, _ := strconv.Atoi(m[2])
		n++
		if got := AMD64.Name(nr); got != m[1] {
			t.Errorf("table says %d = %q, header says %q: run go generate ./internal/sysent", nr, got, m[1])
		}
	}
	if n != len(AMD64.Names()) {
		t.Errorf("header has %d syscalls, table %d: run go generate", n, len(AMD64.Names()))
	}
}

func TestLess(t *testing.T) {
	names := []string{"zzz_unknown", "write", "syscall_999", "read", "aaa_unknown", "ioctl:TCGETS"}
	sort.Slice(names, func(i, j int) bool { return AMD64.Less(names[i], names[j]) })
	if got := strings.Join(names, " "); got != "read write syscall_999 aaa_unknown ioctl:TCGETS zzz_unknown" {
		t.Errorf("order %s", got)
	}
}
