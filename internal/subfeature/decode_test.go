package subfeature

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
)

// amd64 returns the amd64 decoder. The table tests below use amd64 ABI
// values (syscall numbers, flag bits); other architectures get their own
// table when their values are generated. TestGeneratedValuesMatchGCC checks
// any architecture against its compiler.
func amd64(t testing.TB) *Decoder {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skipf("the table tests use amd64 ABI values; this is %s", runtime.GOARCH)
	}
	d := For("amd64")
	if d == nil {
		t.Fatal("For(amd64) = nil on amd64")
	}
	return d
}

// nr is the amd64 number of a syscall.
var nr = testutil.SyscallNr

type decodeCase struct {
	name    string
	syscall string
	args    [6]uint64
	want    string // "" means ok == false
}

func a(v ...uint64) [6]uint64 {
	var r [6]uint64
	copy(r[:], v)
	return r
}

const minus1 = ^uint64(0)

var decodeCases = []decodeCase{
	// ioctl: the request is the kernel's unsigned int cmd.
	{"isatty", "ioctl", a(0, 0x5401), "ioctl:TCGETS"},
	{"FIONBIO", "ioctl", a(3, 0x5421), "ioctl:FIONBIO"},
	{"FIOASYNC", "ioctl", a(3, 0x5452), "ioctl:FIOASYNC"},
	{"TIOCGWINSZ", "ioctl", a(1, 0x5413), "ioctl:TIOCGWINSZ"},
	{"FIONREAD beats its aliases TIOCINQ and SIOCINQ", "ioctl", a(3, 0x541b), "ioctl:FIONREAD"},
	{"an _IOR request", "ioctl", a(3, 0x80045430), "ioctl:TIOCGPTN"},
	{"a request sign-extended by an int cast", "ioctl", a(3, 0xffffffff80045430), "ioctl:TIOCGPTN"},
	{"garbage above 32 bits ignored like the kernel does", "ioctl", a(3, 0x1234567800005401), "ioctl:TCGETS"},
	{"FICLONE beats BTRFS_IOC_CLONE", "ioctl", a(4, 0x40049409), "ioctl:FICLONE"},
	{"socket ioctl", "ioctl", a(4, 0x8933), "ioctl:SIOCGIFINDEX"},
	{"SIOCGSTAMP beats SIOCGSTAMP_OLD", "ioctl", a(4, 0x8906), "ioctl:SIOCGSTAMP"},
	{"unknown request is hex", "ioctl", a(3, 0x5499), "ioctl:0x5499"},
	{"request 0", "ioctl", a(3, 0), "ioctl:0x0"},
	{"old-style small number with a name", "ioctl", a(3, 1), "ioctl:FIBMAP"},

	{"F_GETFD", "fcntl", a(3, 1), "fcntl:F_GETFD"},
	{"F_SETFD", "fcntl", a(3, 2, 1), "fcntl:F_SETFD"},
	{"F_GETFL", "fcntl", a(3, 3), "fcntl:F_GETFL"},
	{"F_SETFL", "fcntl", a(3, 4, 04000), "fcntl:F_SETFL"},
	{"F_GETLK, not glibc's F_GETLK64 alias", "fcntl", a(3, 5), "fcntl:F_GETLK"},
	{"F_SETLEASE, not F_LINUX_SPECIFIC_BASE", "fcntl", a(3, 1024), "fcntl:F_SETLEASE"},
	{"F_DUPFD_CLOEXEC", "fcntl", a(3, 1030, 3), "fcntl:F_DUPFD_CLOEXEC"},
	{"kernel's 32-bit F_GETLK64 is unnamed on amd64", "fcntl", a(3, 12), "fcntl:12"},
	{"negative command", "fcntl", a(3, minus1), "fcntl:-1"},
	{"high bits ignored", "fcntl", a(3, 1<<32|4), "fcntl:F_SETFL"},

	{"PR_SET_KEEPCAPS", "prctl", a(8, 1), "prctl:PR_SET_KEEPCAPS"},
	{"PR_SET_PDEATHSIG, not an argument value", "prctl", a(1, 9), "prctl:PR_SET_PDEATHSIG"},
	{"PR_SET_NAME", "prctl", a(15, 0x7ffe0000), "prctl:PR_SET_NAME"},
	{"PR_SET_NO_NEW_PRIVS", "prctl", a(38, 1), "prctl:PR_SET_NO_NEW_PRIVS"},
	{"PR_SET_PTRACER magic", "prctl", a(0x59616d61, minus1), "prctl:PR_SET_PTRACER"},
	{"unknown option", "prctl", a(77), "prctl:77"},

	{"ARCH_SET_FS", "arch_prctl", a(0x1002, 0x7f0000001000), "arch_prctl:ARCH_SET_FS"},
	{"ARCH_GET_XCOMP_SUPP", "arch_prctl", a(0x1021), "arch_prctl:ARCH_GET_XCOMP_SUPP"},
	{"unknown code is hex", "arch_prctl", a(0x3001), "arch_prctl:0x3001"},

	{"MADV_DONTNEED is arg2", "madvise", a(0x7f0000000000, 4096, 4), "madvise:MADV_DONTNEED"},
	{"arg0 and arg1 do not matter", "madvise", a(4, 4, 14), "madvise:MADV_HUGEPAGE"},
	{"MADV_FREE", "madvise", a(0, 0, 8), "madvise:MADV_FREE"},
	{"MADV_HWPOISON", "madvise", a(0, 0, 100), "madvise:MADV_HWPOISON"},
	{"unknown advice", "madvise", a(0, 0, 26), "madvise:26"},

	{"prlimit64 resource is arg1", "prlimit64", a(1234, 7), "prlimit64:RLIMIT_NOFILE"},
	{"RLIMIT_STACK", "prlimit64", a(0, 3, 0, 0x7ffe0000), "prlimit64:RLIMIT_STACK"},
	{"RLIMIT_CORE", "prlimit64", a(0, 4), "prlimit64:RLIMIT_CORE"},
	{"unknown resource", "prlimit64", a(0, 16), "prlimit64:16"},
	{"getrlimit resource is arg0", "getrlimit", a(7, 0x7ffe0000), "getrlimit:RLIMIT_NOFILE"},
	{"setrlimit resource is arg0", "setrlimit", a(4, 0x7ffe0000), "setrlimit:RLIMIT_CORE"},

	{"SIGINT", "rt_sigaction", a(2, 0x7ffe0000, 0, 8), "rt_sigaction:SIGINT"},
	{"SIGIO beats SIGPOLL", "rt_sigaction", a(29), "rt_sigaction:SIGIO"},
	{"SIGABRT beats SIGIOT", "rt_sigaction", a(6), "rt_sigaction:SIGABRT"},
	{"SIGCHLD beats SIGCLD", "rt_sigaction", a(17), "rt_sigaction:SIGCHLD"},
	{"SIGSYS beats SIGUNUSED", "rt_sigaction", a(31), "rt_sigaction:SIGSYS"},
	{"real-time signals are numeric", "rt_sigaction", a(32), "rt_sigaction:32"},
	{"glibc's SIGRTMIN", "rt_sigaction", a(34), "rt_sigaction:34"},
	{"signal 64", "rt_sigaction", a(64), "rt_sigaction:64"},

	// futex: the key is op & FUTEX_CMD_MASK.
	{"FUTEX_WAIT", "futex", a(0x7f00, 0, 1), "futex:FUTEX_WAIT"},
	{"FUTEX_WAIT|PRIVATE is the same feature", "futex", a(0x7f00, 128, 1), "futex:FUTEX_WAIT"},
	{"FUTEX_WAIT|PRIVATE|CLOCK_REALTIME too", "futex", a(0x7f00, 128|256, 1), "futex:FUTEX_WAIT"},
	{"FUTEX_WAKE", "futex", a(0x7f00, 1, 1), "futex:FUTEX_WAKE"},
	{"FUTEX_WAKE_PRIVATE", "futex", a(0x7f00, 129, 1), "futex:FUTEX_WAKE"},
	{"FUTEX_WAIT_BITSET|CLOCK_REALTIME", "futex", a(0x7f00, 9|256), "futex:FUTEX_WAIT_BITSET"},
	{"FUTEX_WAIT_REQUEUE_PI_PRIVATE", "futex", a(0x7f00, 0x8b), "futex:FUTEX_WAIT_REQUEUE_PI"},
	{"FUTEX_LOCK_PI2", "futex", a(0x7f00, 13), "futex:FUTEX_LOCK_PI2"},
	{"unknown operation", "futex", a(0x7f00, 14), "futex:14"},
	{"unknown operation, private", "futex", a(0x7f00, 14|128), "futex:14"},

	// socket: the type is masked with SOCK_TYPE_MASK.
	{"AF_INET+SOCK_STREAM", "socket", a(2, 1, 0), "socket:AF_INET+SOCK_STREAM"},
	{"SOCK_CLOEXEC ignored", "socket", a(2, 1|0x80000, 0), "socket:AF_INET+SOCK_STREAM"},
	{"SOCK_NONBLOCK|SOCK_CLOEXEC ignored", "socket", a(2, 1|0x800|0x80000, 6), "socket:AF_INET+SOCK_STREAM"},
	{"protocol ignored", "socket", a(10, 2, 17), "socket:AF_INET6+SOCK_DGRAM"},
	{"AF_UNIX beats AF_LOCAL and AF_FILE", "socket", a(1, 5|0x80000), "socket:AF_UNIX+SOCK_SEQPACKET"},
	{"AF_NETLINK beats AF_ROUTE", "socket", a(16, 3|0x80000, 0), "socket:AF_NETLINK+SOCK_RAW"},
	{"AF_PACKET", "socket", a(17, 3, 0x300), "socket:AF_PACKET+SOCK_RAW"},
	{"unknown family", "socket", a(99, 1), "socket:99+SOCK_STREAM"},
	{"unknown type", "socket", a(2, 7), "socket:AF_INET+7"},

	{"SO_REUSEADDR", "setsockopt", a(3, 1, 2, 0x7ffe0000, 4), "setsockopt:SOL_SOCKET+SO_REUSEADDR"},
	{"SO_REUSEPORT", "setsockopt", a(3, 1, 15), "setsockopt:SOL_SOCKET+SO_REUSEPORT"},
	{"SO_TIMESTAMP beats SO_TIMESTAMP_OLD", "setsockopt", a(3, 1, 29), "setsockopt:SOL_SOCKET+SO_TIMESTAMP"},
	{"SO_TIMESTAMP_NEW", "setsockopt", a(3, 1, 63), "setsockopt:SOL_SOCKET+SO_TIMESTAMP_NEW"},
	{"SOL_TCP for IPPROTO_TCP", "setsockopt", a(3, 6, 1), "setsockopt:SOL_TCP+TCP_NODELAY"},
	{"SOL_IPV6", "setsockopt", a(3, 41, 26), "setsockopt:SOL_IPV6+IPV6_V6ONLY"},
	{"SOL_IP", "setsockopt", a(3, 0, 1), "setsockopt:SOL_IP+IP_TOS"},
	{"IP_MTU_DISCOVER beats glibc's IP_PMTUDISC", "setsockopt", a(3, 0, 10), "setsockopt:SOL_IP+IP_MTU_DISCOVER"},
	{"MCAST_ at SOL_IP", "setsockopt", a(3, 0, 42), "setsockopt:SOL_IP+MCAST_JOIN_GROUP"},
	{"SOL_UDP", "setsockopt", a(3, 17, 1), "setsockopt:SOL_UDP+UDP_CORK"},
	{"level without option names", "setsockopt", a(3, 263, 1), "setsockopt:SOL_PACKET+1"},
	{"unknown level", "setsockopt", a(3, 999, 5), "setsockopt:999+5"},
	{"unknown option at a named level", "setsockopt", a(3, 1, 999), "setsockopt:SOL_SOCKET+999"},
	{"getsockopt SO_ERROR", "getsockopt", a(3, 1, 4, 0x7ffe0000, 0x7ffe0010), "getsockopt:SOL_SOCKET+SO_ERROR"},
	{"getsockopt TCP_INFO", "getsockopt", a(3, 6, 11), "getsockopt:SOL_TCP+TCP_INFO"},

	// mmap: MAP_ANONYMOUS, the MAP_TYPE field and MAP_FIXED* only.
	{"malloc arena", "mmap", a(0, 4096, 3, 0x22, minus1, 0), "mmap:anon+private"},
	{"MAP_NORESERVE ignored", "mmap", a(0, 4096, 3, 0x22|0x4000, minus1, 0), "mmap:anon+private"},
	{"MAP_POPULATE ignored", "mmap", a(0, 4096, 3, 0x22|0x8000, minus1, 0), "mmap:anon+private"},
	{"thread stack flags ignored", "mmap", a(0, 1<<23, 0, 0x22|0x20000|0x100, minus1, 0), "mmap:anon+private"},
	{"MAP_HUGETLB|MAP_LOCKED|MAP_32BIT ignored", "mmap", a(0, 1<<21, 3, 0x22|0x40000|0x2000|0x40, minus1, 0), "mmap:anon+private"},
	{"fd ignored with MAP_ANONYMOUS", "mmap", a(0, 4096, 3, 0x22, 5, 0), "mmap:anon+private"},
	{"file-backed private", "mmap", a(0, 8192, 1, 0x02, 3, 0), "mmap:file+private"},
	{"file-backed decided by the flag, not the fd", "mmap", a(0, 8192, 1, 0x02, minus1, 0), "mmap:file+private"},
	{"file-backed private, MAP_POPULATE|MAP_NORESERVE ignored", "mmap", a(0, 8192, 1, 0x02|0x8000|0x4000, 3, 0), "mmap:file+private"},
	{"file-backed shared", "mmap", a(0, 4096, 3, 0x01, 3, 0), "mmap:file+shared"},
	{"ld.so segment", "mmap", a(0x7f0000000000, 4096, 5, 0x12|0x800, 3, 0x1000), "mmap:file+private+fixed"},
	{"shared fixed", "mmap", a(0x7f0000000000, 4096, 3, 0x11, 3, 0), "mmap:file+shared+fixed"},
	{"anon fixed_noreplace", "mmap", a(0x7f0000000000, 4096, 3, 0x100022, minus1, 0), "mmap:anon+private+fixed_noreplace"},
	{"both fixed bits: the kernel applies noreplace", "mmap", a(0x7f0000000000, 4096, 3, 0x100032, minus1, 0), "mmap:anon+private+fixed_noreplace"},
	{"MAP_SHARED_VALIDATE", "mmap", a(0, 4096, 3, 0x03|0x80000, 3, 0), "mmap:file+shared_validate"},
	{"invalid type 0", "mmap", a(0, 4096, 3, 0x20, minus1, 0), "mmap:anon+type0"},
	{"invalid type 15", "mmap", a(0, 4096, 3, 0x0f, 3, 0), "mmap:file+type15"},

	{"PROT_NONE", "mprotect", a(0x7f0000000000, 4096, 0), "mprotect:none"},
	{"read", "mprotect", a(0x7f0000000000, 4096, 1), "mprotect:read"},
	{"read+write", "mprotect", a(0x7f0000000000, 4096, 3), "mprotect:read+write"},
	{"read+exec", "mprotect", a(0x7f0000000000, 4096, 5), "mprotect:read+exec"},
	{"read+write+exec", "mprotect", a(0x7f0000000000, 4096, 7), "mprotect:read+write+exec"},
	{"PROT_GROWSDOWN", "mprotect", a(0x7f0000000000, 4096, 0x01000003), "mprotect:read+write+growsdown"},
	{"unknown bit alone", "mprotect", a(0x7f0000000000, 4096, 0x10), "mprotect:0x10"},
	{"unknown bit with known ones", "mprotect", a(0x7f0000000000, 4096, 0x11), "mprotect:read+0x10"},
	{"unknown high bit", "mprotect", a(0x7f0000000000, 4096, 1<<40|2), "mprotect:write+0x10000000000"},

	{"fork via clone", "clone", a(0x01200011, 0, 0, 0x7f00, 0), "clone:process"},
	{"SIGCHLD only", "clone", a(17), "clone:process"},
	{"vfork-like", "clone", a(0x4000 | 0x100 | 17), "clone:process"},
	{"pthread_create", "clone", a(0x3d0f00, 0x7f00, 0x7f10, 0x7f20, 0x7f30), "clone:thread"},

	{"read", "read", a(0, 0x7ffe0000, 4096), ""},
	{"openat", "openat", a(minus1-99, 0x7ffe0000, 0), ""},
}

