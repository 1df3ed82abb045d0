package subfeature

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	d := amd64(t)
	tests := []struct {
		key, want string
	}{
		// Canonical keys come back unchanged.
		{"ioctl:TCGETS", "ioctl:TCGETS"},
		{"fcntl:F_SETFD", "fcntl:F_SETFD"},
		{"prctl:PR_SET_KEEPCAPS", "prctl:PR_SET_KEEPCAPS"},
		{"arch_prctl:ARCH_SET_FS", "arch_prctl:ARCH_SET_FS"},
		{"madvise:MADV_DONTNEED", "madvise:MADV_DONTNEED"},
		{"mmap:anon+private", "mmap:anon+private"},
		{"mmap:file+shared+fixed", "mmap:file+shared+fixed"},
		{"mmap:anon+private+fixed_noreplace", "mmap:anon+private+fixed_noreplace"},
		{"mprotect:read+write", "mprotect:read+write"},
		{"mprotect:none", "mprotect:none"},
		{"futex:FUTEX_WAIT", "futex:FUTEX_WAIT"},
		{"clone:thread", "clone:thread"},
		{"clone3:process", "clone3:process"},
		{"socket:AF_INET+SOCK_STREAM", "socket:AF_INET+SOCK_STREAM"},
		{"setsockopt:SOL_SOCKET+SO_REUSEADDR", "setsockopt:SOL_SOCKET+SO_REUSEADDR"},
		{"getsockopt:SOL_TCP+TCP_INFO", "getsockopt:SOL_TCP+TCP_INFO"},
		{"prlimit64:RLIMIT_NOFILE", "prlimit64:RLIMIT_NOFILE"},
		{"rt_sigaction:SIGINT", "rt_sigaction:SIGINT"},
		// Aliases from the headers become the canonical name.
		{"ioctl:TIOCINQ", "ioctl:FIONREAD"},
		{"ioctl:SIOCINQ", "ioctl:FIONREAD"},
		{"ioctl:BTRFS_IOC_CLONE", "ioctl:FICLONE"},
		{"ioctl:SIOCGSTAMP_OLD", "ioctl:SIOCGSTAMP"},
		{"rt_sigaction:SIGPOLL", "rt_sigaction:SIGIO"},
		{"rt_sigaction:SIGCLD", "rt_sigaction:SIGCHLD"},
		{"rt_sigaction:SIGIOT", "rt_sigaction:SIGABRT"},
		{"fcntl:F_GETLK64", "fcntl:F_GETLK"},
		{"getrlimit:RLIMIT_OFILE", "getrlimit:RLIMIT_NOFILE"},
		{"socket:AF_LOCAL+SOCK_STREAM", "socket:AF_UNIX+SOCK_STREAM"},
		{"socket:AF_ROUTE+SOCK_RAW", "socket:AF_NETLINK+SOCK_RAW"},
		{"setsockopt:IPPROTO_TCP+TCP_NODELAY", "setsockopt:SOL_TCP+TCP_NODELAY"},
		{"setsockopt:IPPROTO_IPV6+IPV6_JOIN_GROUP", "setsockopt:SOL_IPV6+IPV6_ADD_MEMBERSHIP"},
		{"setsockopt:SOL_SOCKET+SO_TIMESTAMP_OLD", "setsockopt:SOL_SOCKET+SO_TIMESTAMP"},
		{"setsockopt:SOL_SOCKET+SO_GET_FILTER", "setsockopt:SOL_SOCKET+SO_ATTACH_FILTER"},
		// Numbers, decimal or hex, become names where there are some.
		{"ioctl:0x5401", "ioctl:TCGETS"},
		{"ioctl:21505", "ioctl:TCGETS"},
		{"ioctl:0x5499", "ioctl:0x5499"},
		{"ioctl:0x80045430", "ioctl:TIOCGPTN"},
		{"ioctl:-2147199952", "ioctl:TIOCGPTN"},
		{"prctl:77", "prctl:77"},
		{"prctl:0x4d", "prctl:77"},
		{"prctl:8", "prctl:PR_SET_KEEPCAPS"},
		{"fcntl:-1", "fcntl:-1"},
		{"fcntl:4294967295", "fcntl:-1"},
		{"arch_prctl:4098", "arch_prctl:ARCH_SET_FS"},
		{"futex:0", "futex:FUTEX_WAIT"},
		{"rt_sigaction:34", "rt_sigaction:34"},
		{"socket:2+1", "socket:AF_INET+SOCK_STREAM"},
		{"socket:99+SOCK_STREAM", "socket:99+SOCK_STREAM"},
		{"setsockopt:999+5", "setsockopt:999+5"},
		{"setsockopt:1+2", "setsockopt:SOL_SOCKET+SO_REUSEADDR"},
		{"setsockopt:SOL_PACKET+1", "setsockopt:SOL_PACKET+1"},
		{"mmap:anon+type2", "mmap:anon+private"},
		{"mmap:file+type15", "mmap:file+type15"},
		// Bits in any order.
		{"mprotect:write+read", "mprotect:read+write"},
		{"mprotect:exec+read+0x10", "mprotect:read+exec+0x10"},
		{"mprotect:0x3", "mprotect:read+write"},
	}
	for _, tt := range tests {
		n, got, err := d.ParseKey(tt.key)
		if err != nil || got != tt.want {
			t.Errorf("ParseKey(%q) = %q, %v; want %q", tt.key, got, err, tt.want)
			continue
		}
		wantNr := nr(t, strings.SplitN(tt.want, ":", 2)[0])
		if n != wantNr {
			t.Errorf("ParseKey(%q) nr = %d, want %d", tt.key, n, wantNr)
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	d := amd64(t)
	tests := []struct {
		key  string
		want string // substring of the error
	}{
		{"ioctl", "want <syscall>:<value>"},
		{":TCGETS", "want <syscall>:<value>"},
		{"ioctl:", "empty value"},
		{"iocl:TCGETS", `did you mean "ioctl"`},
		{"read:0", "syscall read has no sub-features"},
		{"zzzzzzzzzzzz:1", "unknown amd64 syscall"},
		{"ioctl:TCGEST", `did you mean "TCGETS"`},
		{"ioctl:tcgets", `did you mean "TCGETS"`},
		{"ioctl:0x", "unknown request"},
		{"ioctl:0x1ffffffff", "outside the decoded field"},
		{"fcntl:1e3", "unknown command"},
		{"fcntl:F_SETFD+F_SETFL", "unexpected"},
		{"prctl:PR_UNALIGN_NOPRINT", "unknown option"},
		{"futex:FUTEX_WAIT_PRIVATE", "the feature is futex:FUTEX_WAIT"},
		{"futex:FUTEX_WAKE_PRIVATE", "the feature is futex:FUTEX_WAKE"},
		{"futex:128", "outside the decoded field"},
		{"rt_sigaction:SIGRTMIN", "unknown signal"},
		{"socket:AF_INET", "missing type"},
		{"socket:AF_INET+SOCK_CLOEXEC", "unknown type"},
		{"socket:AF_INET+16", "outside the decoded field"},
		{"setsockopt:SOL_SOCKET", "missing option"},
		{"setsockopt:SOL_PACKET+PACKET_ADD_MEMBERSHIP", "no named options"},
		{"setsockopt:SOL_TCP+SO_REUSEADDR", "unknown option"},
		{"mmap:anon", "missing sharing"},
		{"mmap:private+anon", "mmap:(file|anon)+(shared|private|shared_validate|type<n>)[+(fixed|fixed_noreplace)]"},
		{"mmap:anon+private+fixed+fixed", "unexpected"},
		{"mmap:anon+private+huge", "unexpected"},
		{"mmap:anon+type16", "sharing is"},
		{"mmap:anon+type01", "sharing is"},
		{"mprotect:none+read", "combined"},
		{"mprotect:rwx", "unknown protection"},
		{"mprotect:", "empty value"},
		{"clone:fork", "want one of process, thread"},
		{"clone3:thread+process", "unexpected"},
	}
	for _, tt := range tests {
		_, got, err := d.ParseKey(tt.key)
		if err == nil {
			t.Errorf("ParseKey(%q) = %q, nil; want an error containing %q", tt.key, got, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseKey(%q) error %q does not contain %q", tt.key, err, tt.want)
		}
		if !strings.Contains(err.Error(), tt.key) {
			t.Errorf("ParseKey(%q) error %q does not name the key", tt.key, err)
		}
	}
}

// TestDecodeParseFixpoint: for arbitrary registers, what Decode returns is a
// canonical key, and ParseKey maps it to the same syscall. This is the
// property rule matching relies on.
func TestDecodeParseFixpoint(t *testing.T) {
	d := amd64(t)
	r := rand.New(rand.NewPCG(1, 2))
	interesting := []uint64{0, 1, 2, 3, 0x22, 0x80, 0x180, 0xf, 0x10, 0x100000, 0x5401, 0x80045430, 0xffffffff, minus1, 1 << 31, 1 << 32}
	for _, n := range d.Syscalls() {
		for i := 0; i < 3000; i++ {
			var args [6]uint64
			for j := range args {
				switch r.IntN(3) {
				case 0:
					args[j] = interesting[r.IntN(len(interesting))]
				case 1:
					args[j] = r.Uint64N(300)
				default:
					args[j] = r.Uint64()
				}
			}
			flags := r.Uint64()
			k, ok := d.Decode(n, args, func(addr uint64, buf []byte) error {
				for i := range buf {
					buf[i] = byte(flags >> (8 * (i % 8)))
				}
				return nil
			})
			if !ok {
				continue
			}
			gotNr, canon, err := d.ParseKey(k)
			if err != nil || canon != k || gotNr != n {
				t.Fatalf("Decode(%d, %#x) = %q, but ParseKey = %d, %q, %v", n, args, k, gotNr, canon, err)
			}
		}
	}
}

// A long garbage key is rejected quickly (no suggestion search).
func TestParseKeyLongInput(t *testing.T) {
	d := amd64(t)
	key := "ioctl:" + strings.Repeat("X", 100000)
	if _, _, err := d.ParseKey(key); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Fatalf("ParseKey(long) error = %v", err)
	}
}
