package pseudofile

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
)

func amd64(t testing.TB) *Table {
	t.Helper()
	tb := For("amd64")
	if tb == nil {
		t.Fatal("For(amd64) = nil")
	}
	return tb
}

// nr is the amd64 number of a syscall.
var nr = testutil.SyscallNr

// newerThanHeaders are in the tables for kernels newer than the headers
// loupe's syscall table is generated from (linux-libc-dev 6.1): For skips
// them until the headers know them.
var newerThanHeaders = map[string]bool{
	"fchmodat2": true, "setxattrat": true, "getxattrat": true, "listxattrat": true, "removexattrat": true,
}

func TestTablesNameRealSyscalls(t *testing.T) {
	tb := amd64(t)
	check := func(name string, inTable bool) {
		_, known := sysent.AMD64.Number(name)
		switch {
		case known && !inTable:
			t.Errorf("%s is an amd64 syscall but For skipped it", name)
		case !known && !newerThanHeaders[name]:
			t.Errorf("%s is not an amd64 syscall (typo?)", name)
		}
	}
	for _, c := range pathCalls {
		_, known := sysent.AMD64.Number(c.Syscall)
		check(c.Syscall, known && tb.Paths(nr(t, c.Syscall)) != nil)
	}
	for _, c := range fdCalls {
		n, known := sysent.AMD64.Number(c.Syscall)
		in := false
		if known {
			k, _ := tb.Fds(n, [6]uint64{})
			in = k != 0
		}
		check(c.Syscall, in)
	}
}

// The syscalls the issue names are all there.
func TestIssueSyscallsCovered(t *testing.T) {
	tb := amd64(t)
	for _, name := range []string{"open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat", "statx",
		"access", "faccessat", "faccessat2", "readlink", "readlinkat", "execve", "execveat", "truncate",
		"chdir", "statfs", "mknod", "mknodat", "unlink", "unlinkat", "mkdir", "mkdirat", "rename",
		"renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmodat", "chown",
		"fchownat", "lchown", "utimensat", "getxattr", "lgetxattr", "listxattr", "llistxattr", "setxattr",
		"inotify_add_watch", "name_to_handle_at", "mount"} {
		if tb.Paths(nr(t, name)) == nil {
			t.Errorf("%s is not in the path table", name)
		}
	}
	for _, name := range []string{"read", "pread64", "readv", "preadv", "preadv2", "write", "writev",
		"pwrite64", "lseek", "fstat", "getdents64", "ioctl", "fcntl", "close"} {
		if k, _ := tb.Fds(nr(t, name), [6]uint64{}); k == 0 {
			t.Errorf("%s is not in the fd table", name)
		}
	}
	if k, fds := tb.Fds(nr(t, "mmap"), [6]uint64{0, 4096, 1, 0x02, 3}); k != FdUse || len(fds) != 1 || fds[0] != 4 {
		t.Errorf("mmap of a file: Fds = %v, %v; want FdUse of arg 4", k, fds)
	}
}

func TestTablesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range pathCalls {
		if seen[c.Syscall] {
			t.Errorf("%s listed twice", c.Syscall)
		}
		seen[c.Syscall] = true
		if len(c.Paths) == 0 {
			t.Errorf("%s: no path", c.Syscall)
		}
		if c.OpenFlags >= 6 || (c.OpenFlags >= 0 && c.Paths[0].Op != OpOpen) {
			t.Errorf("%s: bad OpenFlags %d", c.Syscall, c.OpenFlags)
		}
		for _, a := range c.Paths {
			args := map[int]bool{a.Arg: true}
			for _, i := range []int{a.Dirfd, a.Flags, a.MemFlags} {
				if i >= 6 || (i >= 0 && args[i]) {
					t.Errorf("%s: argument indexes %+v overlap or are out of range", c.Syscall, a)
				}
				if i >= 0 {
					args[i] = true
				}
			}
			if a.Arg < 0 || a.Arg >= 6 {
				t.Errorf("%s: path argument %d", c.Syscall, a.Arg)
			}
			if (a.Flags >= 0 || a.EmptyIsFd || a.NullIsFd) && a.Dirfd < 0 {
				t.Errorf("%s: acts on a dirfd it does not have", c.Syscall)
			}
			if act, _ := a.Op.Fake(); act == 0 {
				t.Errorf("%s: op %v has no fake action", c.Syscall, a.Op)
			}
		}
	}
	seen = map[string]bool{}
	for _, c := range fdCalls {
		if seen[c.Syscall] {
			t.Errorf("%s listed twice", c.Syscall)
		}
		seen[c.Syscall] = true
		if len(c.Fds) == 0 || c.Kind == 0 {
			t.Errorf("%s: %+v", c.Syscall, c)
		}
	}
	for o := OpOpen; o <= OpAdmin; o++ {
		if act, _ := o.Fake(); act == 0 || strings.HasPrefix(o.String(), "op(") {
			t.Errorf("op %d: fake %v, name %q", o, act, o)
		}
	}
}

