package pseudofile

import (
	"sort"
	"strconv"
	"syscall"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// Op is what a syscall does with a path. It decides what a fake does (see
// Op.Fake); a stub always returns -ENOENT.
type Op int

const (
	OpOpen      Op = iota + 1 // opens it: open, openat, openat2, creat
	OpStat                    // reads its metadata: stat family, statx
	OpStatfs                  // reads its filesystem's metadata
	OpAccess                  // checks permissions: access family
	OpReadlink                // reads it as a symlink
	OpExec                    // executes it
	OpChdir                   // makes it the working directory
	OpCreate                  // creates it: mkdir, mknod, symlink's new name
	OpRemove                  // removes it: unlink, rmdir
	OpLink                    // renames or links from or to it
	OpModify                  // changes its metadata: chmod, chown, times, truncate, xattrs
	OpXattrGet                // reads one extended attribute
	OpXattrList               // lists extended attributes
	OpWatch                   // watches it: inotify, fanotify
	OpHandle                  // gets a file handle for it
	OpAdmin                   // mounts, swaps, chroots, accounts to it
)

var opNames = [...]string{"", "open", "stat", "statfs", "access", "readlink", "exec", "chdir", "create",
	"remove", "link", "modify", "xattr-get", "xattr-list", "watch", "handle", "admin"}

func (o Op) String() string {
	if o > 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// FakeAction is what the tracer does to a call naming a faked pseudo-file.
type FakeAction int

const (
	// FakeOpen: decided by the open flags (see doc/subfeatures.md): a
	// read-only open runs on the stand-in, an open for writing on /dev/null,
	// O_CREAT|O_EXCL fails with EEXIST.
	FakeOpen FakeAction = iota + 1
	// FakeRedirect: the call runs unchanged except that the path names the
	// stand-in: an empty regular file, or an empty directory when the real
	// file is a directory.
	FakeRedirect
	// FakeRedirectDir: the call runs on the empty directory stand-in.
	FakeRedirectDir
	// FakeReturn: the call does not run and returns -Errno (0: success).
	FakeReturn
	// FakePassthrough: the call runs unchanged (administrative calls, which a
	// fake file has no meaning for).
	FakePassthrough
)

// Fake says what a fake does to a call of this Op: the action, and for
// FakeReturn the errno (0 for success).
func (o Op) Fake() (FakeAction, syscall.Errno) {
	switch o {
	case OpOpen:
		return FakeOpen, 0
	case OpStat, OpStatfs, OpReadlink, OpExec, OpWatch, OpHandle:
		return FakeRedirect, 0
	case OpChdir:
		return FakeRedirectDir, 0
	case OpAccess, OpRemove, OpModify, OpXattrList:
		return FakeReturn, 0
	case OpCreate:
		return FakeReturn, syscall.EEXIST
	case OpLink:
		return FakeReturn, syscall.EXDEV
	case OpXattrGet:
		return FakeReturn, syscall.ENODATA
	case OpAdmin:
		return FakePassthrough, 0
	}
	return 0, 0
}

// PathArg is one path argument of a syscall.
type PathArg struct {
	Arg int // index of the const char * argument
	// Dirfd is the index of the directory fd a relative path is resolved
	// against (AT_FDCWD means the working directory), or -1: the working
	// directory.
	Dirfd int
	// Flags is the index of a flags argument honouring AT_EMPTY_PATH, or
	// -1: with that flag and an empty path the call acts on Dirfd's file.
	Flags int
	// EmptyIsFd: an empty path acts on Dirfd's file without any flag
	// (readlinkat).
	EmptyIsFd bool
	// NullIsFd: a NULL path acts on Dirfd's file (utimensat, fanotify_mark).
	NullIsFd bool
	// AbsoluteOnly: the argument is a path only when absolute (mount's
	// source, which is often a name such as "proc" or "tmpfs").
	AbsoluteOnly bool
	// MemFlags: the open flags are the first u64 of the struct that
	// argument MemFlags points to (openat2's struct open_how); -1 if not.
	MemFlags int
	Op       Op
}

// PathCall is one syscall that names files.
type PathCall struct {
	Syscall string
	Paths   []PathArg
	// ReturnsFD: on success the call returns an fd naming Paths[0] (the
	// tracer records it to follow later calls on the fd).
	ReturnsFD bool
	// OpenFlags is the index of the open flags argument (open, openat), or
	// -1 (see PathArg.MemFlags for openat2).
	OpenFlags int
}

// p builds a PathArg with no dirfd, flags or options.
func p(arg int, op Op) PathArg {
	return PathArg{Arg: arg, Dirfd: -1, Flags: -1, MemFlags: -1, Op: op}
}

// at builds a PathArg relative to a dirfd.
func at(dirfd, arg int, op Op) PathArg {
	return PathArg{Arg: arg, Dirfd: dirfd, Flags: -1, MemFlags: -1, Op: op}
}

func (a PathArg) flags(i int) PathArg    { a.Flags = i; return a }
func (a PathArg) nullIsFd() PathArg      { a.NullIsFd = true; return a }
func (a PathArg) emptyIsFd() PathArg     { a.EmptyIsFd = true; return a }
func (a PathArg) absoluteOnly() PathArg  { a.AbsoluteOnly = true; return a }
func (a PathArg) memFlags(i int) PathArg { a.MemFlags = i; return a }

// pathCalls lists the syscalls that name files, by name. Names the
// architecture's headers do not know (newer syscalls, or ones an
// architecture lacks, such as open on arm64) are skipped by For.
var pathCalls = []PathCall{
	{Syscall: "open", Paths: []PathArg{p(0, OpOpen)}, ReturnsFD: true, OpenFlags: 1},
	{Syscall: "openat", Paths: []PathArg{at(0, 1, OpOpen)}, ReturnsFD: true, OpenFlags: 2},
	{Syscall: "openat2", Paths: []PathArg{at(0, 1, OpOpen).memFlags(2)}, ReturnsFD: true, OpenFlags: -1},
	{Syscall: "creat", Paths: []PathArg{p(0, OpOpen)}, ReturnsFD: true, OpenFlags: -1},

	{Syscall: "stat", Paths: []PathArg{p(0, OpStat)}, OpenFlags: -1},
	{Syscall: "lstat", Paths: []PathArg{p(0, OpStat)}, OpenFlags: -1},
	{Syscall: "newfstatat", Paths: []PathArg{at(0, 1, OpStat).flags(3)}, OpenFlags: -1},
	{Syscall: "statx", Paths: []PathArg{at(0, 1, OpStat).flags(2)}, OpenFlags: -1},
	{Syscall: "statfs", Paths: []PathArg{p(0, OpStatfs)}, OpenFlags: -1},

	{Syscall: "access", Paths: []PathArg{p(0, OpAccess)}, OpenFlags: -1},
	{Syscall: "faccessat", Paths: []PathArg{at(0, 1, OpAccess)}, OpenFlags: -1},
	{Syscall: "faccessat2", Paths: []PathArg{at(0, 1, OpAccess).flags(3)}, OpenFlags: -1},

	{Syscall: "readlink", Paths: []PathArg{p(0, OpReadlink)}, OpenFlags: -1},
	{Syscall: "readlinkat", Paths: []PathArg{at(0, 1, OpReadlink).emptyIsFd()}, OpenFlags: -1},

	{Syscall: "execve", Paths: []PathArg{p(0, OpExec)}, OpenFlags: -1},
	{Syscall: "execveat", Paths: []PathArg{at(0, 1, OpExec).flags(4)}, OpenFlags: -1},
	{Syscall: "uselib", Paths: []PathArg{p(0, OpExec)}, OpenFlags: -1},

	{Syscall: "chdir", Paths: []PathArg{p(0, OpChdir)}, OpenFlags: -1},

	{Syscall: "mkdir", Paths: []PathArg{p(0, OpCreate)}, OpenFlags: -1},
	{Syscall: "mkdirat", Paths: []PathArg{at(0, 1, OpCreate)}, OpenFlags: -1},
	{Syscall: "mknod", Paths: []PathArg{p(0, OpCreate)}, OpenFlags: -1},
	{Syscall: "mknodat", Paths: []PathArg{at(0, 1, OpCreate)}, OpenFlags: -1},
	// A symlink's target is its content, not a path the call looks up.
	{Syscall: "symlink", Paths: []PathArg{p(1, OpCreate)}, OpenFlags: -1},
	{Syscall: "symlinkat", Paths: []PathArg{at(1, 2, OpCreate)}, OpenFlags: -1},

	{Syscall: "unlink", Paths: []PathArg{p(0, OpRemove)}, OpenFlags: -1},
	{Syscall: "unlinkat", Paths: []PathArg{at(0, 1, OpRemove)}, OpenFlags: -1},
	{Syscall: "rmdir", Paths: []PathArg{p(0, OpRemove)}, OpenFlags: -1},

	{Syscall: "rename", Paths: []PathArg{p(0, OpLink), p(1, OpLink)}, OpenFlags: -1},
	{Syscall: "renameat", Paths: []PathArg{at(0, 1, OpLink), at(2, 3, OpLink)}, OpenFlags: -1},
	{Syscall: "renameat2", Paths: []PathArg{at(0, 1, OpLink), at(2, 3, OpLink)}, OpenFlags: -1},
	{Syscall: "link", Paths: []PathArg{p(0, OpLink), p(1, OpLink)}, OpenFlags: -1},
	{Syscall: "linkat", Paths: []PathArg{at(0, 1, OpLink).flags(4), at(2, 3, OpLink)}, OpenFlags: -1},

	{Syscall: "chmod", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},
	{Syscall: "fchmodat", Paths: []PathArg{at(0, 1, OpModify)}, OpenFlags: -1},
	{Syscall: "fchmodat2", Paths: []PathArg{at(0, 1, OpModify).flags(3)}, OpenFlags: -1},
	{Syscall: "chown", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},
	{Syscall: "lchown", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},
	{Syscall: "fchownat", Paths: []PathArg{at(0, 1, OpModify).flags(4)}, OpenFlags: -1},
	{Syscall: "utime", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},
	{Syscall: "utimes", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},
	{Syscall: "futimesat", Paths: []PathArg{at(0, 1, OpModify)}, OpenFlags: -1},
	{Syscall: "utimensat", Paths: []PathArg{at(0, 1, OpModify).flags(3).nullIsFd()}, OpenFlags: -1},
	{Syscall: "truncate", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},

	{Syscall: "setxattr", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},
	{Syscall: "lsetxattr", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},
	{Syscall: "removexattr", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},
	{Syscall: "lremovexattr", Paths: []PathArg{p(0, OpModify)}, OpenFlags: -1},
	{Syscall: "getxattr", Paths: []PathArg{p(0, OpXattrGet)}, OpenFlags: -1},
	{Syscall: "lgetxattr", Paths: []PathArg{p(0, OpXattrGet)}, OpenFlags: -1},
	{Syscall: "listxattr", Paths: []PathArg{p(0, OpXattrList)}, OpenFlags: -1},
	{Syscall: "llistxattr", Paths: []PathArg{p(0, OpXattrList)}, OpenFlags: -1},
	// Linux 6.13's *xattrat calls: (dirfd, path, at_flags, ...).
	{Syscall: "setxattrat", Paths: []PathArg{at(0, 1, OpModify).flags(2)}, OpenFlags: -1},
	{Syscall: "removexattrat", Paths: []PathArg{at(0, 1, OpModify).flags(2)}, OpenFlags: -1},
	{Syscall: "getxattrat", Paths: []PathArg{at(0, 1, OpXattrGet).flags(2)}, OpenFlags: -1},
	{Syscall: "listxattrat", Paths: []PathArg{at(0, 1, OpXattrList).flags(2)}, OpenFlags: -1},

	{Syscall: "inotify_add_watch", Paths: []PathArg{p(1, OpWatch)}, OpenFlags: -1},
	{Syscall: "fanotify_mark", Paths: []PathArg{at(3, 4, OpWatch).nullIsFd()}, OpenFlags: -1},
	{Syscall: "name_to_handle_at", Paths: []PathArg{at(0, 1, OpHandle).flags(4)}, OpenFlags: -1},

	{Syscall: "mount", Paths: []PathArg{p(0, OpAdmin).absoluteOnly(), p(1, OpAdmin)}, OpenFlags: -1},
	{Syscall: "umount2", Paths: []PathArg{p(0, OpAdmin)}, OpenFlags: -1},
	{Syscall: "pivot_root", Paths: []PathArg{p(0, OpAdmin), p(1, OpAdmin)}, OpenFlags: -1},
	{Syscall: "chroot", Paths: []PathArg{p(0, OpAdmin)}, OpenFlags: -1},
	{Syscall: "acct", Paths: []PathArg{p(0, OpAdmin)}, OpenFlags: -1},
	{Syscall: "swapon", Paths: []PathArg{p(0, OpAdmin)}, OpenFlags: -1},
	{Syscall: "swapoff", Paths: []PathArg{p(0, OpAdmin)}, OpenFlags: -1},
	{Syscall: "quotactl", Paths: []PathArg{p(1, OpAdmin)}, OpenFlags: -1},
	{Syscall: "open_tree", Paths: []PathArg{at(0, 1, OpAdmin).flags(2)}, ReturnsFD: true, OpenFlags: -1},
	// move_mount and fspick have their own EMPTY_PATH flags, not followed.
	{Syscall: "move_mount", Paths: []PathArg{at(0, 1, OpAdmin), at(2, 3, OpAdmin)}, OpenFlags: -1},
	{Syscall: "fspick", Paths: []PathArg{at(0, 1, OpAdmin)}, OpenFlags: -1},
	{Syscall: "mount_setattr", Paths: []PathArg{at(0, 1, OpAdmin).flags(2)}, OpenFlags: -1},
}

// FdKind is what a call does with the fds it is given.
type FdKind int

const (
	// FdUse: the call uses the file: count a use of the fd's key.
	FdUse FdKind = iota + 1
	// FdDup: the call's result (dup) or its second fd argument (dup2, dup3)
	// becomes a copy of the first fd: copy the mapping. Not a use.
	FdDup
	// FdClose: count a use, then drop the mapping (close_range: Fds are
	// the first and last fd of the range, and no use is counted).
	FdClose
)

// FdCall is one syscall taking fds to follow.
type FdCall struct {
	Syscall string
	Kind    FdKind
	Fds     []int // argument indexes, each an int fd
	// AnonFlags: the call uses no fd when this argument has MAP_ANONYMOUS
	// (mmap's flags); -1 if not.
	AnonFlags int
}

func use(name string, fds ...int) FdCall {
	return FdCall{Syscall: name, Kind: FdUse, Fds: fds, AnonFlags: -1}
}

// fdCalls lists the syscalls whose fd arguments are followed. Calls whose
// fds are in memory (poll, select, epoll_wait's results, io_uring) are not.
var fdCalls = []FdCall{
	use("read", 0), use("write", 0), use("pread64", 0), use("pwrite64", 0),
	use("readv", 0), use("writev", 0), use("preadv", 0), use("pwritev", 0),
	use("preadv2", 0), use("pwritev2", 0), use("lseek", 0),
	use("fstat", 0), use("fstatfs", 0), use("getdents", 0), use("getdents64", 0),
	use("ioctl", 0), use("fcntl", 0), use("flock", 0),
	use("fsync", 0), use("fdatasync", 0), use("syncfs", 0), use("sync_file_range", 0),
	use("ftruncate", 0), use("fallocate", 0), use("fadvise64", 0), use("readahead", 0),
	use("fchmod", 0), use("fchown", 0), use("fchdir", 0),
	use("fgetxattr", 0), use("fsetxattr", 0), use("flistxattr", 0), use("fremovexattr", 0),
	use("sendfile", 0, 1), use("splice", 0, 2), use("tee", 0, 1), use("copy_file_range", 0, 2),
	use("vmsplice", 0), use("epoll_ctl", 2),
	{Syscall: "mmap", Kind: FdUse, Fds: []int{4}, AnonFlags: 3},
	{Syscall: "close", Kind: FdClose, Fds: []int{0}, AnonFlags: -1},
	{Syscall: "close_range", Kind: FdClose, Fds: []int{0, 1}, AnonFlags: -1},
	{Syscall: "dup", Kind: FdDup, Fds: []int{0}, AnonFlags: -1},
	{Syscall: "dup2", Kind: FdDup, Fds: []int{0, 1}, AnonFlags: -1},
	{Syscall: "dup3", Kind: FdDup, Fds: []int{0, 1}, AnonFlags: -1},
}

// abi holds the few constants the tables need. They are the same on every
// architecture loupe supports; TestABIConstants checks them with gcc.
type abi struct {
	atFDCWD     int32
	atEmptyPath uint64
	mapAnon     uint64
}

var abis = map[string]abi{
	"amd64": {atFDCWD: -100, atEmptyPath: 0x1000, mapAnon: 0x20},
	"arm64": {atFDCWD: -100, atEmptyPath: 0x1000, mapAnon: 0x20},
}

// Table is the path and fd tables of one architecture, indexed by syscall
// number. It is immutable and safe for concurrent use.
type Table struct {
	arch  string
	abi   abi
	paths []*PathCall
	fds   []*FdCall
}

// For builds the tables of a GOARCH, or returns nil if loupe has no syscall
// table for it. Build it once per run and keep it.
func For(goarch string) *Table {
	sys := sysent.ForArch(goarch)
	a, ok := abis[goarch]
	if sys == nil || !ok {
		return nil
	}
	t := &Table{arch: goarch, abi: a, paths: make([]*PathCall, sys.Max()), fds: make([]*FdCall, sys.Max())}
	for i := range pathCalls {
		if nr, ok := sys.Number(pathCalls[i].Syscall); ok && sys.Known(nr) {
			t.paths[nr] = &pathCalls[i]
		}
	}
	for i := range fdCalls {
		if nr, ok := sys.Number(fdCalls[i].Syscall); ok && sys.Known(nr) {
			t.fds[nr] = &fdCalls[i]
		}
	}
	return t
}

// Arch is the GOARCH of the table.
func (t *Table) Arch() string { return t.arch }

// Paths returns the path arguments of syscall nr, or nil (also for numbers
// out of range). It is a slice index.
func (t *Table) Paths(nr int) *PathCall {
	if uint(nr) >= uint(len(t.paths)) {
		return nil
	}
	return t.paths[nr]
}

// Fds returns the fd arguments of syscall nr to follow for this call, and
// what the call does with them; kind == 0 when there are none (mmap with
// MAP_ANONYMOUS, or a syscall without fds to follow). It does not allocate;
// fds is the table's and must not be modified.
func (t *Table) Fds(nr int, args [6]uint64) (kind FdKind, fds []int) {
	if uint(nr) >= uint(len(t.fds)) || t.fds[nr] == nil {
		return 0, nil
	}
	c := t.fds[nr]
	if c.AnonFlags >= 0 && args[c.AnonFlags]&t.abi.mapAnon != 0 {
		return 0, nil
	}
	return c.Kind, c.Fds
}

// ActsOnDirfd reports whether a call acts on the file its dirfd argument
// refers to rather than on a path: an empty path with AT_EMPTY_PATH (or
// with readlinkat), or a NULL path where that means the dirfd. The tracer
// then follows the dirfd like an fd (FdUse). path is the string read at
// the argument; isNull says the pointer was NULL.
func (t *Table) ActsOnDirfd(a PathArg, args [6]uint64, path string, isNull bool) bool {
	if a.Dirfd < 0 {
		return false
	}
	if isNull {
		return a.NullIsFd
	}
	if path != "" {
		return false
	}
	return a.EmptyIsFd || (a.Flags >= 0 && args[a.Flags]&t.abi.atEmptyPath != 0)
}

// RelativeTo says what a relative path in argument a is resolved against:
// the working directory (cwd == true), or the directory fd dirfd.
func (t *Table) RelativeTo(a PathArg, args [6]uint64) (dirfd int, cwd bool) {
	if a.Dirfd < 0 {
		return 0, true
	}
	fd := int32(uint32(args[a.Dirfd]))
	if fd == t.abi.atFDCWD {
		return 0, true
	}
	return int(fd), false
}

// PathSyscalls returns the names of the syscalls that name files on this
// architecture, sorted by number.
func (t *Table) PathSyscalls() []string {
	var out []string
	for _, c := range t.paths {
		if c != nil {
			out = append(out, c.Syscall)
		}
	}
	return out
}

// FdSyscalls returns the names of the syscalls whose fds are followed on
// this architecture, sorted by name.
func (t *Table) FdSyscalls() []string {
	var out []string
	for _, c := range t.fds {
		if c != nil {
			out = append(out, c.Syscall)
		}
	}
	sort.Strings(out)
	return out
}
