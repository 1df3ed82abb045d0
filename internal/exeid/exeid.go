package exeid

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// Key identifies one version of one file.
type Key struct {
	Dev, Ino uint64
	Size     int64
	MtimeNS  int64
}

// KeyOf returns the Key of a stat result.
func KeyOf(fi os.FileInfo) (Key, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Key{}, false
	}
	return Key{Dev: st.Dev, Ino: st.Ino, Size: fi.Size(), MtimeNS: fi.ModTime().UnixNano()}, true
}

// Sums holds the content identity of a file.
type Sums struct {
	BuildID string // hex GNU build-id, "" if none (scripts, stripped notes)
	SHA256  string // hex
	IsELF   bool
	Script  bool // starts with "#!"
}

type entry struct {
	once sync.Once
	sums Sums
	err  error
}

// Cache memoises Sums per file version.
type Cache struct {
	mu sync.Mutex
	m  map[Key]*entry
	// Hashed counts actual hash computations (for tests and benchmarks).
	hashed int
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{m: make(map[Key]*entry)} }

// Hashed reports how many files were really read and hashed.
func (c *Cache) Hashed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hashed
}

// ErrNotRegular means a path names something other than a regular file: a
// FIFO, a device, a socket or a directory.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens path (following symlinks) for reading only if it is a
// regular file. Paths come from the workload's world, and opening a FIFO
// would block (or, when it has a writer, release it and steal its data), and
// reading a terminal would block: so stat comes first, the open is
// non-blocking and never acquires a controlling terminal, and the opened
// file must be the very file that was stat'ed.
func OpenRegular(path string) (*os.File, os.FileInfo, error) {
	before, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || !os.SameFile(before, fi) {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w (replaced while being opened)", path, ErrNotRegular)
	}
	return f, fi, nil
}

// Sums returns the identity of the file at path (following symlinks), which
// must be a regular file (see OpenRegular). A nil Cache computes without
// memoising.
func (c *Cache) Sums(path string) (Sums, error) {
	f, fi, err := OpenRegular(path)
	if err != nil {
		return Sums{}, err
	}
	defer f.Close()
	key, ok := KeyOf(fi)
	if c == nil || !ok {
		return compute(f)
	}
	c.mu.Lock()
	e := c.m[key]
	if e == nil {
		e = &entry{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		e.sums, e.err = compute(f)
		c.mu.Lock()
		c.hashed++
		c.mu.Unlock()
	})
	return e.sums, e.err
}

func compute(f *os.File) (Sums, error) {
	var s Sums
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return s, fmt.Errorf("hash %s: %w", f.Name(), err)
	}
	s.SHA256 = hex.EncodeToString(h.Sum(nil))
	var magic [4]byte
	if n, _ := f.ReadAt(magic[:], 0); n >= 2 && magic[0] == '#' && magic[1] == '!' {
		s.Script = true
		return s, nil
	}
	if magic != [4]byte{0x7f, 'E', 'L', 'F'} {
		return s, nil
	}
	s.IsELF = true
	id, err := BuildID(f)
	if err != nil && !errors.Is(err, ErrNoBuildID) {
		// A corrupt ELF is still identified by its hash.
		return s, nil
	}
	s.BuildID = id
	return s, nil
}

// ErrNoBuildID means the ELF file has no GNU build-id note.
var ErrNoBuildID = errors.New("no GNU build-id note")

// BuildID returns the hex GNU build-id of an ELF file, read from its PT_NOTE
// segments (which survive strip), or from note sections of objects without
// program headers.
func BuildID(r io.ReaderAt) (string, error) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return "", err
	}
	defer ef.Close()
	var notes []io.Reader
	for _, p := range ef.Progs {
		if p.Type == elf.PT_NOTE {
			notes = append(notes, p.Open())
		}
	}
	if len(notes) == 0 {
		for _, s := range ef.Sections {
			if s.Type == elf.SHT_NOTE {
				notes = append(notes, s.Open())
			}
		}
	}
	for _, n := range notes {
		if id := findBuildID(n, ef.ByteOrder); id != "" {
			return id, nil
		}
	}
	return "", ErrNoBuildID
}

func findBuildID(r io.Reader, bo binary.ByteOrder) string {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return ""
	}
	align := func(n uint32) uint32 { return (n + 3) &^ 3 }
	for len(data) >= 12 {
		namesz, descsz, typ := bo.Uint32(data[0:]), bo.Uint32(data[4:]), bo.Uint32(data[8:])
		data = data[12:]
		if uint64(align(namesz))+uint64(align(descsz)) > uint64(len(data)) {
			return ""
		}
		name := data[:namesz]
		desc := data[align(namesz) : align(namesz)+descsz]
		data = data[align(namesz)+align(descsz):]
		const ntGNUBuildID = 3
		if typ == ntGNUBuildID && bytes.Equal(bytes.TrimRight(name, "\x00"), []byte("GNU")) {
			return hex.EncodeToString(desc)
		}
	}
	return ""
}
