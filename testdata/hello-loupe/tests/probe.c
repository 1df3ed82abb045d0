/* probe: a test helper that is built and run by "make check" but not
 * installed. It checks that its standard input contains a word, and asks
 * sysinfo(2) for the uptime, a syscall hello-loupe never makes: the
 * verdict must list it for the helper, never for the shipped program. */
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

int main(int argc, char **argv)
{
	char line[256];
	struct sysinfo si;
	int found = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: probe WORD < output\n");
		return 2;
	}
	if (sysinfo(&si) != 0) {
		perror("sysinfo");
		return 2;
	}
	while (fgets(line, sizeof line, stdin))
		if (strstr(line, argv[1]))
			found = 1;
	if (!found) {
		fprintf(stderr, "probe: %s not found\n", argv[1]);
		return 1;
	}
	return 0;
}
