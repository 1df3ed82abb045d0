package runner

// The scratch directory: one per runner, flock'ed while in use, and the
// sweep of those that killed loupes left behind (doc.go).

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

func (r *Runner) makeScratch() error {
	inside := func(p string) string {
		for _, d := range r.overlay {
			if under(p, d) {
				return d
			}
		}
		return ""
	}
	if r.cfg.Scratch != "" {
		s, err := filepath.Abs(r.cfg.Scratch)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(s, 0o700); err != nil {
			return fmt.Errorf("scratch: %w", err)
		}
		if s, err = filepath.EvalSymlinks(s); err != nil {
			return fmt.Errorf("scratch: %w", err)
		}
		if d := inside(s); d != "" {
			return fmt.Errorf("scratch directory %s is inside %s, whose writes runs keep private; put it elsewhere", s, d)
		}
		r.scratch = s
		return nil
	}
	var tried []string
	for _, base := range []string{os.Getenv("LOUPE_SCRATCH"), "/var/tmp", "/var/cache"} {
		if base == "" {
			continue
		}
		b, err := filepath.EvalSymlinks(base)
		if err != nil || inside(b) != "" {
			tried = append(tried, base)
			continue
		}
		s, err := os.MkdirTemp(b, scratchPrefix)
		if err != nil {
			tried = append(tried, base)
			continue
		}
		r.scratch, r.ownScratch = s, true
		if r.scratchLock, err = lockScratch(s, true); err != nil {
			return err
		}
		sweepScratch(b)
		return nil
	}
	return fmt.Errorf("no usable scratch directory outside the overlaid %v (tried %v); set LOUPE_SCRATCH", r.overlay, tried)
}

const scratchPrefix = "loupe-analyze-"

// lockScratch flocks dir/lock: with create, a new lock in the runner's own,
// new scratch directory; without, the existing lock of one found by
// sweepScratch, failing at once when another process holds it. The lock is
// never a symlink (O_NOFOLLOW), and must be a regular file of ours.
func lockScratch(dir string, create bool) (*os.File, error) {
	flags, how := os.O_RDWR|syscall.O_NOFOLLOW, syscall.LOCK_EX
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	} else {
		how |= syscall.LOCK_NB
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	if err := ownedBy(f, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("scratch: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ownedDir checks that p is a directory (not a symlink to one) that this
// process's user owns and nobody else can write: only such a directory in
// a shared place like /var/tmp is loupe's to use or remove.
func ownedDir(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	return ownedInfo(p, fi, true)
}

func ownedBy(f *os.File, dir bool) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return ownedInfo(f.Name(), fi, dir)
}

func ownedInfo(p string, fi os.FileInfo, dir bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case dir && !fi.IsDir() || !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%s: not a %s (%v)", p, map[bool]string{true: "directory", false: "regular file"}[dir], fi.Mode().Type())
	case !ok || int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s: owned by another user", p)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s: writable by others (%v)", p, fi.Mode().Perm())
	}
	return nil
}

// sweepScratch removes the scratch directories that loupes killed with -9
// left in base: those whose lock nobody holds. Only directories of this
// user are considered, never through a symlink: /var/tmp is shared, and a
// "loupe-analyze-*" of another user (or planted by one) is none of ours. A
// directory without a lock file may be one being created; it is left
// alone.
func sweepScratch(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, scratchPrefix+"*"))
	for _, d := range dirs {
		if ownedDir(d) != nil {
			continue
		}
		if l, err := lockScratch(d, false); err == nil {
			removeAll(d)
			l.Close()
		}
	}
}
