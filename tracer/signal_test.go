package tracer

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestSendSignalRefusesProcessGroups: kill(0, sig) and kill(-1, sig) reach
// a whole process group or every process; the tracer's kills must never.
// Signal 0 only checks permission, so without the guard these calls succeed
// (and the test fails) without harming anything.
func TestSendSignalRefusesProcessGroups(t *testing.T) {
	for _, pid := range []int{0, -1, -unix.Getpgrp()} {
		if err := sendSignal(pid, 0); err == nil {
			t.Errorf("sendSignal(%d, 0) succeeded: the tracer could signal a process group", pid)
		}
	}
	if err := sendSignal(unix.Getpid(), 0); err != nil {
		t.Errorf("sendSignal(own pid, 0): %v", err)
	}
}
