package limits

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds.
const (
	// MaxTimeout bounds the limit of one run of a workload (a test suite).
	MaxTimeout = 24 * time.Hour
	// MaxReplicas bounds the replicas of each baseline, experiment and
	// confirmation.
	MaxReplicas = 100
	// MaxJobs bounds the things loupe runs at once: workload runs, package
	// builds, files parsed.
	MaxJobs = 256
)

// TimeoutWant says what a timeout may be, for error messages.
var TimeoutWant = "a duration such as 90s, 30m or 2h (at most " + fmtDuration(MaxTimeout) +
	"), whole seconds, or 0 or auto for automatic (3 x the slowest baseline run, at least 5s)"

// CountWant says what a count in [min, max] may be, for error messages.
func CountWant(min, max int) string { return fmt.Sprintf("a whole number from %d to %d", min, max) }

// Timeout checks a per-run timeout: 0 (automatic) or in (0, MaxTimeout].
// name is how the user spelled the setting ("--timeout").
func Timeout(name string, d time.Duration) error {
	if d < 0 || d > MaxTimeout {
		return fmt.Errorf("%s %s: want %s", name, d, TimeoutWant)
	}
	return nil
}

// ParseTimeout reads a timeout given as a Go duration ("90s", "1h30m"),
// whole seconds ("600"), or "0"/"auto" (automatic, returned as 0). The
// result is checked with Timeout. name prefixes errors.
func ParseTimeout(name, s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("%s%q: want %s", name, s, TimeoutWant)
	}
	s = strings.TrimSpace(s)
	if s == "auto" {
		return 0, nil
	}
	var d time.Duration
	if isDigits(s) {
		n, err := strconv.ParseUint(s, 10, 64)
		// Compare in seconds: n*time.Second overflows (and wraps) above
		// 9223372036 s.
		if err != nil || n > uint64(MaxTimeout/time.Second) {
			return bad()
		}
		d = time.Duration(n) * time.Second
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return bad()
		}
	}
	if d < 0 || d > MaxTimeout {
		return bad()
	}
	return d, nil
}

// Count checks a count in [min, max]. name is how the user spelled the
// setting.
func Count(name string, n, min, max int) error {
	if n < min || n > max {
		return fmt.Errorf("%s %d: want %s", name, n, CountWant(min, max))
	}
	return nil
}

// ParseCount reads a count in [min, max] from s. name prefixes errors.
func ParseCount(name, s string, min, max int) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if !isDigits(strings.TrimPrefix(s, "-")) || err != nil || n < int64(min) || n > int64(max) || n > math.MaxInt {
		return 0, fmt.Errorf("%s%q: want %s", name, s, CountWant(min, max))
	}
	return int(n), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// fmtDuration prints 24h0m0s as 24h.
func fmtDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}