func TestFakeActions(t *testing.T) {
	for _, tt := range []struct {
		op    Op
		act   FakeAction
		errno string
	}{
		{OpOpen, FakeOpen, ""},
		{OpStat, FakeRedirect, ""},
		{OpReadlink, FakeRedirect, ""},
		{OpExec, FakeRedirect, ""},
		{OpChdir, FakeRedirectDir, ""},
		{OpAccess, FakeReturn, ""},
		{OpRemove, FakeReturn, ""},
		{OpModify, FakeReturn, ""},
		{OpCreate, FakeReturn, "file exists"},
		{OpLink, FakeReturn, "invalid cross-device link"},
		{OpXattrGet, FakeReturn, "no data available"},
		{OpXattrList, FakeReturn, ""},
		{OpAdmin, FakePassthrough, ""},
	} {
		act, errno := tt.op.Fake()
		got := ""
		if errno != 0 {
			got = errno.Error()
		}
		if act != tt.act || got != tt.errno {
			t.Errorf("%v.Fake() = %v, %q; want %v, %q", tt.op, act, got, tt.act, tt.errno)
		}
	}
}

func TestFds(t *testing.T) {
	tb := amd64(t)
	const anon = 0x20
	for _, tt := range []struct {
		syscall string
		args    [6]uint64
		kind    FdKind
		fds     []int
	}{
		{"read", [6]uint64{3, 0x7ffe0000, 4096}, FdUse, []int{0}},
		{"sendfile", [6]uint64{1, 3}, FdUse, []int{0, 1}},
		{"mmap", [6]uint64{0, 4096, 1, 0x02, 3}, FdUse, []int{4}},
		{"mmap", [6]uint64{0, 4096, 3, 0x02 | anon, ^uint64(0)}, 0, nil},
		{"mmap", [6]uint64{0, 4096, 3, 0x02 | anon | 0x4000, 5}, 0, nil},
		{"close", [6]uint64{3}, FdClose, []int{0}},
		{"dup2", [6]uint64{3, 0}, FdDup, []int{0, 1}},
		{"epoll_ctl", [6]uint64{4, 1, 3}, FdUse, []int{2}},
		{"openat", [6]uint64{}, 0, nil},
		{"getpid", [6]uint64{}, 0, nil},
	} {
		kind, fds := tb.Fds(nr(t, tt.syscall), tt.args)
		if kind != tt.kind || len(fds) != len(tt.fds) {
			t.Errorf("Fds(%s, %#x) = %v, %v; want %v, %v", tt.syscall, tt.args, kind, fds, tt.kind, tt.fds)
			continue
		}
		for i := range fds {
			if fds[i] != tt.fds[i] {
				t.Errorf("Fds(%s) = %v, want %v", tt.syscall, fds, tt.fds)
			}
		}
	}
	for _, n := range []int{-1, 1 << 20} {
		if k, fds := tb.Fds(n, [6]uint64{}); k != 0 || fds != nil {
			t.Errorf("Fds(%d) = %v, %v", n, k, fds)
		}
		if tb.Paths(n) != nil {
			t.Errorf("Paths(%d) != nil", n)
		}
	}
	if got := testing.AllocsPerRun(100, func() { tb.Fds(0, [6]uint64{3}) }); got != 0 {
		t.Errorf("Fds allocates %v times", got)
	}
}

