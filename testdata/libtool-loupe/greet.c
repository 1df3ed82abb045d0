/* greet: a program linked against a libtool library; its test runs it
 * through libtool's wrapper script. */
#include <stdio.h>

int greet_write(const char *who);

int main(int argc, char **argv)
{
	return greet_write(argc > 1 ? argv[1] : "libtool") == 0 ? 0 : 1;
}
