package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
)

// snapshot is a copy of the workload tree and a manifest of the tree's
// state right after the copy (or the last restore). Restore compares the
// tree with the manifest by inode, size, mode, mtime and ctime: ctime
// changes on every write, chmod or rename and cannot be set back by a
// program, so a file whose five values match was not touched. Everything
// else is put back from the copy. Hard links are copied as separate files,
// and special files (fifos, sockets, devices) are not copied.
type snapshot struct {
	tree, dir string // dir/tree is the copy
	manifest  map[string]state
	skipped   int
	keep      map[string]bool // relative paths restore leaves alone (Config.Preserve)
}

// kept returns the Config.Preserve directories relative to the tree.
func (r *Runner) kept(tree string) map[string]bool {
	keep := map[string]bool{}
	for _, p := range r.cfg.Preserve {
		if !filepath.IsAbs(p) {
			p = filepath.Join(tree, p)
		}
		if rel, err := filepath.Rel(tree, filepath.Clean(p)); err == nil && rel != "." && !strings.HasPrefix(rel, "../") {
			keep[rel] = true
		}
	}
	return keep
}

type state struct {
	ino, size        uint64
	mode             fs.FileMode
	mtimeNs, ctimeNs int64
}

func stateOf(fi fs.FileInfo) state {
	st := fi.Sys().(*syscall.Stat_t)
	return state{ino: st.Ino, size: uint64(st.Size), mode: fi.Mode(),
		mtimeNs: fi.ModTime().UnixNano(), ctimeNs: st.Ctim.Nano()}
}

