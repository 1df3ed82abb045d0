/* standin-loupe: a program whose test suite never runs it. "make check"
 * runs standin-loupe-debug, a test-only build of the same source (static,
 * unoptimised, with DEBUG set), which debian/loupe.yaml declares as its
 * stand-in. It has limits-loupe's known answer: it reads its open-files
 * limit (prlimit64) but falls back to a default when it cannot, so
 * prlimit64 can be stubbed and faked; it checks its write(2), so write is
 * required. */
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
	msg = rl.rlim_cur >= 16 ? "standin-loupe: enough files\n" : "standin-loupe: too few files\n";
#ifdef DEBUG
	if (rl.rlim_cur > rl.rlim_max)
		msg = "standin-loupe: inconsistent limits\n";
#endif
	n = strlen(msg);
	if (write(1, msg, n) != (ssize_t)n)
		return 1;
	return 0;
}
