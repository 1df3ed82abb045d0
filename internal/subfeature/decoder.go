package subfeature

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync"

	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// MemReader reads len(buf) bytes of the tracee's memory at addr. The tracer
// supplies it (process_vm_readv or /proc/pid/mem); Decode calls it only for
// syscalls whose sub-feature lives in memory (clone3), at most once.
type MemReader func(addr uint64, buf []byte) error

// Decoder decodes the sub-features of one architecture's syscalls. It is
// immutable and safe for concurrent use.
type Decoder struct {
	arch    string
	sys     *sysent.Table
	specs   []*spec // indexed by syscall number; nil for most
	nrs     []int   // numbers with a spec, ascending
	byName  map[string]*spec
	maxName int
}

// spec is the runtime form of a table row.
type spec struct {
	nr      int
	syscall string
	fields  []*field
	slots   [2]slot // distinct arguments the fields read
	nslots  int
	keys    map[[2]uint64]string // every key made of known names, precomputed
	grammar string               // for error messages
}

type slot struct {
	arg   int
	mask  uint64 // OR of the masks of the fields in the slot
	deref *derefRT
}

type derefRT struct {
	sizeArg int
	minSize uint64
}

type field struct {
	label string
	slot  int
	mask  uint64
	width int // 32 or 64: how unknown numbers are printed and parsed

	ns      *namespaceIdx            // NS
	hex     bool                     // NS: unknown values in hex
	byLevel map[uint64]*namespaceIdx // NSByLevel, keyed by the level value
	level   int                      // NSByLevel: index of the level field

	words    map[uint64]string // Words
	wordVal  map[string]uint64
	fallback string

	bits []bitName // Bits, ascending
	none string
}

type bitName struct {
	bit  uint64
	word string
}

// namespaceIdx is a generated namespace, indexed both ways.
type namespaceIdx struct {
	name   string
	byVal  map[uint64]string // canonical names
	byName map[string]uint64 // canonical names and aliases (raw values)
	canon  map[string]string // alias -> canonical, for messages
	vals   []uint64          // canonical values, ascending
}

var native = sync.OnceValue(func() *Decoder {
	if nativeValues == nil {
		return nil
	}
	return build(nativeValues)
})

// For returns the decoder of a GOARCH, or nil if loupe has no generated
// values for it in this build. The values of an architecture are compiled
// only into binaries built for it (zvalues_<arch>.go, as in x/sys/unix), so
// For(runtime.GOARCH) is the normal call.
func For(goarch string) *Decoder {
	d := native()
	if d == nil || d.arch != goarch {
		return nil
	}
	return d
}

// Arch is the GOARCH the decoder is for.
func (d *Decoder) Arch() string { return d.arch }

// Has reports whether syscall nr has sub-features. It is a slice index.
func (d *Decoder) Has(nr int) bool {
	return uint(nr) < uint(len(d.specs)) && d.specs[nr] != nil
}

// Syscalls returns the numbers of the syscalls that have sub-features, in
// ascending order. The slice is the caller's.
func (d *Decoder) Syscalls() []int { return append([]int(nil), d.nrs...) }

// Slot is one argument register that a syscall's sub-feature is made of.
// The key Decode returns is a function of the values Args[Arg] & Mask of the
// syscall's slots, so calls with equal masked values have equal keys: a
// seccomp filter can compare those words to recognise a key it has seen.
// InMemory: the value is read through the pointer in the argument (clone3),
// which a filter cannot see.
type Slot struct {
	Arg      int
	Mask     uint64
	InMemory bool
}

// Slots returns the slots of syscall nr (one or two), nil for a syscall
// without sub-features. The slice is the caller's.
func (d *Decoder) Slots(nr int) []Slot {
	if !d.Has(nr) {
		return nil
	}
	s := d.specs[nr]
	out := make([]Slot, s.nslots)
	for i := range out {
		sl := s.slots[i]
		out[i] = Slot{Arg: sl.arg, Mask: sl.mask, InMemory: sl.deref != nil}
	}
	return out
}

