package journal

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type rec struct {
	K string `json:"k"`
}

func decodeInto(got *[]string) func([]byte) error {
	return func(line []byte) error {
		var r rec
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		if r.K == "" {
			return errors.New("no k")
		}
		*got = append(*got, r.K)
		return nil
	}
}

// TestOpen covers what a killed or damaged writer can leave: Open keeps
// every complete line, cuts a torn last one off, and refuses damage in the
// middle, naming the line.
func TestOpen(t *testing.T) {
	for _, tt := range []struct {
		name, content string
		want          []string
		dropped       bool
		err           string // the error names path:line
	}{
		{name: "new", content: "", want: nil},
		{name: "whole", content: `{"k":"a"}` + "\n" + `{"k":"b"}` + "\n", want: []string{"a", "b"}},
		{name: "torn", content: `{"k":"a"}` + "\n" + `{"k":"b`, want: []string{"a"}, dropped: true},
		{name: "bad last line", content: `{"k":"a"}` + "\n" + `{"x":1}` + "\n", want: []string{"a"}, dropped: true},
		{name: "damage", content: `{"k":"a"}` + "\n" + "garbage\n" + `{"k":"b"}` + "\n", err: ":2: unreadable journal line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j.jsonl")
			if tt.content != "" {
				os.WriteFile(path, []byte(tt.content), 0o644)
			}
			var got []string
			j, err := Open(path, decodeInto(&got))
			if tt.err != "" {
				var le *LineError
				if err == nil || !strings.Contains(err.Error(), path+tt.err) || !errors.As(err, &le) {
					t.Fatalf("Open: %v, want a LineError %q", err, path+tt.err)
				}
				if b, _ := os.ReadFile(path); string(b) != tt.content {
					t.Errorf("a refused journal was changed: %q", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") || j.Dropped != tt.dropped {
				t.Errorf("read %v dropped %v, want %v %v", got, j.Dropped, tt.want, tt.dropped)
			}
			// The next record starts on a line of its own.
			if err := j.Append(rec{K: "c"}); err != nil {
				t.Fatal(err)
			}
			j.Close()
			got = nil
			j, err = Open(path, decodeInto(&got))
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if want := append(append([]string{}, tt.want...), "c"); strings.Join(got, ",") != strings.Join(want, ",") || j.Dropped {
				t.Errorf("after Append: %v dropped %v, want %v", got, j.Dropped, want)
			}
		})
	}
}

func TestOpenIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	var got []string
	j, err := Open(path, decodeInto(&got))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, decodeInto(&got)); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), path) {
		t.Errorf("second Open: %v, want ErrInUse naming %s", err, path)
	}
	// Read neither needs nor takes the lock.
	if err := Read(path, decodeInto(&got)); err != nil {
		t.Errorf("Read of an open journal: %v", err)
	}
	j.Close()
	j, err = Open(path, decodeInto(&got))
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	j.Close()
}

func TestReadChangesNothing(t *testing.T) {
	dir := t.TempDir()
	var got []string
	if err := Read(filepath.Join(dir, "missing"), decodeInto(&got)); err != nil || got != nil {
		t.Errorf("missing journal: %v %v, want empty", got, err)
	}
	path := filepath.Join(dir, "j.jsonl")
	const torn = `{"k":"a"}` + "\n" + `{"k":"b`
	os.WriteFile(path, []byte(torn), 0o644)
	if err := Read(path, decodeInto(&got)); err != nil || strings.Join(got, ",") != "a" {
		t.Errorf("Read: %v %v, want [a]", got, err)
	}
	if b, _ := os.ReadFile(path); string(b) != torn {
		t.Errorf("Read changed the file: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Error("Read created a missing journal")
	}
}

// A journal or lock in a tree the workload can write may be a planted
// symlink: it is never followed, so its target is neither created nor cut.
func TestNeverFollowsSymlinks(t *testing.T) {
	for _, open := range []struct {
		name string
		f    func(string) error
	}{
		{"Open", func(p string) error {
			var got []string
			j, err := Open(p, decodeInto(&got))
			j.Close()
			return err
		}},
		{"Lock", func(p string) error {
			f, err := Lock(p)
			if err == nil {
				f.Close()
			}
			return err
		}},
	} {
		t.Run(open.name, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(dir, "victim")
			const content = `{"k":"a"}` + "\n" + `{"k":"b`
			os.WriteFile(victim, []byte(content), 0o644)
			link := filepath.Join(dir, "j.jsonl")
			os.Symlink(victim, link)
			if err := open.f(link); err == nil {
				t.Errorf("%s through a symlink succeeded", open.name)
			}
			if b, _ := os.ReadFile(victim); string(b) != content {
				t.Errorf("the symlink's target was changed: %q", b)
			}
			dangling := filepath.Join(dir, "dangling")
			os.Symlink(filepath.Join(dir, "created"), dangling)
			open.f(dangling)
			if _, err := os.Stat(filepath.Join(dir, "created")); err == nil {
				t.Error("a dangling symlink's target was created")
			}
		})
	}
}
