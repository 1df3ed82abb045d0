// Package ptracetest lets the tests of tracer's users (the runner, the
// commands, dh_loupe's end-to-end tests) skip, with the reason, on a machine
// where ptrace is not permitted. It sits beside tracer, like
// net/http/httptest, because it runs the tracer; tracer's own tests and the
// packages under internal/ use internal/testutil instead.
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
