package runner

import (
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSweepScratchOnlyOwn: the sweep of stale /var/tmp/loupe-analyze-*
// directories touches only this user's own, real directories. Before, a
// directory of another user (or a symlink named like one) was locked
// through a lock file opened with O_CREATE, following symlinks, after a
// separate stat, and removed.
func TestSweepScratchOnlyOwn(t *testing.T) {
	base := t.TempDir()
	mk := func(name string) string {
		d := filepath.Join(base, scratchPrefix+name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "lock"), nil, 0o600)
		return d
	}
	stale := mk("stale")
	elsewhere := filepath.Join(t.TempDir(), "target")
	os.Mkdir(elsewhere, 0o700)
	os.WriteFile(filepath.Join(elsewhere, "lock"), nil, 0o600)
	link := filepath.Join(base, scratchPrefix+"link")
	os.Symlink(elsewhere, link)
	linkedLock := mk("linked-lock")
	os.Remove(filepath.Join(linkedLock, "lock"))
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, nil, 0o600)
	os.Symlink(victim, filepath.Join(linkedLock, "lock"))
	shared := mk("world-writable")
	os.Chmod(shared, 0o777)
	var others string
	if os.Geteuid() == 0 {
		others = mk("nobody")
		if u, err := user.Lookup("nobody"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			os.Chown(others, uid, uid)
			os.Chown(filepath.Join(others, "lock"), uid, uid)
		}
	}

	sweepScratch(base)

	if _, err := os.Stat(stale); err == nil {
		t.Error("our own stale scratch directory was not removed")
	}
	for _, keep := range []string{link, elsewhere, filepath.Join(elsewhere, "lock"), linkedLock, victim, shared, others} {
		if keep == "" {
			continue
		}
		if _, err := os.Lstat(keep); err != nil {
			t.Errorf("removed: %v", err)
		}
	}
	if others == "" {
		t.Log("not root: the directory of another user was not tried")
	}
}

// TestRecoveryFileChecked: a recovery file is restored only for this
// analysis's tree, from a snapshot in a scratch directory of ours. One
// planted in the state directory (which dh_loupe keeps in the build tree)
// used to make loupe "restore" any directory it named from any copy,
// deleting what the copy lacked.
func TestRecoveryFileChecked(t *testing.T) {
	tree := sampleTree(t)
	victim := t.TempDir()
	writeFile(t, filepath.Join(victim, "precious"), "keep me\n")
	fakeScratch := filepath.Join(t.TempDir(), scratchPrefix+"fake")
	os.MkdirAll(filepath.Join(fakeScratch, "snapshot", "tree"), 0o700)
	os.WriteFile(filepath.Join(fakeScratch, "snapshot", "complete"), nil, 0o600)
	for _, tt := range []struct {
		name string
		rec  recovery
		want string
	}{
		{"another tree", recovery{Tree: victim, Snapshot: filepath.Join(fakeScratch, "snapshot"), Scratch: fakeScratch, Owned: true}, "it names the tree"},
		{"snapshot elsewhere", recovery{Tree: tree, Snapshot: victim, Scratch: fakeScratch, Owned: true}, "is not the snapshot directory"},
		{"scratch not loupe's", recovery{Tree: tree, Snapshot: filepath.Join(victim, "snapshot"), Scratch: victim, Owned: true}, "is not named loupe-analyze-*"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "recovery.json")
			b, _ := json.Marshal(tt.rec)
			os.WriteFile(rec, b, 0o600)
			r, err := New(Config{Command: []string{"/bin/true"}, Dir: tree, Binaries: []string{"/bin/true"}, Isolation: Snapshot, RecoveryFile: rec})
			if err == nil {
				r.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
			if b, err := os.ReadFile(filepath.Join(victim, "precious")); err != nil || string(b) != "keep me\n" {
				t.Errorf("the victim was touched: %q %v", b, err)
			}
			if _, err := os.Stat(fakeScratch); err != nil {
				t.Errorf("the named scratch was removed: %v", err)
			}
		})
	}
}
