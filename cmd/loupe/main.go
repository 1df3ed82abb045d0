// Command loupe traces and analyses which Linux system calls a program
// really needs. See loupe(1).
package main

import (
	"os"

	"salsa.debian.org/loupe-team/loupe/cmd/internal/loupecli"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

func main() {
	code, sig := loupecli.Run(os.Args, os.Stdin, os.Stdout, os.Stderr)
	tracer.Exit(tracer.ExitStatus{Code: code, Signal: sig})
}
