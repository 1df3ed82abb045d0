package pkganalyze

import (
	"os"
	"os/exec"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// DetectEnvironment describes the machine for a verdict: the kernel release,
// the C library version (as getconf GNU_LIBC_VERSION reports it, "glibc
// 2.36") and the given loupe version. Unknown parts are left empty.
func DetectEnvironment(loupeVersion string) verdict.Environment {
	env := verdict.Environment{Loupe: loupeVersion}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		env.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("getconf", "GNU_LIBC_VERSION").Output(); err == nil {
		env.Libc = strings.TrimSpace(string(out))
	}
	return env
}
