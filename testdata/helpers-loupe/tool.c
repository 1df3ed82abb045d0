/* helpers-loupe's programs: one source, three shipped tools (TOOL is
 * upper, lower or count), so the package has a handful of binaries. */
#include <ctype.h>
#include <stdio.h>

int main(void)
{
	int c;
	long n = 0;

	while ((c = getchar()) != EOF) {
		n++;
#ifdef UPPER
		putchar(toupper(c));
#elif defined(LOWER)
		putchar(tolower(c));
#endif
	}
#ifdef COUNT
	printf("%ld\n", n);
#endif
	return ferror(stdout) ? 1 : 0;
}
