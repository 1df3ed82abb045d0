package subfeature

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	suggestpkg "salsa.debian.org/loupe-team/loupe/internal/suggest"
)

// ParseKey validates a sub-feature key, e.g. a Rule.Feature, and returns the
// syscall number it applies to and its canonical form: the string Decode
// returns for exactly the calls the key denotes. A rule matches a call when
// Decode(nr, args, mem) == canonical; nothing else is compared, so flag
// fields are matched only on the bits the key is made of.
//
// Besides canonical keys it accepts aliases from the headers
// ("ioctl:TIOCINQ" is "ioctl:FIONREAD", "rt_sigaction:SIGPOLL" is
// "rt_sigaction:SIGIO") and numbers in decimal or 0x-hex ("ioctl:0x5401" is
// "ioctl:TCGETS"). Errors say what was expected and suggest the closest
// known name.
func (d *Decoder) ParseKey(key string) (nr int, canonical string, err error) {
	sys, val, ok := strings.Cut(key, ":")
	if !ok || sys == "" {
		return 0, "", fmt.Errorf("sub-feature key %q: want <syscall>:<value>, e.g. ioctl:TCGETS", key)
	}
	s := d.byName[sys]
	if s == nil {
		return 0, "", d.unknownSyscall(key, sys)
	}
	if val == "" {
		return 0, "", fmt.Errorf("sub-feature key %q: empty value (want %s)", key, s.grammar)
	}
	parts := strings.Split(val, "+")
	vals := make([]uint64, len(s.fields))
	i := 0
	for fi, f := range s.fields {
		if f.bits != nil {
			v, err := f.parseBits(parts[i:])
			if err != nil {
				return 0, "", fmt.Errorf("sub-feature key %q: %w (want %s)", key, err, s.grammar)
			}
			vals[fi], i = v, len(parts)
			continue
		}
		if i == len(parts) {
			if f.words != nil {
				if _, ok := f.words[0]; ok && f.words[0] == "" {
					continue // an omitted optional part
				}
			}
			return 0, "", fmt.Errorf("sub-feature key %q: missing %s (want %s)", key, f.label, s.grammar)
		}
		v, consumed, err := f.parsePart(parts[i], s, vals)
		if err != nil {
			return 0, "", fmt.Errorf("sub-feature key %q: %w", key, err)
		}
		vals[fi] = v
		if consumed {
			i++
		}
	}
	if i < len(parts) {
		return 0, "", fmt.Errorf("sub-feature key %q: unexpected %q (want %s)", key, strings.Join(parts[i:], "+"), s.grammar)
	}
	var t [2]uint64
	for fi, f := range s.fields {
		t[f.slot] |= vals[fi]
	}
	if k, ok := s.keys[t]; ok {
		return s.nr, k, nil
	}
	return s.nr, s.render(t), nil
}

// parsePart parses one part of a key for this field. consumed is false when
// an optional part is absent and p belongs to the next field.
func (f *field) parsePart(p string, s *spec, prev []uint64) (v uint64, consumed bool, err error) {
	switch {
	case f.ns != nil || f.byLevel != nil:
		ns := f.ns
		if f.byLevel != nil {
			ns = f.byLevel[prev[f.level]]
		}
		if ns != nil {
			if v, ok := ns.byName[p]; ok {
				if v&^f.mask != 0 {
					canon := f.number(v & f.mask)
					if n, ok := ns.byVal[v&f.mask]; ok {
						canon = n
					}
					return 0, false, fmt.Errorf("%s %s has bits that the key ignores (%#x); the feature is %s:%s",
						f.label, p, v&^f.mask, s.syscall, s.renderWith(f, v&f.mask, prev, canon))
				}
				return v, true, nil
			}
		}
		if v, ok := f.parseNumber(p); ok {
			if v&^f.mask != 0 {
				return 0, false, fmt.Errorf("%s %s has bits outside the decoded field (mask %#x)", f.label, p, f.mask)
			}
			return v, true, nil
		}
		if ns == nil {
			return 0, false, fmt.Errorf("unknown %s %q: this level has no named options, use a number", f.label, p)
		}
		if sug := suggest(p, ns.byName); sug != "" {
			return 0, false, fmt.Errorf("unknown %s %q (did you mean %q?)", f.label, p, sug)
		}
		return 0, false, fmt.Errorf("unknown %s %q", f.label, p)
	default: // words
		if v, ok := f.wordVal[p]; ok {
			return v, true, nil
		}
		if f.fallback != "" {
			if n, ok := strings.CutPrefix(p, f.fallback); ok {
				if v, err := strconv.ParseUint(n, 10, 64); err == nil && canonicalDecimal(n) && v&^f.mask == 0 {
					return v, true, nil
				}
			}
		}
		if w, ok := f.words[0]; ok && w == "" {
			return 0, false, nil // optional part absent
		}
		var alts []string
		for w := range f.wordVal {
			alts = append(alts, w)
		}
		sort.Strings(alts)
		return 0, false, fmt.Errorf("%s is %q, want one of %s (the key is %s)", f.label, p, strings.Join(alts, ", "), s.grammar)
	}
}

