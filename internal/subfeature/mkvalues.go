//go:build ignore

// mkvalues generates zvalues_<arch>.go: the names of the values that define
// sub-features (ioctl requests, fcntl commands, signals, socket options, ...)
// and the few constants the decoders need, taken from the kernel's and
// libc's headers, never typed in by hand.
//
//	go run mkvalues.go -arch amd64 -out zvalues_amd64.go
//
// How, for each translation unit (TU) below:
//  1. `cc -E -dD` on the TU lists every macro with the header that defines
//     it and its definition text, in include order.
//  2. Each namespace picks its candidate macros by header, name pattern and,
//     for ioctl requests, by whether the definition expands to _IOC(...).
//  3. A C program asserts that each candidate is an integer constant
//     expression (_Static_assert on _Generic, static initialiser) and prints
//     its value. Candidates that do not compile (strings, function calls,
//     macros referring to kernel-only symbols) are dropped and reported.
//  4. When several names share a value, one is canonical and the others are
//     recorded as aliases (accepted when parsing rule keys), by these rules,
//     in order: the namespace's explicit prefer list; a name N beats N_OLD
//     and N_NEW (time64 ABI renames); a name not defined as another candidate
//     of the same value beats one that is (an alias); the earlier source of
//     the namespace; the earlier definition in include order.
//
// This file is over 600 lines on purpose: go generate runs it alone (go run
// mkvalues.go), as a program of its own, and its tables of translation units
// and namespaces read best beside the algorithm that uses them.
//
// It must run on the architecture it generates for (the program is executed).
// To add arm64, run it on an arm64 host with -arch arm64, or pass -cc with a
// cross compiler and -exec with an emulator (e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu").
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// inc is a header a TU includes; arch limits it to one GOARCH.
type inc struct{ header, arch string }

type tu struct {
	name     string
	includes []inc
}

// source selects candidate macros from one TU.
type source struct {
	tu      string
	files   []string // headers (relative to the include dir) that must define the macro; nil: any
	re      string   // name pattern
	exclude string   // names to drop (families of values that are not this namespace's)
	ioc     bool     // only macros whose definition expands to _IOC(...)
	min     uint64   // drop smaller values (old-style ioctl numbers are >= 0x100)
}

type namespace struct {
	name    string
	arch    string // "" for all
	sources []source
	prefer  []string // canonical names to prefer when several share a value
}

type constant struct{ tu, name, arch string }

