package progress

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// State is how far the job has come.
type State struct {
	// Done of Planned units of work (runs, packages), named by What.
	Done, Planned int
	// Settled of Units, when Units > 0: results decided so far (an
	// analysis's units, whose stub and fake verdicts are known).
	Settled, Units int
}

// Options tune a Printer; the zero value detects the terminal.
type Options struct {
	// What names the work counted ("runs", "packages").
	What string
	// TTY forces the terminal (true) or log (false) behaviour; nil
	// detects it from the writer.
	TTY *bool
	// Interval between plain lines in a log (default 30s).
	Interval time.Duration
	// Now is the clock (tests fix it); nil is time.Now.
	Now func() time.Time
}

// Printer prints the progress of one job to w.
type Printer struct {
	w        io.Writer
	prefix   string
	opt      Options
	tty      bool
	start    time.Time
	mu       sync.Mutex
	st       State
	shown    bool // a status line is on the terminal
	lastLine time.Time
	lastStep int // tenths of Planned reached at the last plain line
	stop     chan struct{}
	done     chan struct{}
}

// New returns a Printer writing lines that start with prefix ("loupe: ").
func New(w io.Writer, prefix string, opt Options) *Printer {
	if opt.Interval <= 0 {
		opt.Interval = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.What == "" {
		opt.What = "runs"
	}
	p := &Printer{w: w, prefix: prefix, opt: opt}
	if opt.TTY != nil {
		p.tty = *opt.TTY
	} else if f, ok := w.(*os.File); ok {
		p.tty = isTerminal(f)
	}
	p.start = opt.Now()
	p.lastLine = p.start
	return p
}

// TTY reports whether the printer draws a status line on a terminal.
func (p *Printer) TTY() bool { return p.tty }

// Start starts the clock that refreshes the terminal line every second
// and prints the periodic plain lines.
func (p *Printer) Start() {
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	tick := time.Second
	if !p.tty {
		tick = min(p.opt.Interval, time.Second)
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.refresh(false)
				p.mu.Unlock()
			}
		}
	}()
}

// Update records the job's state and shows it if due.
func (p *Printer) Update(s State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st = s
	p.refresh(true)
}

// Stop ends the clock and clears the terminal line; in a log it prints
// a last line.
func (p *Printer) Stop() {
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.stop = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.clear()
		return
	}
	if p.st.Planned > 0 || p.st.Done > 0 {
		fmt.Fprintln(p.w, p.prefix+p.line())
	}
}

// Log returns a writer for the job's log lines: on a terminal they are
// written above the status line, which is then redrawn.
func (p *Printer) Log(w io.Writer) io.Writer { return &logWriter{p: p, w: w} }

type logWriter struct {
	p   *Printer
	w   io.Writer
	buf []byte
}

func (l *logWriter) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.buf = append(l.buf, b...)
	i := bytes.LastIndexByte(l.buf, '\n')
	if i < 0 {
		return len(b), nil
	}
	if l.p.tty {
		l.p.clear()
	}
	_, err := l.w.Write(l.buf[:i+1])
	l.buf = append(l.buf[:0], l.buf[i+1:]...)
	if l.p.tty {
		l.p.draw()
	}
	return len(b), err
}

// refresh shows the state: the terminal line always; a plain line when
// Interval passed or a tenth of the work was done since the last one.
// Precondition: p.mu is held.
func (p *Printer) refresh(update bool) {
	if p.tty {
		p.draw()
		return
	}
	now := p.opt.Now()
	step := 0
	if p.st.Planned > 0 {
		step = 10 * p.st.Done / p.st.Planned
	}
	if now.Sub(p.lastLine) >= p.opt.Interval || (update && step > p.lastStep) {
		fmt.Fprintln(p.w, p.prefix+p.line())
		p.lastLine, p.lastStep = now, step
	}
}

// draw rewrites the terminal line. Precondition: p.mu is held.
func (p *Printer) draw() {
	fmt.Fprint(p.w, "\r\x1b[K"+p.prefix+p.line())
	p.shown = true
}

// clear erases the terminal line. Precondition: p.mu is held.
func (p *Printer) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// line is the status, without prefix or newline.
func (p *Printer) line() string {
	s := p.st
	elapsed := p.opt.Now().Sub(p.start)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d/%d", p.opt.What, s.Done, max(s.Planned, s.Done))
	if s.Units > 0 {
		fmt.Fprintf(&b, ", units settled %d/%d", s.Settled, s.Units)
	}
	fmt.Fprintf(&b, ", %s elapsed", Duration(elapsed))
	switch {
	case s.Done > 0 && s.Planned > s.Done:
		eta := time.Duration(float64(elapsed) / float64(s.Done) * float64(s.Planned-s.Done))
		fmt.Fprintf(&b, ", ETA %s", Duration(eta))
	case s.Done == 0:
		b.WriteString(", ETA unknown")
	}
	return b.String()
}

// Duration prints a duration to the second: "45s", "1m02s", "2h05m".
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}