func TestActsOnDirfdAndRelativeTo(t *testing.T) {
	tb := amd64(t)
	const atEmptyPath, atFDCWD = 0x1000, ^uint64(99) // -100
	arg := func(syscall string) PathArg { return tb.Paths(nr(t, syscall)).Paths[0] }
	for _, tt := range []struct {
		syscall string
		args    [6]uint64
		path    string
		null    bool
		onFd    bool
		dirfd   int
		cwd     bool
	}{
		{"newfstatat", [6]uint64{3, 0, 0, atEmptyPath}, "", false, true, 3, false},
		{"newfstatat", [6]uint64{3, 0, 0, 0}, "", false, false, 3, false},
		{"newfstatat", [6]uint64{atFDCWD, 0, 0, atEmptyPath}, "x", false, false, 0, true},
		{"statx", [6]uint64{5, 0, atEmptyPath | 0x100}, "", false, true, 5, false},
		{"utimensat", [6]uint64{4, 0, 0, 0}, "", true, true, 4, false},
		{"readlinkat", [6]uint64{6}, "", false, true, 6, false},
		{"openat", [6]uint64{atFDCWD, 0, 0}, "", false, false, 0, true},
		{"openat", [6]uint64{0xffffff9c, 0, 0}, "status", false, false, 0, true},
		{"openat", [6]uint64{7, 0, 0}, "status", false, false, 7, false},
		{"execveat", [6]uint64{3, 0, 0, 0, atEmptyPath}, "", false, true, 3, false},
		{"stat", [6]uint64{}, "", false, false, 0, true},
		{"faccessat", [6]uint64{3, 0, 0}, "", false, false, 3, false},
	} {
		a := arg(tt.syscall)
		if got := tb.ActsOnDirfd(a, tt.args, tt.path, tt.null); got != tt.onFd {
			t.Errorf("ActsOnDirfd(%s, %#x, %q, null=%v) = %v, want %v", tt.syscall, tt.args, tt.path, tt.null, got, tt.onFd)
		}
		fd, cwd := tb.RelativeTo(a, tt.args)
		if fd != tt.dirfd || cwd != tt.cwd {
			t.Errorf("RelativeTo(%s, %#x) = %d, %v; want %d, %v", tt.syscall, tt.args, fd, cwd, tt.dirfd, tt.cwd)
		}
	}
}

// TestABIConstants checks the three constants the tables hard-code against
// the headers, with gcc (installed by `make deps`: its absence fails).
func TestABIConstants(t *testing.T) {
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Fatalf("gcc not found (%v): install it with `make deps` (scripts/install-deps)", err)
	}
	a, ok := abis[runtime.GOARCH]
	if !ok {
		t.Skipf("no ABI constants for %s", runtime.GOARCH)
	}
	bin := filepath.Join(t.TempDir(), "abi")
	if out, err := exec.Command(cc, "-Wall", "-Werror", "-o", bin, "testdata/abi.c").CombinedOutput(); err != nil {
		t.Fatalf("compile testdata/abi.c: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"AT_FDCWD": int64(a.atFDCWD), "AT_EMPTY_PATH": int64(a.atEmptyPath), "MAP_ANONYMOUS": int64(a.mapAnon)}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, v, _ := strings.Cut(line, " ")
		got, _ := strconv.ParseInt(v, 10, 64)
		if w, ok := want[name]; !ok || got != w {
			t.Errorf("%s is %d in the headers, %d in the table", name, got, w)
		}
		delete(want, name)
	}
	if len(want) > 0 {
		t.Errorf("not printed: %v", want)
	}
}

var errnoName = map[syscall.Errno]string{syscall.EEXIST: "EEXIST", syscall.EXDEV: "EXDEV", syscall.ENODATA: "ENODATA"}
