/* A test helper, built once and copied under hundreds of names the way a
 * gnulib test suite builds hundreds of test programs: each copy checks that
 * its standard input holds a word and is a distinct build-tree executable. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char line[256];
	struct stat st;
	int found = 0;

	if (argc != 2 || fstat(0, &st) != 0)
		return 2;
	while (fgets(line, sizeof line, stdin))
		if (strstr(line, argv[1]))
			found = 1;
	return found ? 0 : 1;
}
