// C helpers of the esock-stress tool (reliability tests), not of the library.
#ifndef ESOCK_STRESS_H
#define ESOCK_STRESS_H

/// Installs a seccomp filter on the calling process that makes io_uring_setup(2) fail with
/// EPERM (as a container runtime's default profile does) and allows every other call. Sets
/// no_new_privs first. Returns 0, or -errno.
int esock_stress_deny_io_uring(void);

/// unshare(CLONE_NEWNET): moves the calling thread to a new network namespace (only lo, down).
/// Returns 0, or -errno.
int esock_stress_unshare_net(void);

/// Makes standard output line buffered (what a child printed before it died is not lost).
void esock_stress_line_buffered_stdout(void);

#endif
