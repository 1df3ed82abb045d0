// Command dh_loupe_verdict attributes what dh_loupe traced to the binary
// packages and writes their verdicts. See dh_loupe_verdict(1). The Debian
// package installs it as a link to dh_loupe, which dispatches on its name.
package main

import "salsa.debian.org/loupe-team/loupe/cmd/internal/dhloupe"

func main() { dhloupe.Run("dh_loupe_verdict") }
