// Command dh_loupe runs a Debian package's test step under loupe during its
// build, in dh_auto_test's place; installed as dh_loupe_verdict (a link to
// the same program) it writes the verdicts after install. See dh_loupe(1).
package main

import (
	"os"

	"salsa.debian.org/loupe-team/loupe/cmd/internal/dhloupe"
)

func main() { dhloupe.Run(os.Args[0]) }
