/* failing-loupe: a program whose test suite fails, to check that a build
 * with loupe fails exactly as it does without. */
#include <stdio.h>

int main(void)
{
	puts("this is not what the test expects");
	return 0;
}
