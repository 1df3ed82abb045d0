/* A multi-mode test program for the tracer's tests: `fixture MODE [ARGS]`.
 * Each mode exercises one kernel behaviour the tracer must get right. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *self;

static void *thread_getppid(void *arg) {
	long n = (long)arg;
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	return NULL;
}

static void *thread_exec(void *arg) {
	(void)arg;
	char *argv[] = {(char *)self, "exit", "5", NULL};
	execv(self, argv);
	_exit(99);
}

/* procids: a thread names its own /proc/<tid> and /proc/<pid>/task/<tid>. */
static void *thread_procids(void *arg) {
	char p[96];
	struct stat st;
	long tid = syscall(SYS_gettid);
	(void)arg;
	snprintf(p, sizeof p, "/proc/%ld/stat", tid);
	stat(p, &st);
	snprintf(p, sizeof p, "/proc/%d/task/%ld/status", getpid(), tid);
	stat(p, &st);
	return NULL;
}

/* untraced_child creates a child the way fork does, but with CLONE_UNTRACED
 * (through clone, or clone3 when use3), so that a tracer is not told of it. */
static pid_t untraced_child(int use3) {
	if (use3) {
		struct clone_args ca;
		memset(&ca, 0, sizeof ca);
		ca.flags = CLONE_UNTRACED;
		ca.exit_signal = SIGCHLD;
		return syscall(SYS_clone3, &ca, sizeof ca);
	}
	return syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
}

static volatile sig_atomic_t chld;
static void onchld(int s) { (void)s; chld++; }