var tus = []tu{
	// ioctl requests. Several of these headers include libc's, so they
	// cannot share a TU with asm/signal.h.
	{name: "ioctl", includes: []inc{
		// Order matters: for ioctl requests defined by _IOC, the earlier
		// header wins a tie, so generic headers come first. The first four
		// only define structs that some requests' sizes need.
		{header: "asm/termbits.h"}, {header: "linux/serial.h"}, {header: "linux/fiemap.h"},
		{header: "linux/blktrace_api.h"},
		{header: "asm/ioctls.h"}, {header: "linux/sockios.h"},
		{header: "linux/fs.h"}, {header: "linux/blkpg.h"}, {header: "linux/blkzoned.h"},
		{header: "linux/random.h"}, {header: "linux/loop.h"}, {header: "linux/nsfs.h"},
		{header: "linux/seccomp.h"}, {header: "linux/userfaultfd.h"}, {header: "linux/perf_event.h"},
		{header: "linux/if_tun.h"}, {header: "linux/vt.h"}, {header: "linux/kd.h"},
		{header: "linux/hdreg.h"}, {header: "linux/cdrom.h"}, {header: "linux/fd.h"},
		{header: "linux/rtc.h"}, {header: "linux/watchdog.h"}, {header: "linux/fb.h"},
		{header: "linux/input.h"}, {header: "linux/uinput.h"}, {header: "linux/hidraw.h"},
		{header: "linux/joystick.h"}, {header: "sound/asound.h"}, {header: "linux/videodev2.h"},
		{header: "linux/usbdevice_fs.h"}, {header: "linux/kvm.h"}, {header: "linux/vfio.h"},
		{header: "linux/vhost.h"}, {header: "linux/btrfs.h"}, {header: "linux/dma-buf.h"},
		{header: "linux/sync_file.h"}, {header: "linux/ptp_clock.h"}, {header: "linux/gpio.h"},
		{header: "linux/spi/spidev.h"}, {header: "linux/fsverity.h"}, {header: "linux/auto_fs.h"},
		{header: "linux/auto_dev-ioctl.h"}, {header: "linux/mtio.h"}, {header: "linux/wireless.h"},
		{header: "linux/ppp-ioctl.h"}, {header: "linux/fuse.h"}, {header: "linux/nbd.h"},
		{header: "linux/dm-ioctl.h"},
	}},
	{name: "kernel", includes: []inc{
		{header: "asm/socket.h"}, {header: "linux/fcntl.h"}, {header: "linux/prctl.h"}, {header: "asm/prctl.h", arch: "amd64"},
		{header: "linux/mman.h"}, {header: "asm/signal.h"}, {header: "asm/resource.h"},
		{header: "linux/futex.h"}, {header: "linux/sched.h"},
		{header: "linux/in.h"}, {header: "linux/in6.h"}, {header: "linux/tcp.h"}, {header: "linux/udp.h"},
	}},
	// libc names socket families and types and levels, which the kernel's
	// UAPI does not export, and provides aliases programs use (SIGCLD,
	// F_GETLK64, IPV6_JOIN_GROUP, ...). It cannot share a TU with the
	// kernel's linux/in.h or linux/fcntl.h (duplicate struct definitions).
	{name: "libc", includes: []inc{
		{header: "sys/socket.h"}, {header: "netinet/in.h"}, {header: "netinet/tcp.h"},
		{header: "netinet/udp.h"}, {header: "fcntl.h"}, {header: "signal.h"}, {header: "sys/resource.h"},
	}},
}

