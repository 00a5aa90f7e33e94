#define _GNU_SOURCE
#include "CESockShims.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

const uint32_t ESOCK_EPOLLIN = EPOLLIN;
const uint32_t ESOCK_EPOLLOUT = EPOLLOUT;
const uint32_t ESOCK_EPOLLRDHUP = EPOLLRDHUP;
const uint32_t ESOCK_EPOLLERR = EPOLLERR;
const uint32_t ESOCK_EPOLLHUP = EPOLLHUP;
const uint32_t ESOCK_EPOLLET = EPOLLET;
const uint32_t ESOCK_EPOLLPRI = EPOLLPRI;

int esock_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int esock_epoll_add(int epfd, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int esock_epoll_del(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int esock_epoll_wait(int epfd, esock_epoll_event *events, int maxevents, int timeout_ms) {
    struct epoll_event raw[1024];
    if (maxevents > 1024) maxevents = 1024;
    int n = epoll_wait(epfd, raw, maxevents, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i].events = raw[i].events;
        events[i].data = raw[i].data.u64;
    }
    return n;
}

int esock_eventfd(unsigned int initval) { return eventfd(initval, EFD_CLOEXEC | EFD_NONBLOCK); }

int esock_socket(int domain, int type, int protocol) {
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

int esock_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

ssize_t esock_sendfile(int out_fd, int in_fd, int64_t *offset, size_t count) {
    // sendfile(2) has no MSG_NOSIGNAL: to a peer that reset the connection it fails with EPIPE
    // and raises SIGPIPE, whose default action ends the process. SIGPIPE is blocked in this
    // thread for the call, and the one it raised (a synchronous, thread-directed signal) is
    // taken before the mask is restored, unless one was pending already (then it is left).
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    sigemptyset(&pending);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    off_t off = (off_t)*offset;
    ssize_t n = sendfile(out_fd, in_fd, &off, count);
    int saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    *offset = (int64_t)off;
    errno = saved;
    return n;
}

int esock_set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -1;
    if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0) return -1;
    return fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
}

int esock_socket_in_netns(const char *netns_path, int domain, int type, int protocol) {
    int target = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (target < 0) return -errno;
    int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) {
        int e = errno;
        close(target);
        return -e;
    }
    int result;
    if (setns(target, CLONE_NEWNET) < 0) {
        result = -errno;
    } else {
        result = esock_socket(domain, type, protocol);
        if (result < 0) result = -errno;
        if (setns(home, CLONE_NEWNET) < 0) {
            /* The thread cannot go home: it must not go on in the wrong namespace. */
            abort();
        }
    }
    close(target);
    close(home);
    return result;
}

void esock_sqe_set_flags(struct io_uring_sqe *sqe, uint8_t flags) { sqe->flags |= flags; }
const uint8_t ESOCK_IOSQE_IO_LINK = IOSQE_IO_LINK;
const uint8_t ESOCK_IOSQE_ASYNC = IOSQE_ASYNC;
const uint8_t ESOCK_IOSQE_CQE_SKIP_SUCCESS = IOSQE_CQE_SKIP_SUCCESS;
const uint32_t ESOCK_POLLOUT = POLLOUT;
const uint32_t ESOCK_POLLIN = POLLIN;
const uint32_t ESOCK_POLLRDHUP = POLLRDHUP;
const uint32_t ESOCK_POLLERR = POLLERR;
const uint32_t ESOCK_POLLHUP = POLLHUP;
const int32_t ESOCK_MSG_WAITALL = MSG_WAITALL;
const int32_t ESOCK_MSG_NOSIGNAL = MSG_NOSIGNAL;

const uint8_t ESOCK_IOSQE_BUFFER_SELECT = IOSQE_BUFFER_SELECT;
const uint32_t ESOCK_CQE_F_BUFFER = IORING_CQE_F_BUFFER;
const uint32_t ESOCK_CQE_BUFFER_SHIFT = IORING_CQE_BUFFER_SHIFT;
const uint32_t ESOCK_CQE_F_MORE = IORING_CQE_F_MORE;

/* IOU_PBUF_RING_INC and IORING_CQE_F_BUF_MORE (Linux 6.12) are newer than liburing 2.3's
 * headers: their values are the kernel's ABI. The registration's flags are the 16 bits after
 * bgid, named `pad` in older headers and `flags` in newer ones. */
#define ESOCK_PBUF_RING_INC 2u
const uint32_t ESOCK_CQE_F_BUF_MORE = 1u << 4;
_Static_assert(sizeof(struct io_uring_buf_reg) == 40, "io_uring_buf_reg is 40 bytes");

struct io_uring_buf_ring *esock_buf_ring_setup(struct io_uring *ring, unsigned entries, int group,
                                               unsigned char *base, unsigned size, int incremental) {
    void *mem = NULL;
    size_t bytes = (size_t)entries * sizeof(struct io_uring_buf);
    if (posix_memalign(&mem, 4096, bytes) != 0) { errno = ENOMEM; return NULL; }
    struct io_uring_buf_ring *br = mem;
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (unsigned long)br;
    reg.ring_entries = entries;
    reg.bgid = (unsigned short)group;
    if (incremental) {
        uint16_t flags = ESOCK_PBUF_RING_INC;
        memcpy((char *)&reg + offsetof(struct io_uring_buf_reg, bgid) + sizeof reg.bgid, &flags, sizeof flags);
    }
    int rc = io_uring_register_buf_ring(ring, &reg, 0);
    if (rc < 0) { free(mem); errno = -rc; return NULL; }
    int mask = io_uring_buf_ring_mask(entries);
    for (unsigned i = 0; i < entries; i++)
        io_uring_buf_ring_add(br, base + (size_t)i * size, size, (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(br, (int)entries);
    return br;
}

void esock_buf_ring_recycle(struct io_uring_buf_ring *br, unsigned entries, unsigned char *addr,
                            unsigned size, unsigned short bid) {
    io_uring_buf_ring_add(br, addr, size, bid, io_uring_buf_ring_mask(entries), 0);
    io_uring_buf_ring_advance(br, 1);
}

void esock_buf_ring_free(struct io_uring *ring, struct io_uring_buf_ring *br, unsigned entries, int group) {
    (void)entries;
    io_uring_unregister_buf_ring(ring, group);
    free(br);
}

void esock_sqe_set_buf_group(struct io_uring_sqe *sqe, unsigned short group) {
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
}

// The values of the kernel's uapi header (io_uring.h), which liburing 2.3 predates.
const uint32_t ESOCK_FEAT_RECVSEND_BUNDLE = 1u << 14;
#define ESOCK_RECVSEND_BUNDLE (1u << 4)

void esock_sqe_set_bundle(struct io_uring_sqe *sqe) { sqe->ioprio |= ESOCK_RECVSEND_BUNDLE; }

uint64_t esock_thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void esock_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

// The values of <linux/prctl.h> since Linux 6.16, spelled out for older headers.
#define ESOCK_PR_FUTEX_HASH 78
#define ESOCK_PR_FUTEX_HASH_SET_SLOTS 1
#define ESOCK_PR_FUTEX_HASH_GET_SLOTS 2

int esock_futex_hash_slots(void) { return prctl(ESOCK_PR_FUTEX_HASH, ESOCK_PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0); }

int esock_set_futex_hash_slots(unsigned int slots) {
    return prctl(ESOCK_PR_FUTEX_HASH, ESOCK_PR_FUTEX_HASH_SET_SLOTS, (unsigned long)slots, 0, 0);
}

int esock_gettid(void) { return (int)syscall(SYS_gettid); }
