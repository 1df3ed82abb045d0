// Package ptracetest lets the tests of tracer's users (the runner, the
// commands, dh_loupe's end-to-end tests) skip, with the reason, on a machine
// where ptrace is not permitted. It sits beside tracer, like
// net/http/httptest, because it runs the tracer; tracer's own tests and the
// packages under internal/ use internal/testutil instead.
package ptracetest
