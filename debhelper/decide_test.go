package debhelper

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/exitstatus"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

func TestDecide(t *testing.T) {
	ran := &Run{Binaries: []verdict.Binary{{Path: "/b/sed"}}}
	failed := &Run{Binaries: ran.Binaries, Exit: exitstatus.Status{Code: 2}}
	killed := &Run{Binaries: ran.Binaries, Exit: exitstatus.Status{Signal: syscall.SIGSEGV}}
	broken := &Run{Error: "cannot trace: ptrace not permitted"}
	halfBroken := &Run{Binaries: ran.Binaries, Error: "a probe timed out"}
	for _, tt := range []struct {
		name   string
		in     VerdictInput
		status verdict.Status
		reason string // a part of it
		ran    bool
	}{
		{"settings problems first", VerdictInput{Problems: []error{errors.New("a"), errors.New("b")}, NoCheck: true, Run: failed},
			verdict.StatusError, "a; b", false},
		{"nocheck", VerdictInput{NoCheck: true}, verdict.StatusSkipped, "nocheck", false},
		{"skipped step", VerdictInput{Run: &Run{Skipped: true}}, verdict.StatusSkipped, "nocheck", false},
		{"unreadable records", VerdictInput{RunsErr: errors.New("bad json"), Run: ran}, verdict.StatusError, "bad json", false},
		{"no step", VerdictInput{Package: "sed"}, verdict.StatusError, "no test step was recorded for sed", false},
		{"step error, nothing traced", VerdictInput{Run: broken}, verdict.StatusError, "ptrace not permitted", false},
		{"index error", VerdictInput{Run: ran, IndexErr: errors.New("no debian/sed")}, verdict.StatusError, "no debian/sed", false},
		{"tests failed", VerdictInput{Run: failed}, verdict.StatusBaselineFailed, "the test step failed: exit 2", true},
		{"tests killed", VerdictInput{Run: killed}, verdict.StatusBaselineFailed, "killed by signal 11", true},
		{"on to attribution", VerdictInput{Run: ran}, "", "", true},
		{"step error, something traced: attribute first", VerdictInput{Run: halfBroken}, "", "", true},
	} {
		d := Decide(tt.in)
		if d.Status != tt.status || !strings.Contains(d.Reason, tt.reason) || d.Ran != tt.ran || (tt.status == "" && d.Reason != "") {
			t.Errorf("%s: %+v, want %q %q ran %v", tt.name, d, tt.status, tt.reason, tt.ran)
		}
	}
}

func TestAttributed(t *testing.T) {
	ok := &Run{}
	for _, tt := range []struct {
		name         string
		run          *Run
		notExercised string
		mode         Mode
		status       verdict.Status
		reason       string
	}{
		{"step error", &Run{Error: "a probe timed out"}, "no binary ran", ModeAnalyze, verdict.StatusError, "a probe timed out"},
		{"not exercised", ok, "none of sed's binaries ran", ModeAnalyze, verdict.StatusNotExercised, "none of sed's binaries ran"},
		{"trace mode", ok, "", ModeTrace, verdict.StatusOK, ""},
		{"analyze mode: experiments", ok, "", ModeAnalyze, "", ""},
	} {
		d := Attributed(tt.run, tt.notExercised, tt.mode)
		if d.Status != tt.status || d.Reason != tt.reason || !d.Ran {
			t.Errorf("%s: %+v, want %q %q", tt.name, d, tt.status, tt.reason)
		}
	}
}
