#define _GNU_SOURCE
#include "CESockStress.h"
#include <sched.h>
#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>

int esock_stress_deny_io_uring(void) {
#if !defined(__x86_64__)
    return -ENOSYS; /* the filter below knows x86_64's numbering only */
#else
    struct sock_filter program[] = {
        /* Only this architecture's numbering is trusted: anything else is allowed unchanged. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = { .len = sizeof(program) / sizeof(program[0]), .filter = program };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) return -errno;
    return 0;
#endif
}

int esock_stress_unshare_net(void) {
    return unshare(CLONE_NEWNET) == 0 ? 0 : -errno;
}

void esock_stress_line_buffered_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
