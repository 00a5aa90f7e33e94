// C shims for what Swift cannot import from Glibc: epoll, eventfd, accept4, sendfile, splice,
// and the IOSQE_* / POLL* macros of io_uring. Each function is a thin wrapper: it returns what
// the C call returns and leaves errno as the call set it.
#ifndef ESOCK_SHIMS_H
#define ESOCK_SHIMS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netpacket/packet.h> // struct sockaddr_ll (Glibc's Swift module leaves it out)

/// One epoll event, unpacked (struct epoll_event is packed on x86_64, which Swift imports badly).
typedef struct esock_epoll_event {
    uint32_t events;
    uint64_t data;
} esock_epoll_event;

extern const uint32_t ESOCK_EPOLLIN;
extern const uint32_t ESOCK_EPOLLOUT;
extern const uint32_t ESOCK_EPOLLRDHUP;
extern const uint32_t ESOCK_EPOLLERR;
extern const uint32_t ESOCK_EPOLLHUP;
extern const uint32_t ESOCK_EPOLLET;
extern const uint32_t ESOCK_EPOLLPRI;

/// epoll_create1(EPOLL_CLOEXEC).
int esock_epoll_create(void);
/// epoll_ctl(epfd, EPOLL_CTL_ADD, fd, {events, data}).
int esock_epoll_add(int epfd, int fd, uint32_t events, uint64_t data);
/// epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL).
int esock_epoll_del(int epfd, int fd);
/// epoll_wait into an unpacked array; at most 1024 events per call.
int esock_epoll_wait(int epfd, esock_epoll_event *events, int maxevents, int timeout_ms);

/// eventfd(initval, EFD_CLOEXEC | EFD_NONBLOCK).
int esock_eventfd(unsigned int initval);

/// socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol).
int esock_socket(int domain, int type, int protocol);
/// accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC).
int esock_accept4(int fd, struct sockaddr *addr, socklen_t *len);
/// sendfile(out_fd, in_fd, &offset, count); offset is updated.
ssize_t esock_sendfile(int out_fd, int in_fd, int64_t *offset, size_t count);
/// Marks fd non-blocking and close-on-exec (for descriptors the library adopts).
int esock_set_nonblocking(int fd);
/// esock_socket(domain, type, protocol) inside the network namespace at netns_path (Linux
/// setns(2) with CLONE_NEWNET on the calling thread, then back to the thread's namespace).
/// Returns the descriptor, or -errno; on every error the thread is back in its own namespace.
int esock_socket_in_netns(const char *netns_path, int domain, int type, int protocol);

/// io_uring: sets the IOSQE_* flags of an SQE.
struct io_uring_sqe;
void esock_sqe_set_flags(struct io_uring_sqe *sqe, uint8_t flags);
extern const uint8_t ESOCK_IOSQE_IO_LINK;
extern const uint8_t ESOCK_IOSQE_ASYNC;
extern const uint8_t ESOCK_IOSQE_CQE_SKIP_SUCCESS;
extern const uint32_t ESOCK_POLLOUT;
extern const uint32_t ESOCK_POLLIN;
extern const uint32_t ESOCK_POLLRDHUP;
extern const uint32_t ESOCK_POLLERR;
extern const uint32_t ESOCK_POLLHUP;
extern const int32_t ESOCK_MSG_WAITALL;
extern const int32_t ESOCK_MSG_NOSIGNAL;

extern const uint8_t ESOCK_IOSQE_BUFFER_SELECT;
extern const uint32_t ESOCK_CQE_F_BUFFER;
extern const uint32_t ESOCK_CQE_BUFFER_SHIFT;
/// IORING_CQE_F_MORE: the request posts more CQEs (a multishot request's last CQE lacks it).
extern const uint32_t ESOCK_CQE_F_MORE;

struct io_uring;
struct io_uring_buf_ring;
/// IORING_CQE_F_BUF_MORE: an incrementally consumed buffer (IOU_PBUF_RING_INC) stays with the
/// kernel for more data after this CQE's; without it the buffer is the application's again.
extern const uint32_t ESOCK_CQE_F_BUF_MORE;
/// Sets up a provided-buffer ring of `entries` buffers of `size` bytes each, carved from `base`
/// (entries * size bytes), registered as buffer group `group`; `incremental` non-zero asks for
/// IOU_PBUF_RING_INC (each receive takes only the part of a buffer it needs; Linux 6.12+, EINVAL
/// before). Returns the ring, or NULL with errno set.
struct io_uring_buf_ring *esock_buf_ring_setup(struct io_uring *ring, unsigned entries, int group,
                                               unsigned char *base, unsigned size, int incremental);
/// Gives buffer `bid` (at `addr`, `size` bytes) back to the kernel.
void esock_buf_ring_recycle(struct io_uring_buf_ring *br, unsigned entries, unsigned char *addr,
                            unsigned size, unsigned short bid);
/// Unregisters and frees a ring made by esock_buf_ring_setup.
void esock_buf_ring_free(struct io_uring *ring, struct io_uring_buf_ring *br, unsigned entries, int group);
/// Selects buffer group `group` for a recv SQE.
void esock_sqe_set_buf_group(struct io_uring_sqe *sqe, unsigned short group);
/// IORING_FEAT_RECVSEND_BUNDLE (Linux 6.10+; not in liburing 2.3's header): a receive on a
/// provided-buffer ring may fill several buffers and post one CQE for them all.
extern const uint32_t ESOCK_FEAT_RECVSEND_BUNDLE;
/// Asks a recv SQE for a bundle (IORING_RECVSEND_BUNDLE in the SQE's ioprio): its CQE names the
/// first buffer and its result counts the bytes of every buffer filled, in the ring's order.
void esock_sqe_set_bundle(struct io_uring_sqe *sqe);

/// The number of CPU clock ticks consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID, ns).
uint64_t esock_thread_cpu_ns(void);
/// prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS): the slots of the process's private futex
/// hash (Linux 6.16+; 0: the global hash, or none made yet); -1 with errno EINVAL where the kernel
/// has no such option.
int esock_futex_hash_slots(void);
/// prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, slots, 0): sizes the process's private futex hash
/// (a power of two; 0 for the global hash). 0 or -1 with errno.
int esock_set_futex_hash_slots(unsigned int slots);
/// Names the calling thread (prctl PR_SET_NAME; at most 15 characters show).
void esock_set_thread_name(const char *name);
/// The calling thread's kernel thread id.
int esock_gettid(void);

/// Asks the CPU to bring the `lines` cache lines from `p` on into its caches, for writing
/// (__builtin_prefetch; no effect on what the program computes, and never a fault, even for an
/// address that is not mapped).
static inline void esock_prefetch_lines(const void *p, int lines) {
    const char *c = (const char *)p;
    for (int i = 0; i < lines; i++) __builtin_prefetch(c + 64 * i, 1, 3);
}

#endif
