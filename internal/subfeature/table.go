package subfeature

// table is the one place that says, per syscall, which arguments define its
// sub-feature and how they are decoded. doc/subfeatures.md shows it as a
// table (TestDocTable keeps the two in step).
//
// A key is "<syscall>:<part>[+<part>...]", one part per field, in this
// order; a part that renders as "" (mmap without MAP_FIXED*) is omitted.
var table = []specDef{
	{Syscall: "ioctl", Fields: []fieldDef{{Arg: 1, Label: "request", NS: "ioctl", Hex: true}}},
	{Syscall: "fcntl", Fields: []fieldDef{{Arg: 1, Label: "command", NS: "fcntl"}}},
	{Syscall: "prctl", Fields: []fieldDef{{Arg: 0, Label: "option", NS: "prctl"}}},
	{Syscall: "arch_prctl", Fields: []fieldDef{{Arg: 0, Label: "code", NS: "arch_prctl", Hex: true}}},
	{Syscall: "madvise", Fields: []fieldDef{{Arg: 2, Label: "advice", NS: "madvise"}}},
	{Syscall: "prlimit64", Fields: []fieldDef{{Arg: 1, Label: "resource", NS: "rlimit"}}},
	{Syscall: "getrlimit", Fields: []fieldDef{{Arg: 0, Label: "resource", NS: "rlimit"}}},
	{Syscall: "setrlimit", Fields: []fieldDef{{Arg: 0, Label: "resource", NS: "rlimit"}}},
	{Syscall: "rt_sigaction", Fields: []fieldDef{{Arg: 0, Label: "signal", NS: "signal"}}},
	// The kernel switches on op & FUTEX_CMD_MASK: FUTEX_PRIVATE_FLAG and
	// FUTEX_CLOCK_REALTIME select variants of the same operation.
	{Syscall: "futex", Fields: []fieldDef{{Arg: 1, Label: "operation", NS: "futex", Mask: []string{"FUTEX_CMD_MASK"}}}},
	// The type argument also carries SOCK_NONBLOCK and SOCK_CLOEXEC; the
	// kernel separates them with SOCK_TYPE_MASK.
	{Syscall: "socket", Fields: []fieldDef{
		{Arg: 0, Label: "family", NS: "family"},
		{Arg: 1, Label: "type", NS: "socktype", MaskLit: sockTypeMask},
	}},
	{Syscall: "setsockopt", Fields: []fieldDef{
		{Arg: 1, Label: "level", NS: "level"},
		{Arg: 2, Label: "option", NSByLevel: "sockopt."},
	}},
	{Syscall: "getsockopt", Fields: []fieldDef{
		{Arg: 1, Label: "level", NS: "level"},
		{Arg: 2, Label: "option", NSByLevel: "sockopt."},
	}},
	// Only these bits of the flags define the mapping; MAP_NORESERVE,
	// MAP_POPULATE, MAP_STACK and the others are ignored. The fd (arg4) is
	// not looked at: the kernel ignores it when MAP_ANONYMOUS is set.
	{Syscall: "mmap", Fields: []fieldDef{
		{Arg: 3, Label: "backing", Width64: true, Mask: []string{"MAP_ANONYMOUS"},
			Words: []word{{nil, "file"}, {[]string{"MAP_ANONYMOUS"}, "anon"}}},
		{Arg: 3, Label: "sharing", Width64: true, Mask: []string{"MAP_TYPE"}, Fallback: "type",
			Words: []word{
				{[]string{"MAP_SHARED"}, "shared"},
				{[]string{"MAP_PRIVATE"}, "private"},
				{[]string{"MAP_SHARED_VALIDATE"}, "shared_validate"},
			}},
		// With both bits the kernel applies MAP_FIXED_NOREPLACE.
		{Arg: 3, Label: "placement", Width64: true, Mask: []string{"MAP_FIXED", "MAP_FIXED_NOREPLACE"},
			Words: []word{
				{nil, ""},
				{[]string{"MAP_FIXED"}, "fixed"},
				{[]string{"MAP_FIXED_NOREPLACE"}, "fixed_noreplace"},
				{[]string{"MAP_FIXED", "MAP_FIXED_NOREPLACE"}, "fixed_noreplace"},
			}},
	}},
	{Syscall: "mprotect", Fields: []fieldDef{{Arg: 2, Label: "protection", Width64: true, Bits: "prot", None: "none"}}},
	{Syscall: "clone", Fields: []fieldDef{
		{Arg: 0, Label: "kind", Width64: true, Mask: []string{"CLONE_THREAD"},
			Words: []word{{nil, "process"}, {[]string{"CLONE_THREAD"}, "thread"}}},
	}},
	// clone3's flags are the first field (u64) of the struct clone_args that
	// arg0 points to; arg1 is its size, at least CLONE_ARGS_SIZE_VER0.
	{Syscall: "clone3", Fields: []fieldDef{
		{Arg: 0, Label: "kind", Width64: true, Mask: []string{"CLONE_THREAD"},
			Deref: &deref{SizeArg: 1, MinSize: "CLONE_ARGS_SIZE_VER0"},
			Words: []word{{nil, "process"}, {[]string{"CLONE_THREAD"}, "thread"}}},
	}},
}

// sockTypeMask is the kernel's SOCK_TYPE_MASK (include/linux/net.h). It is
// not in the UAPI headers; TestSockTypeMask checks that it separates the
// generated SOCK_* types from SOCK_NONBLOCK and SOCK_CLOEXEC.
const sockTypeMask = 0xf

// specDef is one row of the table.
type specDef struct {
	Syscall string
	Fields  []fieldDef
}

// fieldDef is one part of a key. Exactly one of NS, NSByLevel, Words and
// Bits says how the part is named.
type fieldDef struct {
	Arg   int    // argument index, 0..5
	Label string // what the part is, for errors and docs
	// Deref: the argument is a pointer to a struct whose first u64 is the
	// value (clone3).
	Deref *deref
	// The value is the argument masked by the OR of the Mask constants (or
	// MaskLit). Without a mask it is the low 32 bits (the kernel's int or
	// unsigned int), or all 64 with Width64.
	Mask    []string
	MaskLit uint64
	Width64 bool

	// NS: a name from that generated namespace, else a number (decimal of
	// the 32-bit signed value, or Hex).
	NS  string
	Hex bool
	// NSByLevel: like NS, with the namespace NSByLevel + the canonical name
	// of field 0's value (socket option names depend on the level).
	NSByLevel string
	// Words: a fixed word per value; values without one are Fallback +
	// decimal. A word "" means the part is omitted.
	Words    []word
	Fallback string
	// Bits: the set bits, each named by lowercasing its name from that
	// namespace without its prefix, joined by "+", in bit order; unknown
	// bits as one hex number at the end; None when no bit is set.
	Bits string
	None string
}

type word struct {
	Consts []string // the value is the OR of these constants
	Word   string
}

type deref struct {
	SizeArg int    // argument holding the struct's size
	MinSize string // constant: smaller sizes are rejected by the kernel
}

// archValues is what mkvalues.go extracts from one architecture's headers.
type archValues struct {
	arch string
	// consts are the constants the table refers to (MAP_ANONYMOUS, ...).
	consts map[string]uint64
	// namespaces maps a namespace ("ioctl", "sockopt.SOL_SOCKET", ...) to
	// its names, sorted by value, the canonical name of a value first.
	namespaces map[string][]name
}

// name is one macro of a namespace: its value as an unsigned 64-bit number,
// and AliasOf, "" for the canonical name of its value, else that name.
type name struct {
	Value   uint64
	Name    string
	AliasOf string
}
