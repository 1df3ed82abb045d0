package debhelper

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/exitstatus"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// StateDir holds dh_loupe's working state between the build target (the
// test step) and the binary target (attribution, experiments, verdicts).
// It is inside debian/.debhelper/, which dh_clean removes.
const StateDir = "debian/.debhelper/loupe"

// RunSchema identifies the format of a recorded test step.
const RunSchema = "loupe/dh-run/v1"

// Step is a test step as it ran, so that the binary target can run it
// again for experiments: argv, environment (without fakeroot) and
// directory.
type Step struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
}

// Exit is how the test step ended.
type Exit = exitstatus.Status

// Run is one recorded test step (one dh_loupe call) and what it ran.
type Run struct {
	Schema string `json:"schema"`
	// Packages are the binary packages the step was run for.
	Packages []string `json:"packages"`
	Mode     Mode     `json:"mode"`
	// Skipped is set when nocheck skipped the step: nothing was traced.
	Skipped bool `json:"skipped,omitempty"`
	Step    Step `json:"step"`
	Exit    Exit `json:"exit"`
	// Error is loupe's own failure, if any (the step itself may have run
	// untraced).
	Error string `json:"error,omitempty"`
	// Whitelist describes which executables were in scope.
	Whitelist string `json:"whitelist,omitempty"`
	// Binaries are the in-scope executables, with their absolute
	// build-tree paths.
	Binaries  []verdict.Binary `json:"binaries,omitempty"`
	Processes int              `json:"processes,omitempty"`
	Execs     int              `json:"execs,omitempty"`
	Started   time.Time        `json:"started"`
	Wall      float64          `json:"wall_seconds"`
	// Mechanism is how syscalls were stopped (seccomp or ptrace).
	Mechanism string `json:"mechanism,omitempty"`
}

// Covers reports whether the run was made for pkg.
func (r *Run) Covers(pkg string) bool { return contains(r.Packages, pkg) }

// runFile names a run's file after the set of packages it covers, so that
// running the same step again replaces its record.
func runFile(dir string, pkgs []string) string {
	h := sha256.Sum256([]byte(strings.Join(sortedUnique(pkgs), "\n")))
	return filepath.Join(dir, StateDir, "run-"+hex.EncodeToString(h[:6])+".json")
}

// CheckRun tells, before the test step runs, whether WriteRun will be able
// to record a run for pkgs: the state directory can be made and the record
// written (a test suite can take hours; its trace must not be lost then).
func CheckRun(srcDir string, pkgs []string) error {
	p := runFile(srcDir, pkgs)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("record test step: %w", err)
	}
	if err := atomicfile.CheckReplaceable(p); err != nil {
		return fmt.Errorf("record test step: %w", err)
	}
	return nil
}

// WriteRun records a run under srcDir's state directory, atomically.
func WriteRun(srcDir string, r *Run) (string, error) {
	r.Schema = RunSchema
	p := runFile(srcDir, r.Packages)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("record test step: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("record test step: %w", err)
	}
	// The test step that just ran could have planted a symlink there:
	// replace, never follow.
	if err := atomicfile.Replace(p, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("record test step: %w", err)
	}
	return p, nil
}

// ReadRuns reads every recorded run under srcDir, newest first.
func ReadRuns(srcDir string) ([]*Run, error) {
	paths, err := filepath.Glob(filepath.Join(srcDir, StateDir, "run-*.json"))
	if err != nil {
		return nil, err
	}
	var runs []*Run
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read recorded test step: %w", err)
		}
		var r Run
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w (remove it, or run dh_clean)", p, err)
		}
		if r.Schema != RunSchema {
			return nil, fmt.Errorf("%s: schema %q, want %s (remove it, or run dh_clean)", p, r.Schema, RunSchema)
		}
		runs = append(runs, &r)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Started.After(runs[j].Started) })
	return runs, nil
}

// LatestRun returns the newest run made for pkg, or nil.
func LatestRun(runs []*Run, pkg string) *Run {
	for _, r := range runs {
		if r.Covers(pkg) {
			return r
		}
	}
	return nil
}

// WithoutFakeroot returns env without fakeroot's LD_PRELOAD library and
// FAKEROOTKEY. Without Rules-Requires-Root: no, the binary target runs
// under fakeroot, but a test step re-run there must run as it did in the
// build target.
func WithoutFakeroot(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "FAKEROOTKEY", "FAKED_MODE":
			continue
		case "LD_PRELOAD":
			var keep []string
			for _, lib := range strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ' ' }) {
				if !strings.Contains(filepath.Base(lib), "libfakeroot") {
					keep = append(keep, lib)
				}
			}
			if len(keep) == 0 {
				continue
			}
			kv = k + "=" + strings.Join(keep, ":")
		case "LD_LIBRARY_PATH":
			// fakeroot adds its private library directory.
			var keep []string
			for _, d := range strings.Split(v, ":") {
				if !strings.Contains(d, "libfakeroot") {
					keep = append(keep, d)
				}
			}
			if len(keep) == 0 {
				continue
			}
			kv = k + "=" + strings.Join(keep, ":")
		}
		out = append(out, kv)
	}
	return out
}
