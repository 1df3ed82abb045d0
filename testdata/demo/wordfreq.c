/* wordfreq: counts the words of its input files; the demo's "package binary". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv) {
	struct rlimit rl;
	/* Raise the open-files limit if we can; fine if we cannot. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	long words = 0;
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "r");
		if (!f) {
			perror(argv[i]);
			return 1;
		}
		int c, in = 0;
		while ((c = fgetc(f)) != EOF) {
			if (isspace(c))
				in = 0;
			else if (!in)
				in = 1, words++;
		}
		fclose(f);
	}
	printf("%ld\n", words);
	return 0;
}