int main(int argc, char **argv) {
	self = argv[0];
	const char *mode = argc > 1 ? argv[1] : "sysinfo";
	if (!strcmp(mode, "sysinfo")) {
		struct sysinfo si;
		return sysinfo(&si) == 0 ? 0 : 1;
	}
	if (!strcmp(mode, "exit"))
		return atoi(argv[2]);
	if (!strcmp(mode, "getppid")) {
		long n = atol(argv[2]);
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		return 0;
	}
	if (!strcmp(mode, "threads")) {
		int n = atoi(argv[2]);
		pthread_t t[64];
		for (int i = 0; i < n; i++)
			pthread_create(&t[i], NULL, thread_getppid, (void *)100L);
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	if (!strcmp(mode, "forkexec")) {
		/* fixture -> sh -> fixture */
		char cmd[4096];
		snprintf(cmd, sizeof cmd, "'%s' exit 4", self);
		int st = system(cmd);
		return WIFEXITED(st) && WEXITSTATUS(st) == 4 ? 0 : 1;
	}
	if (!strcmp(mode, "spawn")) {
		pid_t pid;
		char *args[] = {(char *)self, "exit", "6", NULL};
		if (posix_spawn(&pid, self, NULL, NULL, args, environ))
			return 1;
		int st;
		waitpid(pid, &st, 0);
		return WIFEXITED(st) && WEXITSTATUS(st) == 6 ? 0 : 1;
	}
	if (!strcmp(mode, "threadexec")) {
		pthread_t t;
		pthread_create(&t, NULL, thread_exec, NULL);
		pause();
		return 98;
	}
	if (!strcmp(mode, "segv")) {
		volatile int *p = NULL;
		*p = 1;
		return 0;
	}
	if (!strcmp(mode, "jobctl")) {
		signal(SIGCHLD, onchld);
		int go[2];
		pipe(go);
		pid_t c = fork();
		if (c == 0) {
			char b;
			raise(SIGSTOP);
			/* Exit only once the parent has seen the continue report:
			 * an exit before it would replace that report. */
			read(go[0], &b, 1);
			_exit(7);
		}
		int st;
		if (waitpid(c, &st, WUNTRACED) != c || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP)
			return 10;
		kill(c, SIGCONT);
		if (waitpid(c, &st, WCONTINUED) != c || !WIFCONTINUED(st))
			return 11;
		write(go[1], "x", 1);
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			return 12;
		return chld > 0 ? 0 : 13;
	}
	if (!strcmp(mode, "signal")) {
		/* A handled signal must reach the handler (re-injected, not swallowed). */
		signal(SIGUSR1, onchld);
		kill(getpid(), SIGUSR1);
		return chld == 1 ? 0 : 14;
	}
	if (!strcmp(mode, "rlimit")) {
		struct rlimit rl;
		int r = getrlimit(RLIMIT_NOFILE, &rl);
		printf("getrlimit=%d errno=%d\n", r, r ? errno : 0);
		return 0;
	}
	if (!strcmp(mode, "mkdir")) {
		int r = mkdir(argv[2], 0755);
		printf("mkdir=%d errno=%d\n", r, r ? errno : 0);
		return 0;
	}
	if (!strcmp(mode, "prctl")) {
		int r1 = prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
		int r2 = prctl(PR_SET_NAME, "loupe-renamed", 0, 0, 0);
		char comm[64] = {0};
		int fd = open("/proc/self/comm", O_RDONLY);
		read(fd, comm, sizeof comm - 1);
		close(fd);
		comm[strcspn(comm, "\n")] = 0;
		printf("keepcaps=%d name=%d comm=%s\n", r1, r2, comm);
		return 0;
	}
	if (!strcmp(mode, "unknown")) {
		long r = syscall(1000);
		printf("syscall1000=%ld errno=%d\n", r, errno);
		return 0;
	}
	if (!strcmp(mode, "show")) {
		char cwd[4096];
		printf("argv:");
		for (int i = 0; i < argc; i++)
			printf(" [%s]", argv[i]);
		printf("\ncwd: %s\nLOUPE_TEST_VAR: %s\n", getcwd(cwd, sizeof cwd), getenv("LOUPE_TEST_VAR"));
		return 0;
	}
	if (!strcmp(mode, "daemon")) {
		/* Leaves a child of its own behind, like a forgotten test server. */
		if (fork() == 0) {
			for (;;)
				pause();
		}
		return 0;
	}
	if (!strcmp(mode, "pidfile")) {
		/* Writes its pid and sleeps forever. */
		FILE *f = fopen(argv[2], "a");
		fprintf(f, "%d\n", getpid());
		fclose(f);
		for (;;)
			pause();
	}
	if (!strcmp(mode, "keepcaps")) {
		int r = prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
		printf("set=%d get=%d\n", r, prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
		return 0;
	}
	if (!strcmp(mode, "procstatus")) {
		/* Reads /proc/self/status through an fd: open, read, read, close. */
		char buf[8192];
		int fd = open("/proc/self/status", O_RDONLY);
		if (fd < 0) {
			printf("open errno=%d\n", errno);
			return 0;
		}
		long n = read(fd, buf, sizeof buf), m = read(fd, buf, sizeof buf);
		close(fd);
		printf("read=%ld+%ld\n", n, m);
		return 0;
	}
	if (!strcmp(mode, "procdir")) {
		/* A relative path under a dirfd opened on /proc/<pid>. */
		char d[64];
		snprintf(d, sizeof d, "/proc/%d", getpid());
		int dfd = open(d, O_RDONLY | O_DIRECTORY);
		int fd = openat(dfd, "stat", O_RDONLY);
		char buf[512];
		printf("read=%ld\n", fd >= 0 ? (long)read(fd, buf, sizeof buf) : -1L);
		return 0;
	}
	if (!strcmp(mode, "procids")) {
		/* /proc and /dev/pts paths spelt with this run's ids. */
		char p[96];
		struct stat st;
		pthread_t t;
		snprintf(p, sizeof p, "/proc/%d/stat", getpid());
		stat(p, &st);
		snprintf(p, sizeof p, "/proc/%d/status", getppid());
		stat(p, &st);
		snprintf(p, sizeof p, "/proc/self/task/%ld/comm", (long)syscall(SYS_gettid));
		stat(p, &st);
		pthread_create(&t, NULL, thread_procids, NULL);
		pthread_join(t, NULL);
		int m = posix_openpt(O_RDWR | O_NOCTTY);
		if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || ptsname(m) == NULL) {
			printf("pts=unavailable errno=%d\n", errno);
			return 0;
		}
		int s = open(ptsname(m), O_RDWR | O_NOCTTY);
		printf("pts=%s open=%d\n", ptsname(m), s >= 0);
		return 0;
	}
	if (!strcmp(mode, "pseudostat")) {
		struct stat st;
		int r = stat(argv[2], &st);
		printf("stat=%d errno=%d dir=%d size=%ld\n", r, r ? errno : 0, r ? -1 : S_ISDIR(st.st_mode), r ? -1L : (long)st.st_size);
		return 0;
	}
	if (!strcmp(mode, "isatty")) {
		int r = isatty(1);
		printf("isatty=%d errno=%d\n", r, r ? 0 : errno);
		return 0;
	}
	if (!strcmp(mode, "mmap")) {
		void *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		int fd = open(argv[0], O_RDONLY);
		void *f = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
		printf("anon=%s file=%s\n", a == MAP_FAILED ? "failed" : "ok", f == MAP_FAILED ? "failed" : "ok");
		return 0;
	}
	if (!strcmp(mode, "fcntl")) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int r1 = fcntl(s, F_SETFD, FD_CLOEXEC);
		int r2 = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
		printf("setfd=%d setfl=%d\n", r1, r2);
		return 0;
	}
	if (!strcmp(mode, "untraced") || !strcmp(mode, "untraced3")) {
		/* untraced MARKER MS: leaves an untraced child that writes MARKER
		 * after MS milliseconds, and exits at once. */
		pid_t c = untraced_child(mode[8] == '3');
		if (c < 0) {
			printf("clone errno=%d\n", errno);
			return 1;
		}
		if (c == 0) {
			usleep(atoi(argv[3]) * 1000);
			FILE *f = fopen(argv[2], "w");
			if (f)
				fclose(f);
			_exit(0);
		}
		return 0;
	}
	if (!strcmp(mode, "untraced-wait") || !strcmp(mode, "untraced3-wait")) {
		/* An untraced child that makes syscalls and reports; the parent
		 * waits for it and exits with its status. */
		fflush(stdout);
		pid_t c = untraced_child(mode[8] == '3');
		if (c < 0) {
			printf("clone errno=%d\n", errno);
			return 1;
		}
		if (c == 0) {
			char buf[64];
			int n = snprintf(buf, sizeof buf, "child ppid=%d\n", getppid() == 0 ? -1 : 1);
			_exit(write(1, buf, n) == n && getpid() > 0 ? 0 : 3);
		}
		int st;
		if (waitpid(c, &st, 0) != c)
			return 4;
		return WIFEXITED(st) ? WEXITSTATUS(st) : 5;
	}
	fprintf(stderr, "fixture: unknown mode %s\n", mode);
	return 2;
}
