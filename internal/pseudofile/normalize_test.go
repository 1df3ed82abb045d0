package pseudofile

import (
	"strings"
	"testing"
)

// The caller in these cases is thread 1001 of process 1000.
const (
	callerPID = 1000
	callerTID = 1001
)

var normalizeCases = []struct {
	in, want string
}{
	// The caller's own process.
	{"/proc/self/status", "/proc/self/status"},
	{"/proc/1000/status", "/proc/self/status"},
	{"/proc/1000", "/proc/self"},
	{"/proc/self", "/proc/self"},
	{"/proc/1000/maps", "/proc/self/maps"},
	{"/proc/1000/ns/net", "/proc/self/ns/net"},
	// Other processes.
	{"/proc/1/status", "/proc/[pid]/status"},
	{"/proc/4194304/cmdline", "/proc/[pid]/cmdline"},
	{"/proc/999", "/proc/[pid]"},
	{"/proc/2147483647/stat", "/proc/[pid]/stat"},
	// Not pids: the kernel rejects leading zeros, 0 and overflows.
	{"/proc/01/status", "/proc/01/status"},
	{"/proc/0/status", "/proc/0/status"},
	{"/proc/2147483648/stat", "/proc/2147483648/stat"},
	{"/proc/99999999999/stat", "/proc/99999999999/stat"},
	{"/proc/-1/stat", "/proc/-1/stat"},
	{"/proc/+5/stat", "/proc/+5/stat"},
	// Threads.
	{"/proc/self/task/1001/comm", "/proc/self/task/[tid]/comm"},
	{"/proc/self/task/1002/stat", "/proc/self/task/[tid]/stat"},
	{"/proc/1000/task/1001/stat", "/proc/self/task/[tid]/stat"},
	{"/proc/77/task/78/status", "/proc/[pid]/task/[tid]/status"},
	{"/proc/self/task", "/proc/self/task"},
	{"/proc/self/task/abc", "/proc/self/task/abc"},
	{"/proc/thread-self", "/proc/self/task/[tid]"},
	{"/proc/thread-self/comm", "/proc/self/task/[tid]/comm"},
	{"/proc/thread-self/fd/7", "/proc/self/task/[tid]/fd/[fd]"},
	// A non-leader thread naming its own /proc/<tid>.
	{"/proc/1001/stat", "/proc/self/task/[tid]/stat"},
	{"/proc/1001", "/proc/self/task/[tid]"},
	// File descriptors.
	{"/proc/self/fd/0", "/proc/self/fd/[fd]"},
	{"/proc/self/fd/3", "/proc/self/fd/[fd]"},
	{"/proc/1000/fd/255", "/proc/self/fd/[fd]"},
	{"/proc/42/fd/3", "/proc/[pid]/fd/[fd]"},
	{"/proc/self/fdinfo/5", "/proc/self/fdinfo/[fd]"},
	{"/proc/self/task/1001/fd/1", "/proc/self/task/[tid]/fd/[fd]"},
	{"/proc/self/fd", "/proc/self/fd"},
	{"/proc/self/fd/007", "/proc/self/fd/007"},
	{"/proc/self/fd/x", "/proc/self/fd/x"},
	// Magic links are cut: what follows them is the real file system.
	{"/proc/self/fd/3/sub/file", "/proc/self/fd/[fd]"},
	{"/proc/self/root/etc/passwd", "/proc/self/root"},
	{"/proc/1/root/etc/os-release", "/proc/[pid]/root"},
	{"/proc/self/cwd/Makefile", "/proc/self/cwd"},
	{"/proc/self/exe", "/proc/self/exe"},
	{"/proc/self/map_files/7f0000000000-7f0000001000", "/proc/self/map_files/[range]"},
	{"/proc/self/map_files/55d1c0e4b000-55d1c0e4c000/x", "/proc/self/map_files/[range]"},
	{"/proc/self/map_files/nothex-1", "/proc/self/map_files/nothex-1"},
	// Not process directories: left alone.
	{"/proc/sys/kernel/pid_max", "/proc/sys/kernel/pid_max"},
	{"/proc/sys/net/ipv4/ip_local_port_range", "/proc/sys/net/ipv4/ip_local_port_range"},
	{"/proc/irq/5/smp_affinity", "/proc/irq/5/smp_affinity"},
	{"/proc/net/tcp", "/proc/net/tcp"},
	{"/proc/mounts", "/proc/mounts"},
	{"/proc/meminfo", "/proc/meminfo"},
	{"/proc/sys/fs/binfmt_misc/status", "/proc/sys/fs/binfmt_misc/status"},
	{"/proc", "/proc"},
	// Cleaning.
	{"/proc/self/../self/status", "/proc/self/status"},
	{"//proc//self///status", "/proc/self/status"},
	{"/proc/./self/./status/", "/proc/self/status"},
	{"/proc/1000/task/../status", "/proc/self/status"},
	{"/sys/../proc/1000/stat", "/proc/self/stat"},
	{"/proc/..", "/"},
	{"/../../proc/self/stat", "/proc/self/stat"},
	// /dev.
	{"/dev/pts/0", "/dev/pts/[n]"},
	{"/dev/pts/17", "/dev/pts/[n]"},
	{"/dev/pts/ptmx", "/dev/pts/ptmx"},
	{"/dev/pts", "/dev/pts"},
	{"/dev/ptmx", "/dev/ptmx"},
	{"/dev/fd/3", "/dev/fd/[fd]"},
	{"/dev/fd/3/x", "/dev/fd/[fd]"},
	{"/dev/fd", "/dev/fd"},
	{"/dev/stdin", "/dev/stdin"},
	{"/dev/null", "/dev/null"},
	{"/dev/urandom", "/dev/urandom"},
	{"/dev/tty", "/dev/tty"},
	{"/dev/tty1", "/dev/tty1"},
	{"/dev/loop0", "/dev/loop0"},
	{"/dev/sda1", "/dev/sda1"},
	{"/dev/char/1:3", "/dev/char/1:3"},
	{"/dev/shm/sem.mysem", "/dev/shm/[name]"},
	{"/dev/shm/tmp.XXXXXX/file", "/dev/shm/[name]"},
	{"/dev/shm", "/dev/shm"},
	{"/dev/mqueue/queue1", "/dev/mqueue/[name]"},
	{"/dev/disk/by-path/pci-0000:00:1f.2-ata-1", "/dev/disk/by-path/pci-0000:00:1f.2-ata-1"},
	// /sys and other paths are only cleaned.
	{"/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"},
	{"/sys/fs/cgroup//cpu.max", "/sys/fs/cgroup/cpu.max"},
	{"/sys/class/net/eth0/address", "/sys/class/net/eth0/address"},
	{"/etc/passwd", "/etc/passwd"},
	{"/procfs/1000/x", "/procfs/1000/x"},
	{"/devices/pts/1", "/devices/pts/1"},
	{"/", "/"},
	// Relative paths are only cleaned; the tracer joins them first.
	{"self/status", "self/status"},
	{"./a/../b", "b"},
	{"", ""},
	// Placeholders are accepted: Normalize is idempotent.
	{"/proc/[pid]/status", "/proc/[pid]/status"},
	{"/proc/[pid]/fd/3", "/proc/[pid]/fd/[fd]"},
	{"/proc/self/task/[tid]/fd/[fd]", "/proc/self/task/[tid]/fd/[fd]"},
	{"/proc/[pid]/task/[tid]/stat", "/proc/[pid]/task/[tid]/stat"},
	{"/proc/self/map_files/[range]", "/proc/self/map_files/[range]"},
	{"/dev/pts/[n]", "/dev/pts/[n]"},
	{"/dev/fd/[fd]", "/dev/fd/[fd]"},
	{"/dev/shm/[name]", "/dev/shm/[name]"},
}

