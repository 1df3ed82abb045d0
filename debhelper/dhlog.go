package debhelper

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// CompatLevel asks dh_assistant for the debhelper compat level of the
// source tree dir.
func CompatLevel(ctx context.Context, dir string, env []string) (int, error) {
	cmd := exec.CommandContext(ctx, "dh_assistant", "active-compat-level")
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("dh_assistant active-compat-level: %w", err)
	}
	var r struct {
		Level int `json:"active-compat-level"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("dh_assistant active-compat-level: %w", err)
	}
	return r.Level, nil
}

// LogsCommands reports whether a debhelper command must record its
// successful run in debian/<package>.debhelper.log, as Debian::Debhelper's
// Dh_Lib does: in compat 9 and earlier, where dh reads the log to skip
// the commands already run (dpkg-buildpackage runs "debian/rules build"
// and then "debian/rules binary", whose dh starts after the last logged
// command of its sequence), and inside override targets
// (DH_INTERNAL_OVERRIDE), where dh reads it to tell for which packages
// the override ran.
func LogsCommands(compat int, env []string) bool {
	if v, _ := LookupEnv(env, "DH_INTERNAL_OVERRIDE"); v != "" && v != "0" { // Perl's truth
		return true
	}
	return compat <= 9
}

// WriteLog appends tool to debian/<package>.debhelper.log under dir for
// each package, as Dh_Lib's write_log does.
func WriteLog(dir, tool string, packages []string) error {
	for _, p := range packages {
		name := filepath.Join(dir, "debian", p+".debhelper.log")
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("debhelper log: %w", err)
		}
		_, err = f.WriteString(tool + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("debhelper log %s: %w", name, err)
		}
	}
	return nil
}

// ReplayEnv is set in the environment of the analysis' re-runs of a test
// step "dh loupe-test" in compat 9 and earlier. There dh_auto_test is
// already in the debhelper logs, so the inner dh would skip it and run
// nothing; the addon then drops dh_auto_test from the logs first. The
// re-runs see the build tree through private overlays (or snapshots), so
// the real logs are untouched.
const ReplayEnv = "DH_LOUPE_REPLAY"
