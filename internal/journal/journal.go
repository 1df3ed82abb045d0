package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"salsa.debian.org/loupe-team/loupe/internal/located"
)

// Journal is an open journal file. Append is safe for concurrent use.
type Journal struct {
	path string
	mu   sync.Mutex
	f    *os.File
	// Dropped is set when Open cut off a torn last line.
	Dropped bool
}

// LineError is a damaged line: one that decode refused, followed by more
// ("PATH:LINE: unreadable journal line (why)").
type LineError = located.Error

// ErrInUse means another loupe holds the journal (or the lock).
var ErrInUse = errors.New("in use by another loupe")

// Open opens the journal at path, creating it if needed, locks it, and
// calls decode with each of its complete lines in order; decode's error
// marks a line unreadable. A torn last line is cut off.
func Open(path string, decode func(line []byte) error) (*Journal, error) {
	f, err := Lock(path)
	if errors.Is(err, ErrInUse) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err != nil {
		return nil, err
	}
	j := &Journal{path: path, f: f}
	good, err := load(path, f, decode)
	if err == nil {
		err = j.repair(good)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// repair cuts the file at good, the end of its last good line, and places
// the offset there for the next Append.
func (j *Journal) repair(good int64) error {
	end, err := j.f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if good < end {
		if err := j.f.Truncate(good); err != nil {
			return fmt.Errorf("%s: drop torn last line: %w", j.path, err)
		}
		j.Dropped = true
	}
	if _, err := j.f.Seek(good, io.SeekStart); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	return nil
}

// Read calls decode with each complete line of the journal at path without
// changing or locking it: a torn last line is skipped, a damaged one is a
// *LineError. A missing file is an empty journal.
func Read(path string, decode func(line []byte) error) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = load(path, f, decode)
	return err
}

// load decodes the lines of r and returns the offset after the last good
// one: a last line without its newline, or one that decode refuses, is a
// torn write.
func load(path string, r io.Reader, decode func([]byte) error) (int64, error) {
	br := bufio.NewReader(r)
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return off, nil // no newline: a torn write, unless empty
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		if derr := decode(bytes.TrimSpace(line)); derr != nil {
			if _, perr := br.Peek(1); perr == io.EOF {
				return off, nil
			}
			return 0, &LineError{File: path, Line: lineNo, Msg: fmt.Sprintf("unreadable journal line (%v)", derr)}
		}
		off += int64(len(line))
	}
}

// Append adds v as one line and syncs it to disk.
func (j *Journal) Append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", j.path, err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", j.path, err)
	}
	return nil
}

// Close releases the journal and its lock.
func (j *Journal) Close() error {
	if j == nil || j.f == nil {
		return nil
	}
	return j.f.Close()
}

// Lock opens path (creating it, never through a symlink) and flocks it
// exclusively, without waiting; closing the file releases the lock. It
// fails with ErrInUse when another loupe holds it (the error does not name
// path: the caller says what is in use).
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%v)", ErrInUse, err)
	}
	return f, nil
}
