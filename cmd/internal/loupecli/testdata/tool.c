/* A small program for the CLI tests. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>
int main(int argc, char **argv) {
	const char *m = argc > 1 ? argv[1] : "ok";
	if (!strcmp(m, "exit7"))
		return 7;
	if (!strcmp(m, "segv"))
		raise(SIGSEGV);
	if (!strcmp(m, "term"))
		raise(SIGTERM);
	struct sysinfo si;
	/* Exits with the errno of a failed sysinfo: 38 when stubbed. */
	return sysinfo(&si) == 0 ? 0 : errno;
}