func TestDecode(t *testing.T) {
	d := amd64(t)
	for _, tt := range decodeCases {
		t.Run(tt.syscall+"/"+tt.name, func(t *testing.T) {
			got, ok := d.Decode(nr(t, tt.syscall), tt.args, nil)
			if tt.want == "" {
				if ok {
					t.Fatalf("Decode = %q, true; want no sub-feature", got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("Decode(%s, %#x) = %q, %v; want %q", tt.syscall, tt.args, got, ok, tt.want)
			}
			// The key is canonical: ParseKey gives it back unchanged.
			n, canon, err := d.ParseKey(got)
			if err != nil || canon != got || n != nr(t, tt.syscall) {
				t.Fatalf("ParseKey(%q) = %d, %q, %v", got, n, canon, err)
			}
		})
	}
}

func TestDecodeOutOfRange(t *testing.T) {
	d := amd64(t)
	for _, n := range []int{-1, -1 << 40, d.sys.Max(), 1 << 20, 1<<62 + 16} {
		if k, ok := d.Decode(n, a(1, 0x5401), nil); ok {
			t.Errorf("Decode(%d) = %q, true", n, k)
		}
		if d.Has(n) {
			t.Errorf("Has(%d)", n)
		}
	}
}

// cloneArgs returns a memory reader serving a struct clone_args with the
// given flags at addr, recording the reads.
func cloneArgs(addr, flags uint64, reads *[]uint64) MemReader {
	return func(at uint64, buf []byte) error {
		*reads = append(*reads, at, uint64(len(buf)))
		if at != addr || len(buf) > 64 {
			return errors.New("EFAULT")
		}
		var s [64]byte
		binary.NativeEndian.PutUint64(s[:], flags)
		copy(buf, s[:])
		return nil
	}
}

func TestDecodeClone3(t *testing.T) {
	d := amd64(t)
	clone3 := nr(t, "clone3")
	const addr = 0x7ffe1000
	tests := []struct {
		name  string
		flags uint64
		size  uint64
		addr  uint64
		want  string
	}{
		{"pthread_create", 0x3d0f00, 88, addr, "clone3:thread"},
		{"fork", 0, 88, addr, "clone3:process"},
		{"fork with pidfd", 0x1000, 64, addr, "clone3:process"},
		{"thread, high flag bits", 0x3d0f00 | 1<<33, 88, addr, "clone3:thread"},
		{"size below CLONE_ARGS_SIZE_VER0: EINVAL in the kernel", 0x3d0f00, 63, addr, ""},
		{"unreadable struct: EFAULT in the kernel", 0x3d0f00, 88, addr + 4096, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reads []uint64
			got, ok := d.Decode(clone3, a(tt.addr, tt.size), cloneArgs(addr, tt.flags, &reads))
			if tt.want == "" {
				if ok {
					t.Fatalf("Decode = %q, true; want false", got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("Decode = %q, %v; want %q", got, ok, tt.want)
			}
			if len(reads) != 2 || reads[0] != tt.addr || reads[1] != 8 {
				t.Fatalf("reads (addr, len) = %v; want one read of 8 bytes at %#x", reads, tt.addr)
			}
		})
	}
	if k, ok := d.Decode(clone3, a(addr, 88), nil); ok {
		t.Errorf("Decode with a nil MemReader = %q, true", k)
	}
	// Syscalls whose sub-feature is in registers never read memory.
	var reads []uint64
	d.Decode(nr(t, "clone"), a(0x3d0f00), cloneArgs(addr, 0, &reads))
	d.Decode(nr(t, "ioctl"), a(0, 0x5401), cloneArgs(addr, 0, &reads))
	if len(reads) != 0 {
		t.Errorf("register-only decoders read memory: %v", reads)
	}
}

// TestSyscalls checks the list of syscalls with sub-features against the
// issue's list.
func TestSyscalls(t *testing.T) {
	d := amd64(t)
	want := []string{"mmap", "mprotect", "rt_sigaction", "ioctl", "madvise", "socket", "setsockopt",
		"getsockopt", "clone", "fcntl", "getrlimit", "prctl", "arch_prctl", "setrlimit", "futex",
		"prlimit64", "clone3"}
	got := d.Syscalls()
	if len(got) != len(want) {
		t.Fatalf("Syscalls() has %d entries, want %d", len(got), len(want))
	}
	for i, n := range got {
		if i > 0 && got[i-1] >= n {
			t.Fatalf("Syscalls() not ascending: %v", got)
		}
		if !d.Has(n) {
			t.Errorf("Has(%d) = false", n)
		}
	}
	for _, w := range want {
		if !d.Has(nr(t, w)) {
			t.Errorf("%s has no sub-features", w)
		}
	}
	got[0] = -5 // the caller's copy
	if d.Syscalls()[0] == -5 {
		t.Error("Syscalls returns the decoder's own slice")
	}
}

// TestKnownKeysRoundTrip: every key made of header names is canonical.
func TestKnownKeysRoundTrip(t *testing.T) {
	d := amd64(t)
	total := 0
	for _, n := range d.Syscalls() {
		keys := d.KnownKeys(n)
		if len(keys) == 0 {
			t.Errorf("%s: no known keys", sysent.AMD64.Name(n))
		}
		for _, k := range keys {
			total++
			got, canon, err := d.ParseKey(k)
			if err != nil || canon != k || got != n {
				t.Errorf("ParseKey(%q) = %d, %q, %v", k, got, canon, err)
			}
		}
	}
	if d.KnownKeys(nr(t, "read")) != nil {
		t.Error("KnownKeys(read) != nil")
	}
	t.Logf("%d known keys", total)
}

// TestSockTypeMask checks the one value not in the UAPI headers against the
// generated ones: every socket type fits in it, the flags do not.
func TestSockTypeMask(t *testing.T) {
	if nativeValues == nil {
		t.Skipf("no generated values for %s", runtime.GOARCH)
	}
	for _, n := range nativeValues.namespaces["socktype"] {
		if n.Value&^sockTypeMask != 0 {
			t.Errorf("%s = %#x does not fit SOCK_TYPE_MASK", n.Name, n.Value)
		}
	}
	for _, f := range []string{"SOCK_NONBLOCK", "SOCK_CLOEXEC"} {
		if v := nativeValues.consts[f]; v == 0 || v&sockTypeMask != 0 {
			t.Errorf("%s = %#x overlaps SOCK_TYPE_MASK", f, v)
		}
	}
}

// TestNamespacesWellFormed checks invariants of the generated file.
func TestNamespacesWellFormed(t *testing.T) {
	if nativeValues == nil {
		t.Skipf("no generated values for %s", runtime.GOARCH)
	}
	for ns, names := range nativeValues.namespaces {
		canon := map[uint64]string{}
		seen := map[string]bool{}
		for i, n := range names {
			if seen[n.Name] {
				t.Errorf("%s: %s listed twice", ns, n.Name)
			}
			seen[n.Name] = true
			if i > 0 && names[i-1].Value > n.Value {
				t.Errorf("%s: not sorted by value at %s", ns, n.Name)
			}
			if n.AliasOf == "" {
				if c, dup := canon[n.Value]; dup {
					t.Errorf("%s: %#x has two canonical names, %s and %s", ns, n.Value, c, n.Name)
				}
				canon[n.Value] = n.Name
			}
		}
		for _, n := range names {
			if n.AliasOf != "" && canon[n.Value] != n.AliasOf {
				t.Errorf("%s: %s is an alias of %s, but %#x is %s", ns, n.Name, n.AliasOf, n.Value, canon[n.Value])
			}
		}
	}
}

func TestForOtherArch(t *testing.T) {
	if d := For("no-such-arch"); d != nil {
		t.Errorf("For(no-such-arch) = %v", d)
	}
	if d := For(runtime.GOARCH); d == nil && nativeValues != nil {
		t.Errorf("For(%s) = nil", runtime.GOARCH)
	}
}

func TestDecodePreferGeneric(t *testing.T) {
	d := amd64(t)
	if got, _ := d.Decode(nr(t, "ioctl"), a(5, 0x4010aeab), nil); got != "ioctl:KVM_GET_ONE_REG" {
		t.Errorf("Decode(KVM_GET_ONE_REG) = %q", got)
	}
}

// TestSlotsDetermineKey checks the contract a seccomp filter relies on
// (tracer, --counts seen): the key of a call depends only on its slots'
// masked argument values, so arguments that differ elsewhere (other
// registers, bits outside the mask) decode to the same key, and a filter
// that compares those words allows exactly the calls of keys seen before.
func TestSlotsDetermineKey(t *testing.T) {
	d := amd64(t)
	rng := uint64(0x9e3779b97f4a7c15)
	next := func() uint64 { // xorshift: deterministic, no seed to report
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng
	}
	for _, n := range d.Syscalls() {
		slots := d.Slots(n)
		if len(slots) == 0 || len(slots) > 2 {
			t.Fatalf("Slots(%d) = %v: want one or two", n, slots)
		}
		if slotsInMemory(slots) {
			continue // a filter never compares these (clone3): always trapped
		}
		for i := 0; i < 2000; i++ {
			var a, b [6]uint64
			for j := range a {
				a[j], b[j] = next(), next()
			}
			// Half the time a small value in the slots, where the names are.
			for _, s := range slots {
				if i%2 == 0 {
					a[s.Arg] = next() % 64
				}
				// b agrees with a on the masked bits of the slot only.
				b[s.Arg] = a[s.Arg]&s.Mask | b[s.Arg]&^s.Mask
			}
			ka, oka := d.Decode(n, a, nil)
			kb, okb := d.Decode(n, b, nil)
			if ka != kb || oka != okb {
				t.Fatalf("syscall %d: args %x -> %q, %x -> %q: equal masked slots must give equal keys", n, a, ka, b, kb)
			}
		}
	}
	if got := d.Slots(nr(t, "read")); got != nil {
		t.Errorf("Slots(read) = %v, want nil", got)
	}
	c3 := d.Slots(nr(t, "clone3"))
	if len(c3) != 1 || !c3[0].InMemory {
		t.Errorf("Slots(clone3) = %v, want one slot in memory", c3)
	}
	if io := d.Slots(nr(t, "ioctl")); len(io) != 1 || io[0].Arg != 1 || io[0].Mask != 0xffffffff {
		t.Errorf("Slots(ioctl) = %v, want arg 1, the low 32 bits", io)
	}
}

func slotsInMemory(s []Slot) bool {
	for _, x := range s {
		if x.InMemory {
			return true
		}
	}
	return false
}