var namespaces = []namespace{
	// KVM_GET_ONE_REG is generic; KVM_ARM_SET_DEVICE_ADDR, defined first
	// with the same number, is arm's.
	{name: "ioctl", prefer: []string{"KVM_GET_ONE_REG"}, sources: []source{
		// Old-style requests are plain numbers; their headers also define
		// small values that are not requests (TIOCPKT_*, VT_AUTO, ...),
		// hence the minimum.
		{tu: "ioctl", files: []string{"asm-generic/ioctls.h"}, re: `^(TC|TIO|FIO)`, min: 0x100},
		{tu: "ioctl", files: []string{"asm-generic/sockios.h", "linux/sockios.h", "linux/wireless.h"},
			re: `^(SIOC|SIOG|FIO)`, exclude: `^SIOCIW(FIRST|LAST)$`, min: 0x100},
		{tu: "ioctl", files: []string{"linux/loop.h"}, re: `^LOOP_`, min: 0x100},
		{tu: "ioctl", files: []string{"linux/vt.h"}, re: `^VT_`, min: 0x100},
		{tu: "ioctl", files: []string{"linux/kd.h"}, re: `^(KD[A-Z]|KIOC|GIO_|PIO_)`, min: 0x100},
		{tu: "ioctl", files: []string{"linux/hdreg.h"}, re: `^HDIO_`, min: 0x100},
		{tu: "ioctl", files: []string{"linux/cdrom.h"}, re: `^CDROM`, min: 0x100},
		{tu: "ioctl", files: []string{"linux/fb.h"}, re: `^FBIO`, min: 0x100},
		// New-style requests: any macro of the ioctl TU built with _IOC.
		{tu: "ioctl", re: `^[A-Z]`, ioc: true},
	}},
	{name: "fcntl", sources: []source{
		{tu: "kernel", files: []string{"asm-generic/fcntl.h", "linux/fcntl.h"}, re: `^F_`,
			exclude: `^F_(SEAL_|OWNER_|RDLCK$|WRLCK$|UNLCK$|EXLCK$|SHLCK$|LINUX_SPECIFIC_BASE$)`},
		{tu: "libc", re: `^F_`, exclude: `^F_(SEAL_|OWNER_|RDLCK$|WRLCK$|UNLCK$|EXLCK$|SHLCK$|LINUX_SPECIFIC_BASE$|OK$|TLOCK$|TEST$|LOCK$|ULOCK$)`},
	}},
	{name: "prctl", sources: []source{
		// linux/prctl.h interleaves options with the values of their
		// arguments; these are the argument-value families.
		{tu: "kernel", files: []string{"linux/prctl.h"}, re: `^PR_`,
			exclude: `^PR_(UNALIGN_|FPEMU_|FP_EXC_|TIMING_|ENDIAN_|TSC_|MCE_KILL_(CLEAR|SET|LATE|EARLY|DEFAULT)$|` +
				`SET_MM_|SET_PTRACER_ANY$|FP_MODE_|CAP_AMBIENT_|SVE_SET_VL_ONEXEC$|SVE_VL_|SPEC_|PAC_AP|` +
				`TAGGED_ADDR_ENABLE$|MTE_|SYS_DISPATCH_|SCHED_CORE_|SME_SET_VL_ONEXEC$|SME_VL_|SET_VMA_|` +
				`MDWE_|SET_MEMORY_MERGE_|RISCV_)`},
	}},
	{name: "arch_prctl", arch: "amd64", sources: []source{
		{tu: "kernel", files: []string{"asm/prctl.h"}, re: `^ARCH_`, exclude: `^ARCH_SHSTK_(SHSTK|WRSS)$`},
	}},
	{name: "madvise", sources: []source{
		{tu: "kernel", files: []string{"asm-generic/mman-common.h", "asm/mman.h", "linux/mman.h"}, re: `^MADV_`},
	}},
	{name: "rlimit", sources: []source{
		{tu: "kernel", files: []string{"asm-generic/resource.h", "asm/resource.h"}, re: `^RLIMIT_`},
		{tu: "libc", re: `^RLIMIT_`, exclude: `^RLIMIT_NLIMITS$`},
	}},
	{name: "signal", sources: []source{
		// SIGRTMIN/SIGRTMAX are left out: the kernel's 32 is not libc's
		// SIGRTMIN (glibc reserves 32 and 33), so real-time signals stay
		// numeric.
		{tu: "kernel", files: []string{"asm/signal.h"}, re: `^SIG[A-Z0-9]+$`, exclude: `^SIG(RTMIN|RTMAX|STKSZ)$`},
		{tu: "libc", re: `^SIG[A-Z0-9]+$`, exclude: `^SIG(RTMIN|RTMAX|STKSZ)$`},
	}},
	{name: "futex", sources: []source{
		// The *_PRIVATE names are kept so that a rule naming one gets a
		// helpful error (the key ignores the flag); the decoder never
		// produces their values.
		{tu: "kernel", files: []string{"linux/futex.h"}, re: `^FUTEX_`,
			exclude: `^FUTEX_(OP_|PRIVATE_FLAG$|CLOCK_REALTIME$|CMD_MASK$|32$|WAITV_MAX$|WAITERS$|OWNER_DIED$|TID_MASK$|BITSET_MATCH_ANY$)`},
	}},
	{name: "family", prefer: []string{"AF_UNIX"}, sources: []source{
		{tu: "libc", re: `^AF_`, exclude: `^AF_MAX$`},
	}},
	{name: "socktype", sources: []source{
		{tu: "libc", re: `^SOCK_`, exclude: `^SOCK_(CLOEXEC|NONBLOCK)$`},
	}},
	{name: "level", sources: []source{
		{tu: "libc", re: `^SOL_`},
		{tu: "libc", re: `^IPPROTO_`, exclude: `^IPPROTO_MAX$`},
	}},
	// Option names, per level ("sockopt." + the level's canonical name).
	// Other levels keep numeric option names.
	{name: "sockopt.SOL_SOCKET", sources: []source{
		{tu: "kernel", files: []string{"asm-generic/socket.h", "asm/socket.h"}, re: `^SO_`},
	}},
	{name: "sockopt.SOL_IP", sources: []source{
		{tu: "kernel", files: []string{"linux/in.h"}, re: `^(IP_|MCAST_)`,
			exclude: `^(IP_(PMTUDISC_|DEFAULT_MULTICAST_|MAX_MEMBERSHIPS$)|MCAST_(EXCLUDE|INCLUDE)$)`},
		{tu: "libc", re: `^IP_`, exclude: `^IP_(PMTUDISC_|DEFAULT_MULTICAST_|MAX_MEMBERSHIPS$)`},
	}},
	{name: "sockopt.SOL_IPV6", sources: []source{
		{tu: "kernel", files: []string{"linux/in6.h"}, re: `^IPV6_`,
			exclude: `^IPV6_(FL_|FLOWINFO_(FLOWLABEL|PRIORITY)$|PRIORITY_|TLV_|PMTUDISC_|PREFER_SRC_|RTHDR_)`},
		{tu: "kernel", files: []string{"linux/in.h"}, re: `^MCAST_`, exclude: `^MCAST_(EXCLUDE|INCLUDE)$`},
		{tu: "libc", re: `^IPV6_`, exclude: `^IPV6_(PMTUDISC_|RTHDR_)`},
	}},
	{name: "sockopt.SOL_TCP", sources: []source{
		{tu: "kernel", files: []string{"linux/tcp.h"}, re: `^TCP_`,
			exclude: `^TCP_(MSS_DEFAULT|MSS_DESIRED|REPAIR_(ON|OFF|OFF_NO_WP)|MD5SIG_MAXKEYLEN|MD5SIG_FLAG_|RECEIVE_ZEROCOPY_FLAG_)`},
		{tu: "libc", files: []string{"netinet/tcp.h"}, re: `^TCP_`,
			exclude: `^TCP_(MSS|MAXWIN|MAX_WINSHIFT|MSS_DEFAULT|MSS_DESIRED|REPAIR_(ON|OFF|OFF_NO_WP)|MD5SIG_MAXKEYLEN|MD5SIG_FLAG_|COOKIE_|S_DATA_)`},
	}},
	{name: "sockopt.SOL_UDP", sources: []source{
		{tu: "kernel", files: []string{"linux/udp.h"}, re: `^UDP_`, exclude: `^UDP_ENCAP_`},
	}},
	// mprotect's bits; the decoder lowercases the name after PROT_.
	{name: "prot", sources: []source{
		{tu: "kernel", files: []string{"asm-generic/mman-common.h", "asm/mman.h"}, re: `^PROT_`, exclude: `^PROT_NONE$`},
	}},
}

