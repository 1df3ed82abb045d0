package dataset

import (
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Why a fast path: yaml.v3 parses about 4 MB/s here, so 30,000 verdicts of
// 15 kB each take a minute on two cores. Verdicts are machine-written by
// verdict.Marshal in a plain block style; fastParse decodes exactly that
// subset of YAML straight into verdict.File (fields found by reflection on
// the yaml tags, so schema additions are picked up) and gives up — returning
// errSlow — on anything else: comments, anchors, tags, flow collections
// other than [] and {}, multi-line or escaped scalars it does not handle,
// plain scalars that YAML would not read as a plain string, unknown or
// duplicate keys. The caller then uses verdict.Parse, which stays the
// single authority: every file the fast path rejects, and every error
// message, comes from it. fastverdict_test.go checks on generated and
// mutated files that whenever the fast path accepts, verdict.Parse accepts
// and decodes the same File.
var errSlow = errors.New("not in the fast subset")

type fline struct {
	indent int
	text   string
}

type fparser struct {
	lines []fline
	pos   int
	// plainKeys memoises plainString for keys: a verdict repeats a few
	// dozen keys thousands of times, and the regexp was half the time.
	plainKeys map[string]bool
}

func fastParse(name string, data []byte) (*verdict.File, error) {
	if !yamlPrintable(data) { // also refuses invalid UTF-8
		return nil, errSlow // yaml.v3 rejects it, with its own message
	}
	p := &fparser{}
	for _, raw := range strings.Split(string(data), "\n") {
		raw = strings.TrimRight(raw, " \r")
		if raw == "" {
			continue
		}
		t := strings.TrimLeft(raw, " ")
		if strings.ContainsAny(raw, "\t#&*!|>%@`") && !safeSpecials(t) {
			return nil, errSlow
		}
		if t == "---" || t == "..." {
			return nil, errSlow
		}
		p.lines = append(p.lines, fline{len(raw) - len(t), t})
	}
	var f verdict.File
	if err := p.mapping(reflect.ValueOf(&f).Elem(), 0); err != nil {
		return nil, err
	}
	if p.pos != len(p.lines) {
		return nil, errSlow
	}
	if f.Schema != verdict.Schema && f.Schema != verdict.SchemaV1 {
		return nil, errSlow
	}
	if err := f.Validate(name); err != nil {
		return nil, errSlow // let Parse report it, with the line
	}
	return &f, nil
}

// yamlPrintable reports whether data holds only characters YAML allows in
// a stream (YAML 1.2 §5.1; yaml.v3 refuses the others as "control
// characters"): tab, LF, CR, printable ASCII, NEL, and the rest of Unicode
// but C1 controls, surrogates and U+FFFE/U+FFFF. A DEL (0x7f) once passed
// the fast path while yaml.v3 refused the file (found by FuzzFastParse).
func yamlPrintable(data []byte) bool {
	for i := 0; i < len(data); {
		b := data[i]
		if b < utf8.RuneSelf { // ASCII, nearly everything: no decoding
			if b < 0x20 && b != '\t' && b != '\n' && b != '\r' || b == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 || r >= 0x80 && r <= 0x9f && r != 0x85 || r == 0xfffe || r == 0xffff {
			return false
		}
		i += n
	}
	return true
}

// safeSpecials allows '#' etc. only where they cannot start anything: none.
// Kept as a function so the rule is in one place.
func safeSpecials(string) bool { return false }

type fieldInfo struct {
	index []int
}

var fieldCache sync.Map // reflect.Type -> map[string]fieldInfo

func fields(t reflect.Type) map[string]fieldInfo {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]fieldInfo)
	}
	m := map[string]fieldInfo{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), prefix...), i)
			if strings.Contains(opts, "inline") {
				walk(sf.Type, idx)
				continue
			}
			if name == "-" || !sf.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(sf.Name)
			}
			m[name] = fieldInfo{idx}
		}
	}
	walk(t, nil)
	fieldCache.Store(t, m)
	return m
}

