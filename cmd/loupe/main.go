// Command loupe traces and analyses which Linux system calls a program
// really needs. See loupe(1).
package main

import (
	"os"

	"salsa.debian.org/loupe-team/loupe/cmd/internal/loupecli"
)

func main() {
	os.Exit(loupecli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
