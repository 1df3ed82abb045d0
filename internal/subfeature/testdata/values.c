/* Known answers for the sub-feature decoder, from libc's headers (the
 * generator reads mostly the kernel's): each line printed is a syscall
 * number, its six arguments and the key Decode must return. Compiled and run
 * by TestGeneratedValuesMatchGCC. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#if defined(__x86_64__)
#include <asm/prctl.h>
#endif

#define CASE(nr, a0, a1, a2, a3, a4, a5, key)                                   \
	printf("%ld %llu %llu %llu %llu %llu %llu %s\n", (long)(nr),            \
	       (unsigned long long)(a0), (unsigned long long)(a1),                \
	       (unsigned long long)(a2), (unsigned long long)(a3),                \
	       (unsigned long long)(a4), (unsigned long long)(a5), key)

int main(void)
{
	CASE(SYS_ioctl, 0, TCGETS, 0, 0, 0, 0, "ioctl:TCGETS");
	CASE(SYS_ioctl, 3, FIONBIO, 0, 0, 0, 0, "ioctl:FIONBIO");
	CASE(SYS_ioctl, 3, FIOASYNC, 0, 0, 0, 0, "ioctl:FIOASYNC");
	CASE(SYS_ioctl, 1, TIOCGWINSZ, 0, 0, 0, 0, "ioctl:TIOCGWINSZ");
	CASE(SYS_ioctl, 3, TIOCINQ, 0, 0, 0, 0, "ioctl:FIONREAD");
	CASE(SYS_ioctl, 3, TIOCGPTN, 0, 0, 0, 0, "ioctl:TIOCGPTN");
	CASE(SYS_ioctl, 3, SIOCGIFINDEX, 0, 0, 0, 0, "ioctl:SIOCGIFINDEX");
	CASE(SYS_ioctl, 3, FICLONE, 0, 0, 0, 0, "ioctl:FICLONE");
	CASE(SYS_ioctl, 3, BLKGETSIZE64, 0, 0, 0, 0, "ioctl:BLKGETSIZE64");
	CASE(SYS_ioctl, 3, FS_IOC_GETFLAGS, 0, 0, 0, 0, "ioctl:FS_IOC_GETFLAGS");
	CASE(SYS_fcntl, 3, F_SETFD, FD_CLOEXEC, 0, 0, 0, "fcntl:F_SETFD");
	CASE(SYS_fcntl, 3, F_SETFL, O_NONBLOCK, 0, 0, 0, "fcntl:F_SETFL");
	CASE(SYS_fcntl, 3, F_GETLK, 0, 0, 0, 0, "fcntl:F_GETLK");
	CASE(SYS_fcntl, 3, F_GETLK64, 0, 0, 0, 0, "fcntl:F_GETLK");
	CASE(SYS_fcntl, 3, F_DUPFD_CLOEXEC, 3, 0, 0, 0, "fcntl:F_DUPFD_CLOEXEC");
	CASE(SYS_fcntl, 3, F_ADD_SEALS, 0, 0, 0, 0, "fcntl:F_ADD_SEALS");
	CASE(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0, 0, "prctl:PR_SET_KEEPCAPS");
	CASE(SYS_prctl, PR_SET_NAME, 0, 0, 0, 0, 0, "prctl:PR_SET_NAME");
	CASE(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0, "prctl:PR_SET_NO_NEW_PRIVS");
	CASE(SYS_prctl, PR_CAPBSET_READ, 0, 0, 0, 0, 0, "prctl:PR_CAPBSET_READ");
#if defined(__x86_64__)
	CASE(SYS_arch_prctl, ARCH_SET_FS, 0, 0, 0, 0, 0, "arch_prctl:ARCH_SET_FS");
	CASE(SYS_arch_prctl, ARCH_GET_FS, 0, 0, 0, 0, 0, "arch_prctl:ARCH_GET_FS");
#endif
	CASE(SYS_madvise, 0, 4096, MADV_DONTNEED, 0, 0, 0, "madvise:MADV_DONTNEED");
	CASE(SYS_madvise, 0, 4096, MADV_FREE, 0, 0, 0, "madvise:MADV_FREE");
	CASE(SYS_madvise, 0, 4096, MADV_HUGEPAGE, 0, 0, 0, "madvise:MADV_HUGEPAGE");
	CASE(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, 0, 0, 0, "prlimit64:RLIMIT_NOFILE");
	CASE(SYS_prlimit64, 0, RLIMIT_STACK, 0, 0, 0, 0, "prlimit64:RLIMIT_STACK");
	CASE(SYS_prlimit64, 0, RLIMIT_CORE, 0, 0, 0, 0, "prlimit64:RLIMIT_CORE");
#ifdef SYS_getrlimit
	CASE(SYS_getrlimit, RLIMIT_AS, 0, 0, 0, 0, 0, "getrlimit:RLIMIT_AS");
	CASE(SYS_setrlimit, RLIMIT_NPROC, 0, 0, 0, 0, 0, "setrlimit:RLIMIT_NPROC");
#endif
	CASE(SYS_rt_sigaction, SIGINT, 0, 0, 8, 0, 0, "rt_sigaction:SIGINT");
	CASE(SYS_rt_sigaction, SIGPOLL, 0, 0, 8, 0, 0, "rt_sigaction:SIGIO");
	CASE(SYS_rt_sigaction, SIGCHLD, 0, 0, 8, 0, 0, "rt_sigaction:SIGCHLD");
	CASE(SYS_rt_sigaction, SIGPIPE, 0, 0, 8, 0, 0, "rt_sigaction:SIGPIPE");
	CASE(SYS_futex, 0, FUTEX_WAIT, 0, 0, 0, 0, "futex:FUTEX_WAIT");
	CASE(SYS_futex, 0, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0, "futex:FUTEX_WAIT");
	CASE(SYS_futex, 0, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 0, 0, 0, 0, "futex:FUTEX_WAIT_BITSET");
	CASE(SYS_futex, 0, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0, "futex:FUTEX_WAKE");
	CASE(SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0, "socket:AF_INET+SOCK_STREAM");
	CASE(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP, 0, 0, 0, "socket:AF_INET+SOCK_STREAM");
	CASE(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, 0, 0, 0, "socket:AF_UNIX+SOCK_DGRAM");
	CASE(SYS_socket, AF_INET6, SOCK_DGRAM, 0, 0, 0, 0, "socket:AF_INET6+SOCK_DGRAM");
	CASE(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0, 0, 0, 0, "socket:AF_NETLINK+SOCK_RAW");
	CASE(SYS_setsockopt, 3, SOL_SOCKET, SO_REUSEADDR, 0, 4, 0, "setsockopt:SOL_SOCKET+SO_REUSEADDR");
	CASE(SYS_setsockopt, 3, SOL_SOCKET, SO_KEEPALIVE, 0, 4, 0, "setsockopt:SOL_SOCKET+SO_KEEPALIVE");
	CASE(SYS_setsockopt, 3, SOL_SOCKET, SO_RCVTIMEO, 0, 16, 0, "setsockopt:SOL_SOCKET+SO_RCVTIMEO");
	CASE(SYS_setsockopt, 3, IPPROTO_TCP, TCP_NODELAY, 0, 4, 0, "setsockopt:SOL_TCP+TCP_NODELAY");
	CASE(SYS_setsockopt, 3, IPPROTO_IPV6, IPV6_V6ONLY, 0, 4, 0, "setsockopt:SOL_IPV6+IPV6_V6ONLY");
	CASE(SYS_setsockopt, 3, IPPROTO_IP, IP_TOS, 0, 4, 0, "setsockopt:SOL_IP+IP_TOS");
	CASE(SYS_getsockopt, 3, SOL_SOCKET, SO_ERROR, 0, 0, 0, "getsockopt:SOL_SOCKET+SO_ERROR");
	CASE(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, "mmap:anon+private");
	CASE(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE | MAP_STACK, -1, 0, "mmap:anon+private");
	CASE(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, 3, 0, "mmap:file+private");
	CASE(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_POPULATE | MAP_NORESERVE, 3, 0, "mmap:file+private");
	CASE(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, 3, 0, "mmap:file+shared+fixed");
	CASE(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0, "mmap:anon+shared");
	CASE(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0, "mmap:anon+private+fixed_noreplace");
	CASE(SYS_mprotect, 0, 4096, PROT_NONE, 0, 0, 0, "mprotect:none");
	CASE(SYS_mprotect, 0, 4096, PROT_READ | PROT_WRITE, 0, 0, 0, "mprotect:read+write");
	CASE(SYS_mprotect, 0, 4096, PROT_READ | PROT_EXEC, 0, 0, 0, "mprotect:read+exec");
	CASE(SYS_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS, 0, 0, 0, 0, 0, "clone:thread");
	CASE(SYS_clone, CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, 0, 0, 0, 0, 0, "clone:process");
	return 0;
}