// Decode returns the sub-feature key of a syscall stop, such as
// "ioctl:TCGETS" or "mmap:anon+private", and ok == false for syscalls without
// sub-features. Values without a name in the headers get a stable numeric
// form ("ioctl:0x5499", "prctl:77"); they are never dropped. ok is also false
// when the value lives in memory and cannot be read (clone3 with a nil mem,
// an unreadable pointer or a size the kernel rejects: the call fails
// without doing anything).
//
// It does not allocate for syscalls without sub-features, nor when the key
// is made only of known names (clone3 allocates its 8-byte read buffer,
// which escapes through the MemReader).
func (d *Decoder) Decode(nr int, args [6]uint64, mem MemReader) (key string, ok bool) {
	if uint(nr) >= uint(len(d.specs)) {
		return "", false
	}
	s := d.specs[nr]
	if s == nil {
		return "", false
	}
	var t [2]uint64
	for i := 0; i < s.nslots; i++ {
		sl := &s.slots[i]
		v := args[sl.arg]
		if sl.deref != nil {
			if mem == nil || args[sl.deref.sizeArg] < sl.deref.minSize {
				return "", false
			}
			var buf [8]byte
			if err := mem(v, buf[:]); err != nil {
				return "", false
			}
			v = binary.NativeEndian.Uint64(buf[:])
		}
		t[i] = v & sl.mask
	}
	if k, ok := s.keys[t]; ok {
		return k, true
	}
	return s.render(t), true
}

