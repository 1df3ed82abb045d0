/* hello-loupe: the example program that dh_loupe's tests and demo build.
 * It greets, and reports the machine it runs on (uname(2)), so that its
 * verdict lists a syscall the test helper never makes. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

int main(int argc, char **argv)
{
	struct utsname u;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		puts("hello-loupe 1.0");
		return 0;
	}
	if (uname(&u) != 0) {
		perror("uname");
		return 1;
	}
	printf("Hello, %s! (%s)\n", argc > 1 ? argv[1] : "loupe", u.machine);
	return 0;
}