// The constants the decoders are built from.
var constants = []constant{
	{tu: "kernel", name: "MAP_TYPE"}, {tu: "kernel", name: "MAP_SHARED"}, {tu: "kernel", name: "MAP_PRIVATE"},
	{tu: "kernel", name: "MAP_SHARED_VALIDATE"}, {tu: "kernel", name: "MAP_ANONYMOUS"},
	{tu: "kernel", name: "MAP_FIXED"}, {tu: "kernel", name: "MAP_FIXED_NOREPLACE"},
	{tu: "kernel", name: "FUTEX_CMD_MASK"}, {tu: "kernel", name: "FUTEX_PRIVATE_FLAG"},
	{tu: "kernel", name: "FUTEX_CLOCK_REALTIME"},
	{tu: "kernel", name: "CLONE_THREAD"}, {tu: "kernel", name: "CLONE_ARGS_SIZE_VER0"},
	{tu: "libc", name: "SOCK_NONBLOCK"}, {tu: "libc", name: "SOCK_CLOEXEC"},
}

// def is one #define seen in a TU.
type def struct {
	name, file, body string
	funcLike         bool
	order            int
}

type tuData struct {
	defs   map[string]*def
	values map[string]uint64
	failed []string
}

var (
	archFlag = flag.String("arch", "", "GOARCH the values are for")
	outFlag  = flag.String("out", "", "output Go file")
	ccFlag   = flag.String("cc", "gcc", "C compiler for the target")
	execFlag = flag.String("exec", "", "command prefix to run target programs (emulator), if any")
	verbose  = flag.Bool("v", false, "report dropped candidates and ties")
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("mkvalues: ")
	flag.Parse()
	if *archFlag == "" || *outFlag == "" {
		log.Fatal("usage: mkvalues -arch ARCH -out FILE [-cc CC] [-exec PREFIX]")
	}
	tmp, err := os.MkdirTemp("", "mkvalues")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	multiarch := strings.TrimSpace(run(*ccFlag, "-print-multiarch"))

	data := map[string]*tuData{}
	for _, t := range tus {
		src := tuSource(t)
		defs := preprocess(tmp, t.name, src, multiarch)
		// Gather every name any namespace or constant wants from this TU.
		want := map[string]bool{}
		for _, ns := range namespaces {
			if ns.arch != "" && ns.arch != *archFlag {
				continue
			}
			for _, s := range ns.sources {
				if s.tu == t.name {
					for _, d := range candidates(s, defs) {
						want[d.name] = true
					}
				}
			}
		}
		for _, c := range constants {
			if c.tu == t.name && (c.arch == "" || c.arch == *archFlag) {
				if defs[c.name] == nil {
					log.Fatalf("constant %s is not defined by the %s headers", c.name, t.name)
				}
				want[c.name] = true
			}
		}
		values, failed := evaluate(tmp, t.name, src, sortedKeys(want), defs)
		data[t.name] = &tuData{defs: defs, values: values, failed: failed}
		if *verbose && len(failed) > 0 {
			log.Printf("%s: dropped (not integer constants here): %s", t.name, strings.Join(failed, " "))
		}
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by mkvalues.go -arch %s; DO NOT EDIT.\n", *archFlag)
	fmt.Fprintf(&b, "// Headers: %s.\n\n", headerVersions())
	fmt.Fprintf(&b, "package subfeature\n\n")
	fmt.Fprintf(&b, "var nativeValues = &archValues{\n\tarch: %q,\n", *archFlag)
	fmt.Fprintf(&b, "\tconsts: map[string]uint64{\n")
	for _, c := range constants {
		if c.arch != "" && c.arch != *archFlag {
			continue
		}
		v, ok := data[c.tu].values[c.name]
		if !ok {
			log.Fatalf("constant %s did not evaluate", c.name)
		}
		fmt.Fprintf(&b, "\t\t%q: %#x,\n", c.name, v)
	}
	fmt.Fprintf(&b, "\t},\n\tnamespaces: map[string][]name{\n")
	for _, ns := range namespaces {
		if ns.arch != "" && ns.arch != *archFlag {
			continue
		}
		names := resolve(ns, data)
		if len(names) == 0 {
			log.Fatalf("namespace %s: no names found", ns.name)
		}
		fmt.Fprintf(&b, "\t\t%q: {\n", ns.name)
		for _, n := range names {
			if n.aliasOf == "" {
				fmt.Fprintf(&b, "\t\t\t{%#x, %q, \"\"},\n", n.value, n.name)
			} else {
				fmt.Fprintf(&b, "\t\t\t{%#x, %q, %q},\n", n.value, n.name, n.aliasOf)
			}
		}
		fmt.Fprintf(&b, "\t\t},\n")
	}
	fmt.Fprintf(&b, "\t},\n}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatalf("format: %v", err)
	}
	if err := os.WriteFile(*outFlag, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

func tuSource(t tu) string {
	var b strings.Builder
	for _, i := range t.includes {
		if i.arch == "" || i.arch == *archFlag {
			fmt.Fprintf(&b, "#include <%s>\n", i.header)
		}
	}
	return b.String()
}

var (
	lineMarkRE = regexp.MustCompile(`^# [0-9]+ "([^"]*)"`)
	defineRE   = regexp.MustCompile(`^#define ([A-Za-z_][A-Za-z0-9_]*)(\()?(.*)$`)
	undefRE    = regexp.MustCompile(`^#undef ([A-Za-z_][A-Za-z0-9_]*)`)
)

// preprocess returns the macros defined by the TU's headers, with the
// header that defined each (relative to the include directory).
func preprocess(tmp, name, src, multiarch string) map[string]*def {
	f := filepath.Join(tmp, name+"-pp.c")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		log.Fatal(err)
	}
	out := run(*ccFlag, "-E", "-dD", f)
	defs := map[string]*def{}
	file := ""
	order := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if m := lineMarkRE.FindStringSubmatch(line); m != nil {
			file = relHeader(m[1], multiarch)
			continue
		}
		if m := undefRE.FindStringSubmatch(line); m != nil {
			delete(defs, m[1])
			continue
		}
		m := defineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := defs[m[1]]; dup {
			continue // an identical redefinition; the first one counts
		}
		order++
		defs[m[1]] = &def{name: m[1], file: file, body: strings.TrimSpace(m[3]), funcLike: m[2] != "", order: order}
	}
	return defs
}

func relHeader(path, multiarch string) string {
	for _, dir := range []string{"/usr/include/" + multiarch + "/", "/usr/local/include/", "/usr/include/"} {
		if s, ok := strings.CutPrefix(path, dir); ok {
			return s
		}
	}
	return path
}

func candidates(s source, defs map[string]*def) []*def {
	re := regexp.MustCompile(s.re)
	var ex *regexp.Regexp
	if s.exclude != "" {
		ex = regexp.MustCompile(s.exclude)
	}
	var out []*def
	for _, d := range defs {
		if d.funcLike || strings.HasPrefix(d.name, "_") || !re.MatchString(d.name) || (ex != nil && ex.MatchString(d.name)) {
			continue
		}
		if s.files != nil && !contains(s.files, d.file) {
			continue
		}
		if s.ioc && !usesIOC(d.name, defs, map[string]bool{}) {
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

var identRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// usesIOC reports whether the macro's expansion goes through _IOC, the
// kernel's encoding of new-style ioctl requests (directly or through
// wrappers such as _IOR or SECCOMP_IOWR).
func usesIOC(name string, defs map[string]*def, seen map[string]bool) bool {
	if name == "_IOC" {
		return true
	}
	if seen[name] {
		return false
	}
	seen[name] = true
	d := defs[name]
	if d == nil {
		return false
	}
	for _, id := range identRE.FindAllString(d.body, -1) {
		if usesIOC(id, defs, seen) {
			return true
		}
	}
	return false
}

var errLineRE = regexp.MustCompile(`eval\.c:([0-9]+):`)

// evaluate compiles and runs a program printing each name's value. Names
// that are not integer constant expressions are dropped and returned.
func evaluate(tmp, tuName, src string, names []string, defs map[string]*def) (map[string]uint64, []string) {
	dir := filepath.Join(tmp, tuName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	cfile, bin := filepath.Join(dir, "eval.c"), filepath.Join(dir, "eval")
	var failed []string
	for attempt := 0; ; attempt++ {
		if attempt > 50 {
			log.Fatalf("%s: still failing to compile after %d attempts", tuName, attempt)
		}
		var b strings.Builder
		b.WriteString(src)
		b.WriteString("int printf(const char *, ...);\n")
		b.WriteString("#define LOUPE_INT(x) _Generic((x), _Bool: 1, char: 1, signed char: 1, unsigned char: 1, short: 1, unsigned short: 1, int: 1, unsigned int: 1, long: 1, unsigned long: 1, long long: 1, unsigned long long: 1, default: 0)\n")
		first := strings.Count(b.String(), "\n") + 1
		for i, n := range names {
			fmt.Fprintf(&b, "_Static_assert(LOUPE_INT(%s), \"%s\"); static const unsigned long long loupe_v%d = (unsigned long long)(%s);\n", n, n, i, n)
		}
		b.WriteString("int main(void) {\n")
		for i, n := range names {
			fmt.Fprintf(&b, "\tprintf(\"%s %%llx\\n\", loupe_v%d);\n", n, i)
		}
		b.WriteString("\treturn 0;\n}\n")
		if err := os.WriteFile(cfile, []byte(b.String()), 0o644); err != nil {
			log.Fatal(err)
		}
		cmd := exec.Command(*ccFlag, "-std=gnu11", "-w", "-o", bin, cfile)
		msg, err := cmd.CombinedOutput()
		if err == nil {
			break
		}
		bad := map[int]bool{}
		for _, m := range errLineRE.FindAllStringSubmatch(string(msg), -1) {
			l, _ := strconv.Atoi(m[1])
			if i := l - first; i >= 0 && i < len(names) {
				bad[i] = true
			}
		}
		if len(bad) == 0 {
			log.Fatalf("%s: compiling the evaluation program failed outside the candidates:\n%s", tuName, msg)
		}
		var keep []string
		for i, n := range names {
			if bad[i] {
				failed = append(failed, n)
			} else {
				keep = append(keep, n)
			}
		}
		names = keep
	}
	var args []string
	if *execFlag != "" {
		args = append(strings.Fields(*execFlag), bin)
	} else {
		args = []string{bin}
	}
	out := run(args[0], args[1:]...)
	values := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			log.Fatalf("%s: bad output line %q", tuName, line)
		}
		v, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil {
			log.Fatalf("%s: bad value in %q", tuName, line)
		}
		values[f[0]] = v
	}
	sort.Strings(failed)
	return values, failed
}

type outName struct {
	value   uint64
	name    string
	aliasOf string
}

type cand struct {
	d      *def
	value  uint64
	source int
}

// resolve picks the names of one namespace and, for each value, the
// canonical one (see the rules in the package comment above).
func resolve(ns namespace, data map[string]*tuData) []outName {
	byName := map[string]*cand{}
	var all []*cand
	for si, s := range ns.sources {
		td := data[s.tu]
		for _, d := range candidates(s, td.defs) {
			v, ok := td.values[d.name]
			if !ok || v < s.min {
				continue
			}
			if prev, dup := byName[d.name]; dup {
				if prev.value != v && *verbose {
					log.Printf("%s: %s is %#x in source %d but %#x in source %d; keeping the first",
						ns.name, d.name, prev.value, prev.source, v, si)
				}
				continue
			}
			c := &cand{d: d, value: v, source: si}
			byName[d.name] = c
			all = append(all, c)
		}
	}
	groups := map[uint64][]*cand{}
	for _, c := range all {
		groups[c.value] = append(groups[c.value], c)
	}
	var out []outName
	for v, g := range groups {
		inGroup := map[string]bool{}
		for _, c := range g {
			inGroup[c.d.name] = true
		}
		rank := func(c *cand) [5]int {
			pref := len(ns.prefer)
			for i, p := range ns.prefer {
				if p == c.d.name {
					pref = i
				}
			}
			variant := 0
			for _, suf := range []string{"_OLD", "_NEW"} {
				if base, ok := strings.CutSuffix(c.d.name, suf); ok && inGroup[base] {
					variant = 1
				}
			}
			alias := 0
			if body := strings.Trim(c.d.body, "() "); identRE.FindString(body) == body && body != c.d.name && inGroup[body] {
				alias = 1
			}
			return [5]int{pref, variant, alias, c.source, c.d.order}
		}
		sort.Slice(g, func(i, j int) bool {
			ri, rj := rank(g[i]), rank(g[j])
			for k := range ri {
				if ri[k] != rj[k] {
					return ri[k] < rj[k]
				}
			}
			return g[i].d.name < g[j].d.name
		})
		out = append(out, outName{value: v, name: g[0].d.name})
		var aliases []string
		for _, c := range g[1:] {
			aliases = append(aliases, c.d.name)
		}
		sort.Strings(aliases)
		for _, a := range aliases {
			out = append(out, outName{value: v, name: a, aliasOf: g[0].d.name})
		}
		if *verbose && len(aliases) > 0 {
			log.Printf("%s: %#x is %s (aliases %s)", ns.name, v, g[0].d.name, strings.Join(aliases, " "))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].value < out[j].value })
	return out
}

func headerVersions() string {
	var parts []string
	for _, p := range []string{"linux-libc-dev", "libc6-dev"} {
		v, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", p+":"+debArch(*archFlag)).Output()
		if err != nil || len(v) == 0 {
			parts = append(parts, p+" (version unknown)")
			continue
		}
		parts = append(parts, p+" "+string(v))
	}
	return strings.Join(parts, ", ")
}

func debArch(goarch string) string {
	if goarch == "386" {
		return "i386"
	}
	return goarch
}

func run(name string, args ...string) string {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("%s %s: %v\n%s(is %s installed? the README's `make deps` installs gcc and the headers)",
			name, strings.Join(args, " "), err, stderr.String(), name)
	}
	return string(out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
