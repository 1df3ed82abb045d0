/* nodh-loupe: a program packaged with a debian/rules that does not use dh.
 * It reports the current time (clock_gettime(2) through the vDSO, and
 * time(2) not at all) and its process id (getpid(2)). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("nodh-loupe: pid %ld\n", (long)getpid());
	return 0;
}