// splitKey splits "key: value" or "key:"; the key must be plain.
func (p *fparser) splitKey(t string) (key, rest string, ok bool) {
	if strings.HasSuffix(t, ":") {
		key, rest = t[:len(t)-1], ""
	} else {
		i := strings.Index(t, ": ")
		if i < 0 {
			return "", "", false
		}
		key, rest = t[:i], strings.TrimLeft(t[i+2:], " ")
	}
	plain, known := p.plainKeys[key]
	if !known {
		plain = plainString(key)
		if p.plainKeys == nil {
			p.plainKeys = map[string]bool{}
		}
		p.plainKeys[key] = plain
	}
	if key == "" || strings.ContainsAny(key[:1], `"'[]{},:-?`) || strings.Contains(key, ": ") || !plain {
		return "", "", false
	}
	return key, rest, true
}

// mapping decodes a block mapping at indent ind into v (struct or map).
func (p *fparser) mapping(v reflect.Value, ind int) error {
	seen := map[string]bool{}
	if v.Kind() == reflect.Map && v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < ind {
			return nil
		}
		if l.indent > ind || strings.HasPrefix(l.text, "- ") || l.text == "-" {
			return errSlow
		}
		key, rest, ok := p.splitKey(l.text)
		if !ok || seen[key] {
			return errSlow
		}
		seen[key] = true
		p.pos++
		var target reflect.Value
		switch v.Kind() {
		case reflect.Struct:
			fi, ok := fields(v.Type())[key]
			if !ok {
				return errSlow // unknown key: Parse decides
			}
			target = v.FieldByIndex(fi.index)
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String {
				return errSlow
			}
			target = reflect.New(v.Type().Elem()).Elem()
		default:
			return errSlow
		}
		if err := p.value(target, ind, rest); err != nil {
			return err
		}
		if v.Kind() == reflect.Map {
			v.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), target)
		}
	}
	return nil
}

// value decodes the value of a key at indent ind whose inline text is rest.
func (p *fparser) value(v reflect.Value, ind int, rest string) error {
	if rest != "" {
		return scalar(v, rest)
	}
	if p.pos >= len(p.lines) {
		return nil // null
	}
	next := p.lines[p.pos]
	isSeq := strings.HasPrefix(next.text, "- ") || next.text == "-"
	switch {
	case next.indent > ind && isSeq:
		return p.sequence(v, next.indent)
	case next.indent > ind:
		return p.block(v, next.indent)
	case next.indent == ind && isSeq && v.Kind() == reflect.Slice:
		return p.sequence(v, ind)
	}
	return nil // null: the next key follows
}

func (p *fparser) block(v reflect.Value, ind int) error {
	switch v.Kind() {
	case reflect.Struct, reflect.Map:
		return p.mapping(v, ind)
	case reflect.Ptr:
		if v.Type().Elem().Kind() == reflect.Struct {
			v.Set(reflect.New(v.Type().Elem()))
			return p.mapping(v.Elem(), ind)
		}
	}
	return errSlow
}

func (p *fparser) sequence(v reflect.Value, ind int) error {
	if v.Kind() != reflect.Slice {
		return errSlow
	}
	s := reflect.MakeSlice(v.Type(), 0, 4)
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < ind || (l.indent == ind && !strings.HasPrefix(l.text, "- ")) {
			break
		}
		if l.indent > ind || l.text == "-" {
			return errSlow
		}
		after := l.text[2:]
		sp := len(after) - len(strings.TrimLeft(after, " "))
		after = after[sp:]
		item := reflect.New(v.Type().Elem()).Elem()
		if _, _, isMap := p.splitKey(after); isMap && (item.Kind() == reflect.Struct || item.Kind() == reflect.Map) {
			// "- key: value": a mapping whose first line starts here.
			p.lines[p.pos] = fline{ind + 2 + sp, after}
			if err := p.mapping(item, ind+2+sp); err != nil {
				return err
			}
		} else {
			p.pos++
			if err := scalar(item, after); err != nil {
				return err
			}
		}
		s = reflect.Append(s, item)
	}
	v.Set(s)
	return nil
}

