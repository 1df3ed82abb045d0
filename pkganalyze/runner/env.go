package runner

import (
	"context"
	"os"
	"os/exec"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Environment describes this machine, where the runs are made, for a
// verdict: the kernel release, the C library version (as getconf
// GNU_LIBC_VERSION reports it, "glibc 2.36") and the given loupe version.
// Unknown parts are left empty. loupe analyze and dh_loupe (both modes) use
// it.
func Environment(ctx context.Context, loupeVersion string) verdict.Environment {
	env := verdict.Environment{Loupe: loupeVersion}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		env.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.CommandContext(ctx, "getconf", "GNU_LIBC_VERSION").Output(); err == nil {
		env.Libc = strings.TrimSpace(string(out))
	}
	return env
}
