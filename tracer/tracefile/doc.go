// Package tracefile is the file `loupe trace` writes: one traced run, schema
// "loupe/trace/v1", documented in doc/trace-schema.md. FromResult turns a
// tracer.Result into one; Marshal, WriteFile and ReadFile write and read it.
//
// It is loupe trace's output only. Other formats a newcomer may look for
// are elsewhere: the test step dh_loupe records between the build and the
// binary target is debhelper.Run ("loupe/dh-run/v1", debhelper/state.go); a
// run of an analysis is pkganalyze.Outcome, journaled by --state; a verdict
// is internal/verdict ("loupe/verdict/v2").
//
// Unlike a verdict it records raw observations, pids included, so it is not
// meant to be deterministic; lists are still sorted where order carries no
// information.
package tracefile