// KnownKeys returns every key of syscall nr made only of names from the
// headers, sorted; nil if nr has no sub-features.
func (d *Decoder) KnownKeys(nr int) []string {
	if !d.Has(nr) {
		return nil
	}
	s := d.specs[nr]
	out := make([]string, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// render builds the key of a tuple of masked argument values. It is the slow
// path (a value without a name), with one allocation: the string.
func (s *spec) render(t [2]uint64) string {
	var arr [96]byte
	b := append(arr[:0], s.syscall...)
	b = append(b, ':')
	n := len(b)
	for _, f := range s.fields {
		before := len(b)
		if len(b) > n {
			b = append(b, '+')
		}
		mark := len(b)
		b = f.appendPart(b, t[f.slot]&f.mask, s, t)
		if len(b) == mark { // an omitted part
			b = b[:before]
		}
	}
	return string(b)
}

func (f *field) appendPart(b []byte, v uint64, s *spec, t [2]uint64) []byte {
	switch {
	case f.ns != nil:
		if n, ok := f.ns.byVal[v]; ok {
			return append(b, n...)
		}
		return f.appendNumber(b, v)
	case f.byLevel != nil:
		lf := s.fields[f.level]
		if ns := f.byLevel[t[lf.slot]&lf.mask]; ns != nil {
			if n, ok := ns.byVal[v]; ok {
				return append(b, n...)
			}
		}
		return f.appendNumber(b, v)
	case f.words != nil:
		if w, ok := f.words[v]; ok {
			return append(b, w...)
		}
		return strconv.AppendUint(append(b, f.fallback...), v, 10)
	default: // bits
		if v == 0 {
			return append(b, f.none...)
		}
		start := len(b)
		for _, bn := range f.bits {
			if v&bn.bit != 0 {
				if len(b) > start {
					b = append(b, '+')
				}
				b = append(b, bn.word...)
				v &^= bn.bit
			}
		}
		if v != 0 {
			if len(b) > start {
				b = append(b, '+')
			}
			b = strconv.AppendUint(append(b, "0x"...), v, 16)
		}
		return b
	}
}

// appendNumber prints a value without a name: hex, or the decimal of what
// the kernel sees (a signed int for 32-bit fields).
func (f *field) appendNumber(b []byte, v uint64) []byte {
	if f.hex {
		return strconv.AppendUint(append(b, "0x"...), v, 16)
	}
	if f.width == 32 {
		return strconv.AppendInt(b, int64(int32(uint32(v))), 10)
	}
	return strconv.AppendUint(b, v, 10)
}

// number is appendNumber as a string, for messages.
func (f *field) number(v uint64) string { return string(f.appendNumber(nil, v)) }

// build turns the table and an architecture's generated values into a
// Decoder. Inconsistencies between the two are bugs and panic (the tests
// build every decoder).
func build(av *archValues) *Decoder {
	sys := sysent.ForArch(av.arch)
	if sys == nil {
		panic("subfeature: no syscall table for " + av.arch)
	}
	cst := func(name string) uint64 {
		v, ok := av.consts[name]
		if !ok {
			panic("subfeature: constant " + name + " not generated for " + av.arch)
		}
		return v
	}
	nsCache := map[string]*namespaceIdx{}
	nsFor := func(name string) *namespaceIdx {
		if ns, ok := nsCache[name]; ok {
			return ns
		}
		names, ok := av.namespaces[name]
		if !ok {
			return nil
		}
		ns := &namespaceIdx{name: name, byVal: map[uint64]string{}, byName: map[string]uint64{}, canon: map[string]string{}}
		for _, n := range names {
			ns.byName[n.Name] = n.Value
			if n.AliasOf != "" {
				ns.canon[n.Name] = n.AliasOf
				continue
			}
			ns.byVal[n.Value] = n.Name
			ns.vals = append(ns.vals, n.Value)
		}
		nsCache[name] = ns
		return ns
	}
	d := &Decoder{arch: av.arch, sys: sys, specs: make([]*spec, sys.Max()), byName: map[string]*spec{}}
	for _, sd := range table {
		nr, ok := sys.Number(sd.Syscall)
		if !ok || !sys.Known(nr) {
			continue // not on this architecture (arch_prctl on arm64)
		}
		s := &spec{nr: nr, syscall: sd.Syscall}
		var grammar strings.Builder
		gram := func(text string, optional bool) {
			switch {
			case optional:
				grammar.WriteString("[+" + text + "]")
			case grammar.Len() > 0:
				grammar.WriteString("+" + text)
			default:
				grammar.WriteString(text)
			}
		}
		for _, fd := range sd.Fields {
			f := &field{label: fd.Label, width: 32, mask: 0xffffffff}
			if fd.Width64 {
				f.width, f.mask = 64, ^uint64(0)
			}
			if len(fd.Mask) > 0 || fd.MaskLit != 0 {
				m := fd.MaskLit
				for _, c := range fd.Mask {
					m |= cst(c)
				}
				f.mask &= m
			}
			// The slot: one per distinct argument.
			f.slot = -1
			for i := 0; i < s.nslots; i++ {
				if s.slots[i].arg == fd.Arg && (s.slots[i].deref != nil) == (fd.Deref != nil) {
					f.slot = i
				}
			}
			if f.slot < 0 {
				if s.nslots == len(s.slots) {
					panic("subfeature: " + sd.Syscall + " reads more than two arguments")
				}
				f.slot = s.nslots
				s.slots[f.slot].arg = fd.Arg
				if fd.Deref != nil {
					s.slots[f.slot].deref = &derefRT{sizeArg: fd.Deref.SizeArg, minSize: cst(fd.Deref.MinSize)}
				}
				s.nslots++
			}
			s.slots[f.slot].mask |= f.mask
			switch {
			case fd.NS != "":
				f.ns = nsFor(fd.NS)
				if f.ns == nil {
					panic("subfeature: namespace " + fd.NS + " not generated for " + av.arch)
				}
				f.hex = fd.Hex
				gram("<"+fd.Label+">", false)
			case fd.NSByLevel != "":
				lf := s.fields[0]
				f.level = 0
				f.byLevel = map[uint64]*namespaceIdx{}
				for _, lv := range lf.ns.vals {
					if ns := nsFor(fd.NSByLevel + lf.ns.byVal[lv]); ns != nil {
						f.byLevel[lv] = ns
					}
				}
				gram("<"+fd.Label+">", false)
			case fd.Words != nil:
				f.words, f.wordVal, f.fallback = map[uint64]string{}, map[string]uint64{}, fd.Fallback
				var alts []string
				optional := false
				for _, w := range fd.Words {
					var v uint64
					for _, c := range w.Consts {
						v |= cst(c)
					}
					if _, dup := f.words[v]; dup {
						panic("subfeature: " + sd.Syscall + ": two words for one value")
					}
					f.words[v] = w.Word
					if w.Word == "" {
						optional = true
						continue
					}
					if _, seen := f.wordVal[w.Word]; !seen {
						f.wordVal[w.Word] = v
						alts = append(alts, w.Word)
					}
				}
				if fd.Fallback != "" {
					alts = append(alts, fd.Fallback+"<n>")
				}
				g := alts[0]
				if len(alts) > 1 {
					g = "(" + strings.Join(alts, "|") + ")"
				}
				gram(g, optional)
			case fd.Bits != "":
				ns := nsFor(fd.Bits)
				if ns == nil {
					panic("subfeature: namespace " + fd.Bits + " not generated for " + av.arch)
				}
				for _, v := range ns.vals {
					if bits.OnesCount64(v) != 1 {
						panic("subfeature: " + fd.Bits + ": " + ns.byVal[v] + " is not a single bit")
					}
					_, w, _ := strings.Cut(ns.byVal[v], "_")
					f.bits = append(f.bits, bitName{bit: v, word: strings.ToLower(w)})
				}
				f.none = fd.None
				var ws []string
				for _, bn := range f.bits {
					ws = append(ws, bn.word)
				}
				gram(fd.None+" or <bit>[+<bit>...] with <bit> in ("+strings.Join(ws, "|")+"|0x<hex>)", false)
			default:
				panic("subfeature: " + sd.Syscall + ": field " + fd.Label + " has no naming")
			}
			s.fields = append(s.fields, f)
		}
		s.grammar = sd.Syscall + ":" + grammar.String()
		s.precompute()
		d.specs[nr] = s
		d.nrs = append(d.nrs, nr)
		d.byName[sd.Syscall] = s
		d.maxName = max(d.maxName, len(sd.Syscall))
	}
	sort.Ints(d.nrs)
	return d
}

// precompute renders every combination of known values once, so that
// Decode only looks keys up.
func (s *spec) precompute() {
	s.keys = map[[2]uint64]string{}
	vals := make([]uint64, len(s.fields))
	var rec func(i int)
	rec = func(i int) {
		if i == len(s.fields) {
			var t [2]uint64
			for j, f := range s.fields {
				t[f.slot] |= vals[j]
			}
			s.keys[t] = s.render(t)
			return
		}
		for _, v := range s.fields[i].known(vals) {
			vals[i] = v
			rec(i + 1)
		}
	}
	rec(0)
}

// known lists the values of a field that have a name, given the values of
// the fields before it.
func (f *field) known(prev []uint64) []uint64 {
	var out []uint64
	switch {
	case f.ns != nil:
		for _, v := range f.ns.vals {
			if v&^f.mask == 0 {
				out = append(out, v)
			}
		}
	case f.byLevel != nil:
		if ns := f.byLevel[prev[f.level]]; ns != nil {
			for _, v := range ns.vals {
				if v&^f.mask == 0 {
					out = append(out, v)
				}
			}
		}
	case f.words != nil:
		for v := range f.words {
			out = append(out, v)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	default:
		if len(f.bits) > 12 {
			panic("subfeature: too many bits to precompute")
		}
		for set := 0; set < 1<<len(f.bits); set++ {
			var v uint64
			for i, bn := range f.bits {
				if set&(1<<i) != 0 {
					v |= bn.bit
				}
			}
			out = append(out, v)
		}
	}
	return out
}

// String describes the decoder, for debugging.
func (d *Decoder) String() string {
	return fmt.Sprintf("subfeature.Decoder(%s, %d syscalls)", d.arch, len(d.nrs))
}
