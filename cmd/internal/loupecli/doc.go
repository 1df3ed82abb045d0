// Package loupecli is the `loupe` command line: it turns arguments into calls
// on tracer, pkganalyze and debhelper and does nothing else. New builds the
// urfave/cli application, so that tests and the bash completion script
// (loupe completion bash, generated at package build time) use the same
// definition as the binary. loupe(1) is written by hand (doc/man/loupe.pod);
// a test checks that it names every command and option.
//
// Standard output belongs to the workload in trace (its result goes to a
// file) and to the result elsewhere; messages go to standard error.
package loupecli
