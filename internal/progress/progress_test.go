package progress

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		st      State
		elapsed time.Duration
		want    string
	}{
		{State{Planned: 120}, 0, "runs 0/120, 0s elapsed, ETA unknown"},
		{State{Done: 42, Planned: 120, Settled: 10, Units: 38}, 62 * time.Second, "runs 42/120, units settled 10/38, 1m02s elapsed, ETA 1m55s"},
		{State{Done: 130, Planned: 120}, time.Hour + 5*time.Minute, "runs 130/130, 1h05m elapsed"},
	} {
		c := &fakeClock{time.Unix(0, 0)}
		no := false
		p := New(&bytes.Buffer{}, "", Options{TTY: &no, Now: c.now})
		p.st = tc.st
		c.t = c.t.Add(tc.elapsed)
		if got := p.line(); got != tc.want {
			t.Errorf("line(%+v after %v) = %q, want %q", tc.st, tc.elapsed, got, tc.want)
		}
	}
}

// TestLogLines: in a log, plain lines every tenth of the work or every
// Interval, never an escape code; a last line at Stop.
func TestLogLines(t *testing.T) {
	c := &fakeClock{time.Unix(0, 0)}
	var buf bytes.Buffer
	no := false
	p := New(&buf, "loupe: ", Options{TTY: &no, Now: c.now, Interval: 30 * time.Second})
	for i := 1; i <= 100; i++ {
		c.t = c.t.Add(100 * time.Millisecond)
		p.Update(State{Done: i, Planned: 100})
	}
	// 10 s of work, 100 runs: a line per tenth.
	if n := strings.Count(buf.String(), "\n"); n != 10 {
		t.Errorf("%d lines for 100 runs in 10s, want 10:\n%s", n, buf.String())
	}
	buf.Reset()
	p.Update(State{Done: 100, Planned: 1000})
	c.t = c.t.Add(31 * time.Second)
	p.Update(State{Done: 101, Planned: 1000})
	if !strings.Contains(buf.String(), "runs 101/1000") {
		t.Errorf("no line after the interval: %q", buf.String())
	}
	buf.Reset()
	p.Stop()
	if got := buf.String(); got != "loupe: runs 101/1000, 41s elapsed, ETA 6m05s\n" {
		t.Errorf("last line %q", got)
	}
	if strings.Contains(buf.String(), "\x1b") || strings.Contains(buf.String(), "\r") {
		t.Errorf("escape codes in a log: %q", buf.String())
	}
}

// TestTerminal: on a terminal the status line is rewritten in place, log
// lines go above it, and Stop clears it.
func TestTerminal(t *testing.T) {
	c := &fakeClock{time.Unix(0, 0)}
	var buf bytes.Buffer
	yes := true
	p := New(&buf, "loupe: ", Options{TTY: &yes, Now: c.now})
	p.Update(State{Done: 1, Planned: 4})
	fmt.Fprintf(p.Log(&buf), "loupe: experiment read=stub #1: failed\n")
	p.Update(State{Done: 2, Planned: 4})
	p.Stop()
	want := "\r\x1b[Kloupe: runs 1/4, 0s elapsed, ETA 0s" +
		"\r\x1b[Kloupe: experiment read=stub #1: failed\n" +
		"\r\x1b[Kloupe: runs 1/4, 0s elapsed, ETA 0s" +
		"\r\x1b[Kloupe: runs 2/4, 0s elapsed, ETA 0s" +
		"\r\x1b[K"
	if got := buf.String(); got != want {
		t.Errorf("terminal output\n%q\nwant\n%q", got, want)
	}
}

// TestIsTerminal on a real pseudo-terminal, /dev/null and a pipe.
func TestIsTerminal(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer ptmx.Close()
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlockpt: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptmx.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("ptsname: %v", e)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pts.Close()
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	for _, tc := range []struct {
		name string
		f    *os.File
		want bool
	}{{"pty", pts, true}, {"/dev/null", null, false}, {"pipe", w, false}} {
		if got := isTerminal(tc.f); got != tc.want {
			t.Errorf("isTerminal(%s) = %v, want %v", tc.name, got, tc.want)
		}
		if got := New(tc.f, "", Options{}).TTY(); got != tc.want {
			t.Errorf("New(%s).TTY() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 62 * time.Second: "1m02s", 2*time.Hour + 5*time.Minute + 40*time.Second: "2h05m",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
