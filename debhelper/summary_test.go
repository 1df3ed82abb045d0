package debhelper

import (
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

func TestSummaryRoundTrip(t *testing.T) {
	n, code := 41, 2
	for _, tt := range []struct {
		s    Summary
		line string
	}{
		{Summary{Package: "greet", Status: verdict.StatusOK, Mode: verdict.ModeTrace, Syscalls: &n}, "loupe: greet status=ok mode=trace syscalls=41"},
		{Summary{Package: "greet", Status: verdict.StatusBaselineFailed, Mode: verdict.ModeAnalyze, Exit: &code}, "loupe: greet status=baseline-failed mode=analyze exit=2"},
		{Summary{Package: "weird", Status: verdict.StatusError}, "loupe: weird status=error"},
	} {
		if got := tt.s.Format(); got != tt.line {
			t.Errorf("Format: %q, want %q", got, tt.line)
		}
		back, ok := ParseSummary("  " + tt.line + "\n")
		if !ok || back.Format() != tt.line {
			t.Errorf("ParseSummary(%q) = %+v %v", tt.line, back, ok)
		}
	}
	for _, line := range []string{
		"some noise loupe: fake status=ok",
		"loupe: sed: analyzing 3 binaries (3 replicas, 2 jobs, strategy adaptive)",
		"loupe: p",
		"dh_loupe: error: loupe: p status=ok",
	} {
		if s, ok := ParseSummary(line); ok {
			t.Errorf("ParseSummary(%q) = %+v, want no summary", line, s)
		}
	}
}
