package ptracetest

import (
	"context"
	"errors"
	"testing"

	"salsa.debian.org/loupe-team/loupe/tracer"
)

// Require skips when the machine cannot trace at all, and fails when it
// can but tracing /bin/true does not work.
func Require(t *testing.T) {
	t.Helper()
	res, err := tracer.Run(context.Background(), tracer.Command{Path: "/bin/true"}, tracer.Options{})
	if errors.Is(err, tracer.ErrPtraceDenied) {
		t.Skipf("ptrace is not permitted here: %v", err)
	}
	if err != nil || !res.Exit.Success() {
		t.Fatalf("tracing /bin/true: %v %v", res, err)
	}
}
