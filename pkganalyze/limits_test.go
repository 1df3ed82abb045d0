package pkganalyze

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// TestAnalyzeRefusesOutOfBounds: a negative timeout used to reach the runs
// (and turn the per-run limit off); negative counts silently became the
// defaults. Now nothing is run and the verdict says why.
func TestAnalyzeRefusesOutOfBounds(t *testing.T) {
	s, err := loadScenario(filepath.Join("testdata", "scenarios", "mixed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout -1s: want"},
		{"huge timeout", func(c *Config) { c.Timeout = 1000 * time.Hour }, "at most 24h"},
		{"negative replicas", func(c *Config) { c.Replicas = -1 }, "replicas -1: want a whole number from 0 to 100"},
		{"too many jobs", func(c *Config) { c.Jobs = 100000 }, "jobs 100000: want a whole number from 0 to 256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := scenarioConfig(t, s, StrategyAdaptive)
			tt.mod(&cfg)
			r := &scenarioRunner{s: s}
			f, err := Analyze(context.Background(), r, cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
			if f == nil || f.Status != verdict.StatusError || !strings.Contains(f.Reason, tt.want) {
				t.Errorf("verdict %+v", f)
			}
			if len(r.made) > 0 {
				t.Errorf("%d runs made", len(r.made))
			}
		})
	}
}