var (
	reInt   = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	reFloat = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)
	// Plain scalars YAML 1.1/1.2 could read as something else than a string.
	reNotStr = regexp.MustCompile(`^(?i:null|~|true|false|yes|no|on|off|y|n|[-+]?\.inf|\.nan)$` +
		`|^[-+]?(0|[1-9][0-9_]*)$|^[-+]?0[xob]?[0-9a-fA-F_]+$` +
		`|^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$` +
		`|^\d{4}-\d\d?-\d\d?|^[0-9_:]+(\.[0-9_]*)?$`)
)

// notStrFirst holds the first characters a reNotStr match can start with;
// other strings skip the regexp (it was most of the parse time).
const notStrFirst = "0123456789+-.~_:nNtTfFyYoO"

func plainString(s string) bool {
	if s == "" || strings.IndexByte(notStrFirst, s[0]) >= 0 && reNotStr.MatchString(s) || strings.Contains(s, ": ") || strings.HasSuffix(s, ":") {
		return false
	}
	switch s[0] {
	case '"', '\'', '[', ']', '{', '}', ',', '-', '?', ':', ' ':
		return false
	}
	return !strings.ContainsAny(s, "{}[],")
}

func quoted(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		body := s[1 : len(s)-1]
		for i := 0; i < len(body); i++ {
			if body[i] == '\\' {
				if i+1 >= len(body) || !strings.ContainsRune(`"\nt`, rune(body[i+1])) {
					return "", false
				}
				i++
			} else if body[i] == '"' {
				return "", false
			}
		}
		u, err := strconv.Unquote(s)
		return u, err == nil
	}
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		body := s[1 : len(s)-1]
		if strings.Contains(strings.ReplaceAll(body, "''", ""), "'") {
			return "", false
		}
		return strings.ReplaceAll(body, "''", "'"), true
	}
	return "", false
}

func scalar(v reflect.Value, s string) error {
	if s == "[]" {
		if v.Kind() == reflect.Slice {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return nil
		}
		return errSlow
	}
	if s == "{}" {
		switch v.Kind() {
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
			return nil
		case reflect.Struct:
			return nil
		}
		return errSlow
	}
	if s == "null" || s == "~" {
		switch v.Kind() {
		case reflect.Ptr, reflect.Slice, reflect.Map, reflect.Struct:
			return nil
		}
		return errSlow
	}
	if v.Type() == reflect.TypeOf(time.Time{}) {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return errSlow
		}
		v.Set(reflect.ValueOf(t))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		if q, ok := quoted(s); ok {
			v.SetString(q)
			return nil
		}
		if !plainString(s) {
			return errSlow
		}
		v.SetString(s)
	case reflect.Bool:
		switch s {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return errSlow
		}
	case reflect.Ptr:
		switch v.Type().Elem().Kind() {
		case reflect.Bool, reflect.Int: // Outcome.Stub/Fake, End's counts
		default:
			return errSlow
		}
		nv := reflect.New(v.Type().Elem())
		if err := scalar(nv.Elem(), s); err != nil {
			return err
		}
		v.Set(nv)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if !reInt.MatchString(s) {
			return errSlow
		}
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return errSlow
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		if !reInt.MatchString(s) || s[0] == '-' {
			return errSlow
		}
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return errSlow
		}
		v.SetUint(n)
	case reflect.Float64, reflect.Float32:
		if !reFloat.MatchString(s) {
			return errSlow
		}
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return errSlow
		}
		v.SetFloat(f)
	default:
		return errSlow
	}
	return nil
}