func TestNormalize(t *testing.T) {
	for _, tt := range normalizeCases {
		got := Normalize(tt.in, callerPID, callerTID)
		if got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := Normalize(got, callerPID, callerTID); again != got {
			t.Errorf("Normalize not idempotent: %q -> %q -> %q", tt.in, got, again)
		}
	}
}

// A caller whose pid is not the one in the path sees another process.
func TestNormalizeDependsOnCaller(t *testing.T) {
	for _, tt := range []struct {
		pid, tid int
		want     string
	}{
		{1000, 1000, "/proc/self/stat"},
		{1000, 1005, "/proc/self/stat"},
		{2000, 2000, "/proc/[pid]/stat"},
		{2000, 1000, "/proc/self/task/[tid]/stat"},
		{0, 0, "/proc/[pid]/stat"},
		{-1, -1, "/proc/[pid]/stat"},
	} {
		if got := Normalize("/proc/1000/stat", tt.pid, tt.tid); got != tt.want {
			t.Errorf("Normalize(/proc/1000/stat, pid %d, tid %d) = %q, want %q", tt.pid, tt.tid, got, tt.want)
		}
	}
}

func TestIsPseudo(t *testing.T) {
	for _, tt := range []struct {
		p    string
		want bool
	}{
		{"/proc", true}, {"/proc/self/status", true}, {"/sys", true}, {"/sys/kernel/mm/transparent_hugepage/enabled", true},
		{"/dev", true}, {"/dev/urandom", true}, {"/dev/shm/[name]", true},
		{"/procfs", false}, {"/system", false}, {"/devices", false}, {"/", false}, {"", false},
		{"/etc/passwd", false}, {"proc/self/status", false}, {"/tmp/proc", false},
		{"/proc/../etc/passwd", false}, {"/etc/../dev/null", true}, {"//dev//null", true},
	} {
		if got := IsPseudo(tt.p); got != tt.want {
			t.Errorf("IsPseudo(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestUnder(t *testing.T) {
	for _, tt := range []struct {
		key, p string
		want   bool
	}{
		{"/proc/self", "/proc/self", true},
		{"/proc/self", "/proc/self/status", true},
		{"/proc/self", "/proc/selfish", false},
		{"/proc/self/status", "/proc/self", false},
		{"/dev/pts/[n]", "/dev/pts/[n]", true},
		{"/sys", "/sys/kernel", true},
	} {
		if got := Under(tt.key, tt.p); got != tt.want {
			t.Errorf("Under(%q, %q) = %v, want %v", tt.key, tt.p, got, tt.want)
		}
	}
}

func TestJoin(t *testing.T) {
	for _, tt := range []struct{ dir, p, want string }{
		{"/proc/1000", "status", "/proc/self/status"},
		{"/proc", "self/fd/3", "/proc/self/fd/[fd]"},
		{"/home/u", "/proc/self/maps", "/proc/self/maps"},
		{"/sys/class/net", "../block", "/sys/class/block"},
		{"", "status", "status"},
	} {
		if got := Normalize(Join(tt.dir, tt.p), callerPID, callerTID); got != tt.want {
			t.Errorf("Normalize(Join(%q, %q)) = %q, want %q", tt.dir, tt.p, got, tt.want)
		}
	}
}

func TestCheckKey(t *testing.T) {
	for _, ok := range []string{"/proc/self/status", "/proc/[pid]/stat", "/dev/urandom", "/dev/pts/[n]",
		"/sys/fs/cgroup/cpu.max", "/proc/self/task/[tid]/comm", "/proc", "/dev/shm/[name]"} {
		if err := CheckKey(ok); err != nil {
			t.Errorf("CheckKey(%q) = %v", ok, err)
		}
	}
	for _, tt := range []struct{ key, want string }{
		{"", "empty"},
		{"proc/self/status", "absolute"},
		{"/proc//self/status", `did you mean "/proc/self/status"`},
		{"/etc/passwd", "not under /proc, /sys or /dev"},
		{"/proc/1234/status", `did you mean "/proc/[pid]/status"`},
		{"/proc/self/fd/3", `did you mean "/proc/self/fd/[fd]"`},
		{"/proc/thread-self/comm", `did you mean "/proc/self/task/[tid]/comm"`},
		{"/dev/pts/3", `did you mean "/dev/pts/[n]"`},
	} {
		err := CheckKey(tt.key)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckKey(%q) = %v, want an error containing %q", tt.key, err, tt.want)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Normalize("/proc/1000/task/1001/fd/3", callerPID, callerTID)
	}
}

func BenchmarkNormalizeNotPseudo(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Normalize("/usr/lib/x86_64-linux-gnu/libc.so.6", callerPID, callerTID)
	}
}
