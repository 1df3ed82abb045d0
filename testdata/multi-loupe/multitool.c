/* multitool: the architecture-dependent half of multi-loupe. "selftest"
 * reads its scheduling priority with getpriority(2), a syscall only this
 * program makes in the test suite. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "selftest") == 0) {
		errno = 0;
		int prio = getpriority(PRIO_PROCESS, 0);
		if (prio == -1 && errno != 0) {
			perror("getpriority");
			return 1;
		}
		printf("multitool selftest: ok (priority %d)\n", prio);
		return 0;
	}
	printf("multitool: %d arguments\n", argc - 1);
	return 0;
}
