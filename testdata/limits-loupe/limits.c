/* limits-loupe: a program with a known answer for loupe's analyze mode.
 * It reads its open-files limit (getrlimit, the prlimit64 syscall) but
 * falls back to a default when it cannot, so prlimit64 can be stubbed or
 * faked; and it checks that its answer was written (write(2)), so write is
 * required. It is linked statically to keep the syscalls, and so the
 * experiments, few. */
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
	struct rlimit rl = { 1024, 1024 };
	const char *msg;
	size_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = 1024; /* the usual soft limit */
	msg = rl.rlim_cur >= 16 ? "limits-loupe: enough files\n" : "limits-loupe: too few files\n";
	n = strlen(msg);
	if (write(1, msg, n) != (ssize_t)n)
		return 1;
	return 0;
}
