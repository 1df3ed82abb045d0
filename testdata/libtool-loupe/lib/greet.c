/* libgreet: the uninstalled shared library that makes libtool wrap greet. */
#include <stdio.h>

int greet_write(const char *who)
{
	/* A failed write must fail the program: write(2) is required. */
	if (printf("Hello, %s!\n", who) < 0 || fflush(stdout) != 0)
		return -1;
	return 0;
}