// renderWith renders the key value with field f set to v, for messages.
func (s *spec) renderWith(f *field, v uint64, prev []uint64, name string) string {
	if len(s.fields) == 1 {
		return name
	}
	var t [2]uint64
	for i, g := range s.fields {
		if g == f {
			t[g.slot] |= v
		} else if i < len(prev) {
			t[g.slot] |= prev[i]
		}
	}
	_, val, _ := strings.Cut(s.render(t), ":")
	return val
}

func (f *field) parseBits(parts []string) (uint64, error) {
	if len(parts) == 1 && parts[0] == f.none {
		return 0, nil
	}
	var v uint64
	for _, p := range parts {
		found := false
		for _, bn := range f.bits {
			if bn.word == p {
				v |= bn.bit
				found = true
			}
		}
		if found {
			continue
		}
		if n, ok := strings.CutPrefix(p, "0x"); ok {
			if x, err := strconv.ParseUint(n, 16, 64); err == nil && x&^f.mask == 0 {
				v |= x
				continue
			}
		}
		if p == f.none {
			return 0, fmt.Errorf("%q combined with other %s", f.none, f.label)
		}
		return 0, fmt.Errorf("unknown %s %q", f.label, p)
	}
	return v, nil
}

// parseNumber accepts decimal (signed for 32-bit fields, as the kernel's int)
// and 0x-hex.
func (f *field) parseNumber(p string) (uint64, bool) {
	if h, ok := strings.CutPrefix(p, "0x"); ok {
		v, err := strconv.ParseUint(h, 16, 64)
		return v, err == nil && h != "" && !strings.HasPrefix(h, "+")
	}
	if f.width == 32 {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < -1<<31 || v > 1<<32-1 {
			return 0, false
		}
		return uint64(v) & 0xffffffff, true
	}
	v, err := strconv.ParseUint(p, 10, 64)
	return v, err == nil
}

func canonicalDecimal(s string) bool {
	return s != "" && (s == "0" || s[0] != '0')
}

func (d *Decoder) unknownSyscall(key, sys string) error {
	names := make([]string, 0, len(d.byName))
	set := map[string]uint64{}
	for n := range d.byName {
		names = append(names, n)
		set[n] = 0
	}
	sort.Strings(names)
	if _, ok := d.sys.Number(sys); ok {
		return fmt.Errorf("sub-feature key %q: syscall %s has no sub-features (those with sub-features: %s)",
			key, sys, strings.Join(names, ", "))
	}
	if sug := suggest(sys, set); sug != "" {
		return fmt.Errorf("sub-feature key %q: unknown syscall %q (did you mean %q?)", key, sys, sug)
	}
	return fmt.Errorf("sub-feature key %q: unknown %s syscall %q (those with sub-features: %s)",
		key, d.arch, sys, strings.Join(names, ", "))
}

// suggest returns the name of names closest to s (internal/suggest), also
// comparing s upper-cased (ioctl and fcntl names are), or "" if none is
// reasonably close. Ties go to the smallest name, so it is deterministic.
func suggest(s string, names map[string]uint64) string {
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	return suggestpkg.Closest(sorted, s, strings.ToUpper(s))
}
