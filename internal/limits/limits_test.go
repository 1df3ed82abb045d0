package limits

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90s", 90 * time.Second, false},
		{"600", 10 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"24h", 24 * time.Hour, false},
		{"0", 0, false},
		{"0s", 0, false},
		{"auto", 0, false},
		{"-1s", 0, true},
		{"-1", 0, true},
		{"24h1s", 0, true},
		{"86401", 0, true},
		// The values: 1e10 s became negative, 18446744074 s became 290 ms.
		{"10000000000", 0, true},
		{"18446744074", 0, true},
		{"99999999999999999999", 0, true},
		{"9999999999h", 0, true},
		{"", 0, true},
		{"soon", 0, true},
		{"1e3", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseTimeout("timeout=", tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !strings.Contains(err.Error(), "at most 24h") {
			t.Errorf("ParseTimeout(%q): the error does not state the maximum: %v", tt.in, err)
		}
	}
}

func TestParseCount(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{"1", 1, false}, {"100", 100, false}, {"0", 0, true}, {"-3", 0, true}, {"101", 0, true},
		{"9223372036854775808", 0, true}, {"99999999999999999999", 0, true}, {"1.5", 0, true}, {"", 0, true}, {"+2", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseCount("replicas=", tt.in, 1, MaxReplicas)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseCount(%q) = %v, %v", tt.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "from 1 to 100") {
			t.Errorf("ParseCount(%q): the error does not state the range: %v", tt.in, err)
		}
	}
	if err := Count("--jobs", -1, 1, MaxJobs); err == nil || err.Error() != "--jobs -1: want a whole number from 1 to 256" {
		t.Errorf("Count: %v", err)
	}
	if err := Timeout("--timeout", -time.Second); err == nil || !strings.HasPrefix(err.Error(), "--timeout -1s: want a duration") {
		t.Errorf("Timeout: %v", err)
	}
}
