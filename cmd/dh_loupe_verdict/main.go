// Command dh_loupe_verdict attributes what dh_loupe traced to the binary
// packages and writes their verdicts. See dh_loupe_verdict(1).
package main

import (
	"os"

	"salsa.debian.org/loupe-team/loupe/cmd/internal/dhloupe"
)

func main() { os.Exit(dhloupe.Run("dh_loupe_verdict")) }
