// Package atomicfile writes files so that readers see either the old content
// or the complete new content, never a torn file: the data goes to a
// temporary file in the target's directory, is synced, chmod'ed and renamed
// over the target, and the temporary file is removed on any error.
//
// A target that is not a regular file (/dev/null, /dev/stdout, a fifo) is
// written in place: renaming over it would replace a device node with a
// regular file. A symlink is followed, so the link survives and its target
// is replaced.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile atomically replaces path with data.
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
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
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
