package exitstatus

import (
	"fmt"
	"syscall"
)

// Status is how a process ended. As JSON (dh_loupe's recorded test step)
// it is {"code": N} or {"code": 0, "signal": N}.
type Status struct {
	Code       int            `json:"code"`                  // exit code, when Signal == 0
	Signal     syscall.Signal `json:"signal,omitempty"`      // terminating signal, 0 if it exited
	CoreDumped bool           `json:"core_dumped,omitempty"` // the signal dumped a core
}

// Success reports a zero exit code.
func (s Status) Success() bool { return s.Signal == 0 && s.Code == 0 }

// ShellCode is the status a shell reports: the code, or 128+signal.
func (s Status) ShellCode() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code
}

func (s Status) String() string {
	if s.Signal != 0 {
		return killedBy(int(s.Signal), s.Signal.String())
	}
	return fmt.Sprintf("exit %d", s.Code)
}

// Record is a Status as loupe's YAML files write it (the trace file, the
// simulation report): the shell's code, and the signal's name
// (syscall.Signal's String, e.g. "segmentation fault") when it was killed.
type Record struct {
	Code   int    `yaml:"code" json:"code"`
	Signal string `yaml:"signal,omitempty" json:"signal,omitempty"`
}

// Record returns s as the files write it.
func (s Status) Record() Record {
	if s.Signal != 0 {
		return Record{Code: s.ShellCode(), Signal: s.Signal.String()}
	}
	return Record{Code: s.Code}
}

// Success reports a zero exit code.
func (r Record) Success() bool { return r.Code == 0 && r.Signal == "" }

// String says it as Status.String does.
func (r Record) String() string {
	if r.Signal != "" {
		return killedBy(r.Code-128, r.Signal)
	}
	return fmt.Sprintf("exit %d", r.Code)
}

func killedBy(n int, name string) string { return fmt.Sprintf("killed by signal %d (%s)", n, name) }
