#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
	const char *who = argc > 1 ? argv[1] : "world";
	if (printf("hello, %s\n", who) < 0)
		return 1;
	return 0;
}