func (r *Runner) takeSnapshot() error {
	s := &snapshot{tree: r.cfg.Dir, dir: filepath.Join(r.scratch, "snapshot"), keep: r.kept(r.cfg.Dir)}
	if err := removeAll(s.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := copyTree(s.tree, filepath.Join(s.dir, "tree"), &s.skipped); err != nil {
		return fmt.Errorf("snapshot %s: %w", s.tree, err)
	}
	for rel := range s.keep {
		if err := removeAll(filepath.Join(s.dir, "tree", rel)); err != nil {
			return fmt.Errorf("snapshot %s: %w", s.tree, err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.dir, "complete"), nil, 0o600); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	m, err := manifest(s.tree, s.keep)
	if err != nil {
		return err
	}
	s.manifest = m
	r.mu.Lock()
	r.snap = s
	if s.skipped > 0 {
		r.notes = append(r.notes, fmt.Sprintf("snapshot: %d special files (fifos, sockets, devices) in the tree were not copied", s.skipped))
	}
	r.mu.Unlock()
	return nil
}

func manifest(tree string, keep map[string]bool) (map[string]state, error) {
	m := map[string]state{}
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		if keep[rel] {
			return skip(d)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		m[rel] = stateOf(fi)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: scan %s: %w", tree, err)
	}
	return m, nil
}

// restore makes the tree identical to the copy again.
func (s *snapshot) restore() error {
	copyDir := filepath.Join(s.dir, "tree")
	err := filepath.WalkDir(s.tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(s.tree, p)
		if s.keep[rel] {
			return skip(d)
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		old, known := s.manifest[rel]
		switch {
		case !known:
			// Created by the run.
			if err := removeAll(p); err != nil {
				return err
			}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		case old.mode.Type() != fi.Mode().Type():
			if err := removeAll(p); err != nil {
				return err
			}
			if err := copyTree(filepath.Join(copyDir, rel), p, new(int)); err != nil {
				return err
			}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		case d.IsDir():
			return nil
		case stateOf(fi) != old:
			if err := os.Remove(p); err != nil {
				return err
			}
			return copyEntry(filepath.Join(copyDir, rel), p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Put back what the run removed, parents first.
	rels := make([]string, 0, len(s.manifest))
	for rel := range s.manifest {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		p := filepath.Join(s.tree, rel)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			if err := copyTree(filepath.Join(copyDir, rel), p, new(int)); err != nil {
				return err
			}
		}
	}
	// Directory modes and times last: restoring entries changes them.
	for _, rel := range rels {
		old := s.manifest[rel]
		if !old.mode.IsDir() {
			continue
		}
		src, err := os.Lstat(filepath.Join(copyDir, rel))
		if err != nil {
			return err
		}
		p := filepath.Join(s.tree, rel)
		if err := os.Chmod(p, src.Mode().Perm()|src.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
		if err := os.Chtimes(p, src.ModTime(), src.ModTime()); err != nil {
			return err
		}
	}
	m, err := manifest(s.tree, s.keep)
	if err != nil {
		return err
	}
	s.manifest = m
	return nil
}

// skip leaves a Preserve'd entry out of a walk.
func skip(d fs.DirEntry) error {
	if d.IsDir() {
		return fs.SkipDir
	}
	return nil
}

// copyTree copies src (a file, symlink or directory tree) to dst, which
// must not exist, keeping modes, times, symlinks and (as root) owners.
func copyTree(src, dst string, skipped *int) error {
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		t := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.Mkdir(t, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, rel)
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			*skipped++
			return nil
		}
		return copyEntry(p, t)
	})
	if err != nil {
		return err
	}
	// Deepest first, so setting a child's times does not disturb its parent's.
	for i := len(dirs) - 1; i >= 0; i-- {
		s, t := filepath.Join(src, dirs[i]), filepath.Join(dst, dirs[i])
		fi, err := os.Lstat(s)
		if err != nil {
			return err
		}
		if err := finishEntry(fi, t); err != nil {
			return err
		}
	}
	return nil
}

// copyEntry copies one regular file or symlink.
func copyEntry(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		if os.Geteuid() == 0 {
			st := fi.Sys().(*syscall.Stat_t)
			os.Lchown(dst, int(st.Uid), int(st.Gid))
		}
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return finishEntry(fi, dst)
}

// finishEntry sets owner (as root), mode and times of dst from fi.
func finishEntry(fi fs.FileInfo, dst string) error {
	st := fi.Sys().(*syscall.Stat_t)
	if os.Geteuid() == 0 {
		if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if err := os.Chmod(dst, fi.Mode().Perm()|fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

// removeAll is os.RemoveAll that also removes directories without write
// permission (overlayfs leaves its work/work directory mode 000).
func removeAll(p string) error {
	err := os.RemoveAll(p)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// recovery is the RecoveryFile: present only while a snapshot-mode run may
// have modified the tree.
type recovery struct {
	Tree     string `json:"tree"`
	Snapshot string `json:"snapshot"`
	Scratch  string `json:"scratch"`
	Owned    bool   `json:"owned"`
}

func (r *Runner) markDirty(dirty bool) error {
	if r.cfg.RecoveryFile == "" {
		return nil
	}
	if !dirty {
		if err := os.Remove(r.cfg.RecoveryFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, _ := json.MarshalIndent(recovery{Tree: r.cfg.Dir, Snapshot: r.snap.dir, Scratch: r.scratch, Owned: r.ownScratch}, "", "  ")
	return atomicfile.Replace(r.cfg.RecoveryFile, append(b, '\n'), 0o600)
}

// recover restores the tree if a previous loupe died during a snapshot-mode
// run.
func (r *Runner) recover() error {
	if r.cfg.RecoveryFile == "" {
		return nil
	}
	b, err := os.ReadFile(r.cfg.RecoveryFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	var rec recovery
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("recovery file %s: %w", r.cfg.RecoveryFile, err)
	}
	// The file may lie in a tree the workload writes: restore only this
	// analysis's tree, from a snapshot in a scratch directory of ours.
	bad := func(why string) error {
		return fmt.Errorf("recovery file %s: %s: it was not written by loupe for this analysis; check the tree %s, then remove the file",
			r.cfg.RecoveryFile, why, r.cfg.Dir)
	}
	switch {
	case rec.Tree != r.cfg.Dir:
		return bad(fmt.Sprintf("it names the tree %q", rec.Tree))
	case !filepath.IsAbs(rec.Scratch) || rec.Snapshot != filepath.Join(rec.Scratch, "snapshot"):
		return bad(fmt.Sprintf("snapshot %q is not the snapshot directory of scratch %q", rec.Snapshot, rec.Scratch))
	case rec.Owned && !strings.HasPrefix(filepath.Base(rec.Scratch), scratchPrefix):
		return bad(fmt.Sprintf("scratch %q is not named %s*", rec.Scratch, scratchPrefix))
	}
	for _, d := range []string{rec.Scratch, rec.Snapshot} {
		if err := ownedDir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return bad(err.Error())
		}
	}
	if _, err := os.Stat(filepath.Join(rec.Snapshot, "complete")); err != nil {
		return fmt.Errorf("a previous loupe was killed while running in %s, and its snapshot %s is gone: check the tree, then remove %s",
			rec.Tree, rec.Snapshot, r.cfg.RecoveryFile)
	}
	// The manifest is lost: compare everything with the copy instead, by
	// content-insensitive metadata (size, mode, mtime), which the copy
	// preserved.
	s := &snapshot{tree: rec.Tree, dir: rec.Snapshot, keep: r.kept(rec.Tree)}
	m, err := copyManifest(filepath.Join(rec.Snapshot, "tree"), rec.Tree)
	if err != nil {
		return err
	}
	s.manifest = m
	if err := s.restore(); err != nil {
		return fmt.Errorf("restore %s after a killed loupe: %w (its snapshot is %s)", rec.Tree, err, rec.Snapshot)
	}
	r.note(fmt.Sprintf("restored %s from the snapshot of a previous loupe that was killed during a run", rec.Tree))
	if rec.Owned {
		removeAll(rec.Scratch)
	} else {
		removeAll(rec.Snapshot)
	}
	return os.Remove(r.cfg.RecoveryFile)
}

// copyManifest builds a manifest of tree in which an entry counts as
// unchanged only when size, mode and mtime match the copy's and it is no
// newer than the copy. Without the original manifest, ctime cannot be used,
// so files rewritten with identical size and mtime would be missed; to be
// safe, every regular file is marked changed (restored from the copy).
func copyManifest(copyDir, tree string) (map[string]state, error) {
	m := map[string]state{}
	err := filepath.WalkDir(copyDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(copyDir, p)
		st := state{mode: fi.Mode()}
		if fi.IsDir() {
			// Directories are compared by type only; their entries are walked.
			if cur, err := os.Lstat(filepath.Join(tree, rel)); err == nil && cur.IsDir() {
				st = stateOf(cur)
			}
		}
		m[rel] = st
		return nil
	})
	return m, err
}
