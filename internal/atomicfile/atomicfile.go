package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// WriteFile atomically replaces path with data, following symlinks and
// writing non-regular files in place.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	if real, rerr := filepath.EvalSymlinks(path); rerr == nil {
		path = real
	}
	if st, serr := os.Stat(path); serr == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return fmt.Errorf("write %s: is a directory; name a file", path)
		}
		f, oerr := os.OpenFile(path, os.O_WRONLY, 0)
		if oerr != nil {
			return fmt.Errorf("write %s: %w", path, oerr)
		}
		if _, err = f.Write(data); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err = f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	return replace(path, data, perm)
}

// Replace atomically puts a regular file with data at path, never following
// a symlink at path and never writing into what is there: a symlink, fifo
// or device node at path is itself replaced. A directory is an error.
func Replace(path string, data []byte, perm os.FileMode) error {
	if st, err := os.Lstat(path); err == nil && st.IsDir() {
		return fmt.Errorf("write %s: is a directory", path)
	}
	return replace(path, data, perm)
}

// ReplaceFrom is Replace for content that is streamed (a download): write
// writes it to the temporary file, and its error, returned as is, leaves
// path untouched.
func ReplaceFrom(path string, perm os.FileMode, write func(io.Writer) error) error {
	if st, err := os.Lstat(path); err == nil && st.IsDir() {
		return fmt.Errorf("write %s: is a directory", path)
	}
	return replaceWith(path, perm, write)
}

func replace(path string, data []byte, perm os.FileMode) error {
	return replaceWith(path, perm, func(w io.Writer) error {
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	})
}

func replaceWith(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Make the rename itself durable; failure here loses nothing already visible.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// CheckWritable reports, before any work, whether WriteFile (or Replace)
// can write path: the directory exists and a file can be created in it, or
// path is a non-regular file (a device, a fifo) loupe may write. It creates
// and removes a hidden temporary file, and never opens path itself: opening
// a fifo, even without blocking, would disturb whoever waits on it.
func CheckWritable(path string) error {
	if path == "" {
		return errors.New("no file name given")
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return fmt.Errorf("%s is a directory; name a file", path)
		}
		if err := syscall.Access(path, 2 /* W_OK */); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	return checkDir(path)
}

// CheckReplaceable is CheckWritable for Replace: whatever is at path, but a
// directory, would be replaced, so only the directory matters.
func CheckReplaceable(path string) error {
	if st, err := os.Lstat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return checkDir(path)
}

// checkDir checks that a file can be created beside path.
func checkDir(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("%s: directory %s: %w (create it first)", path, dir, cause(err))
	case !st.IsDir():
		return fmt.Errorf("%s: %s is not a directory", path, dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".check-*")
	if err != nil {
		return fmt.Errorf("%s: cannot create files in %s: %w", path, dir, cause(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// cause drops the path an *fs.PathError repeats.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Keep saves data that could not be written where it was asked for, in a
// new file in the first of dirs that takes it (the system's temporary
// directory when dirs is empty or none does), and returns its path. name
// is the file name that failed; the kept file is named after it.
func Keep(name string, data []byte, dirs ...string) (string, error) {
	base := filepath.Base(name)
	ext := filepath.Ext(base)
	for _, e := range []string{".loupe.yaml", ".dataset.json"} { // what loupe db looks for
		if strings.HasSuffix(base, e) {
			ext = e
		}
	}
	pattern := "loupe-kept-" + strings.TrimSuffix(base, ext) + "-*" + ext
	var errs []error
	for _, d := range append(dirs, os.TempDir()) {
		f, err := os.CreateTemp(d, pattern)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, werr := f.Write(data)
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			os.Remove(f.Name())
			errs = append(errs, err)
			continue
		}
		return f.Name(), nil
	}
	return "", fmt.Errorf("keep a copy: %w", errors.Join(errs...))
}
