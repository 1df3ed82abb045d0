/* Prints the ABI constants internal/pseudofile hard-codes, from libc's and the
 * kernel's headers; compiled and run by TestABIConstants. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>

int main(void)
{
	printf("AT_FDCWD %d\n", AT_FDCWD);
	printf("AT_EMPTY_PATH %d\n", AT_EMPTY_PATH);
	printf("MAP_ANONYMOUS %d\n", MAP_ANONYMOUS);
	return 0;
}
