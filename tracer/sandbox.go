package tracer

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// prepareSandbox creates the upper and work directories of each overlay in
// sb.Scratch and returns the helper's part of the configuration.
func prepareSandbox(sb *Sandbox) (*helperSandbox, error) {
	if sb.Scratch == "" {
		return nil, fmt.Errorf("sandbox: no scratch directory")
	}
	scratch, err := resolveLoose(sb.Scratch)
	if err != nil {
		return nil, err
	}
	dirs := outermost(sb.Overlay)
	hs := &helperSandbox{PrivateNet: sb.PrivateNetwork, UserNS: os.Geteuid() != 0}
	for i, d := range dirs {
		if under(scratch, d) {
			return nil, fmt.Errorf("sandbox: scratch directory %s is inside overlaid %s", scratch, d)
		}
		o := overlay{Dir: d, Upper: filepath.Join(scratch, fmt.Sprintf("ov%d", i), "upper"),
			Work: filepath.Join(scratch, fmt.Sprintf("ov%d", i), "work")}
		for _, p := range []string{o.Upper, o.Work} {
			if err := os.MkdirAll(p, 0o700); err != nil {
				return nil, fmt.Errorf("sandbox: %w", err)
			}
		}
		hs.Overlays = append(hs.Overlays, o)
	}
	return hs, nil
}

// outermost resolves dirs and drops those inside another listed one.
func outermost(dirs []string) []string {
	var rs []string
	for _, d := range dirs {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			if abs, err := filepath.Abs(r); err == nil {
				rs = append(rs, abs)
			}
		}
	}
	sort.Slice(rs, func(i, j int) bool { return len(rs[i]) < len(rs[j]) || (len(rs[i]) == len(rs[j]) && rs[i] < rs[j]) })
	var out []string
	for _, d := range rs {
		inside := false
		for _, o := range out {
			if under(d, o) {
				inside = true
			}
		}
		if !inside && d != "/" && !strings.HasPrefix(d, "/proc") {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}
