package datadir

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Env names the variable that overrides where the data is.
const Env = "LOUPE_DATA_DIR"

// Installed is where the loupe package installs its data.
const Installed = "/usr/share/loupe"

// Candidates lists the data directories to try, in order.
func Candidates() []string {
	var out []string
	if d := os.Getenv(Env); d != "" {
		out = append(out, d)
	}
	out = append(out, Installed)
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		dir := filepath.Dir(exe)
		out = append(out, filepath.Join(dir, "..", "data"), filepath.Join(dir, "..", "share", "loupe"))
	}
	return out
}

// LoupeDB returns the bundled loupedb directory (it has an apps/
// directory), or an error saying where it looked.
func LoupeDB() (string, error) {
	cands := Candidates()
	var tried []string
	for _, d := range cands {
		p := filepath.Join(d, "loupedb")
		if st, err := os.Stat(filepath.Join(p, "apps")); err == nil && st.IsDir() {
			return filepath.Clean(p), nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("the bundled loupedb data is not installed (looked in %s); install the loupe package, or set %s to the directory that holds loupedb/ (data/ of a source tree)",
		strings.Join(tried, ", "), Env)
}

// OSSuffix ends the name of an OS support file.
const OSSuffix = ".syscalls"

// OSFiles returns the bundled OS support files (loupedb/<OS>.syscalls, what
// Kerla, OSv, gVisor... implement), by OS name as the file names it
// ("Kerla"), sorted.
func OSFiles() (names, paths []string, err error) {
	db, err := LoupeDB()
	if err != nil {
		return nil, nil, err
	}
	m, err := filepath.Glob(filepath.Join(db, "*"+OSSuffix))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(m)
	for _, p := range m {
		names = append(names, strings.TrimSuffix(filepath.Base(p), OSSuffix))
		paths = append(paths, p)
	}
	return names, paths, nil
}
