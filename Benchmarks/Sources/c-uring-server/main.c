/*
 * c-uring-server: the io_uring baseline for the ESock benchmarks.
 *
 * A single-threaded io_uring server (liburing). See Benchmarks/CONTRACT.md:
 *
 *   c-uring-server --mode echo|sink|source|accept|sendfile --port N [--file PATH] [--size BYTES]
 *
 * prints "READY <port>" once listening and runs until SIGTERM/SIGINT (exit 0).
 *
 * Design:
 * - One ring, set up with SINGLE_ISSUER|DEFER_TASKRUN (completions are only processed when we
 *   wait for them, no interrupts of the running task), falling back to COOP_TASKRUN, then to
 *   no flags, on kernels that reject them. SQ 4096 entries, CQ 65536 so that 10,000+
 *   connections completing at once do not overflow it.
 * - One multishot accept on the listener (re-armed if the kernel ends it).
 * - Every connection has exactly one operation in flight (recv, send, or, for sendfile, one
 *   linked splice pair), so a connection is closed only when nothing of it is in flight.
 * - The loop is: io_uring_submit_and_wait(1) (one syscall submits everything queued and
 *   waits), then handle every ready completion, queueing the follow-up SQEs.
 * - sendfile: file -> pipe -> socket with two linked IORING_OP_SPLICE (the zero-copy path that
 *   sendfile(2) takes inside the kernel); pipes come from a pool and are reused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF_SIZE   65536    /* per-connection echo buffer, and the sink's recv size */
#define SQ_ENTRIES 4096
#define CQ_ENTRIES 65536
#define BACKLOG    4096
#define PIPE_SIZE  (1 << 20) /* sendfile: requested pipe capacity (the chunk per splice pair) */

enum mode { ECHO, SINK, SOURCE, ACCEPT, SENDFILE };

/* What a completion is for; user_data = op << 32 | fd. */
enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_SPLICE_IN, OP_SPLICE_OUT, OP_CLOSE };

/* Per-connection state, in a table indexed by file descriptor. */
struct conn {
    char   *buf;        /* echo: receive buffer (allocated on first use, kept for the fd) */
    size_t  off, len;   /* echo: bytes of buf sent / received; source: offset in the chunk */
    /* sendfile */
    off_t   foff;       /* file offset of the next byte to splice into the pipe */
    int64_t in_pipe;    /* bytes sitting in the pipe */
    int     pipe_idx;   /* which pooled pipe */
    int     inflight;   /* splices of the current pair not yet completed */
    int     failed;     /* a splice failed: stop and close */
};

struct pipe_pair { int rd, wr, size; };

static enum mode        mode;
static struct io_uring  ring;
static struct conn     *conns;          /* conns[fd] */
static int              lfd;            /* the listener */
static int              multishot = 1;  /* cleared if the kernel lacks multishot accept */
static char            *chunk;          /* source: the chunk sent over and over */
static size_t           chunk_size = 65536;
static char             sink_buf[BUF_SIZE]; /* sink: every recv lands here (data is discarded) */
static int              file_fd = -1;   /* sendfile: the file, shared by every connection */
static off_t            file_size;
static struct pipe_pair *pipes;         /* sendfile: every pipe ever made ... */
static int              *free_pipes;    /* ... and a stack of the idle ones */
static int              npipes, nfree, pipes_cap;

static _Noreturn void die(const char *what) { perror(what); exit(1); }
static _Noreturn void die_err(const char *what, int err) { errno = err; die(what); }

static _Noreturn void on_signal(int sig) { (void)sig; _exit(0); }

static inline uint64_t tag(enum op op, int fd) { return (uint64_t)op << 32 | (uint32_t)fd; }

/* An SQE, submitting what is queued first if the SQ is full. */
static struct io_uring_sqe *get_sqe(void)
{
    struct io_uring_sqe *sqe;
    while ((sqe = io_uring_get_sqe(&ring)) == NULL) io_uring_submit(&ring);
    return sqe;
}

static void queue_accept(void)
{
    struct io_uring_sqe *sqe = get_sqe();
    if (multishot) io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    else           io_uring_prep_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(OP_ACCEPT, lfd));
}

static void queue_recv(int fd, void *buf, size_t len)
{
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_recv(sqe, fd, buf, len, 0);
    io_uring_sqe_set_data64(sqe, tag(OP_RECV, fd));
}

static void queue_send(int fd, const void *buf, size_t len)
{
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag(OP_SEND, fd));
}

/* Close asynchronously; a successful close posts no completion. */
static void queue_close(int fd)
{
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_close(sqe, fd);
    io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
    io_uring_sqe_set_data64(sqe, tag(OP_CLOSE, fd));
}

/* sendfile: a new pipe, enlarged to PIPE_SIZE if the system allows. */
static struct pipe_pair make_pipe(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) die("pipe2");
    fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);            /* best effort; the real size is read back */
    int size = fcntl(p[1], F_GETPIPE_SZ);
    return (struct pipe_pair){ p[0], p[1], size > 0 ? size : 65536 };
}

/* sendfile: a pipe from the pool, or a new one. */
static int get_pipe(void)
{
    if (nfree > 0) return free_pipes[--nfree];
    if (npipes == pipes_cap) {
        pipes_cap = pipes_cap ? 2 * pipes_cap : 64;
        pipes = realloc(pipes, pipes_cap * sizeof *pipes);
        free_pipes = realloc(free_pipes, pipes_cap * sizeof *free_pipes);
        if (!pipes || !free_pipes) die("realloc");
    }
    pipes[npipes] = make_pipe();
    return npipes++;
}

/* sendfile: back to the pool; a pipe still holding bytes (the peer went away) is replaced. */
static void put_pipe(int idx, int64_t in_pipe)
{
    if (in_pipe != 0) {
        close(pipes[idx].rd);
        close(pipes[idx].wr);
        pipes[idx] = make_pipe();
    }
    free_pipes[nfree++] = idx;
}

/* sendfile: the next step once every splice in flight has completed. */
static void sendfile_step(int fd)
{
    struct conn *c = &conns[fd];
    struct pipe_pair *p = &pipes[c->pipe_idx];

    if (!c->failed && c->in_pipe > 0) {
        /* The socket took less than the pipe held: splice out the rest. */
        struct io_uring_sqe *sqe = get_sqe();
        io_uring_prep_splice(sqe, p->rd, -1, fd, -1, (unsigned)c->in_pipe,
                             c->foff < file_size ? SPLICE_F_MORE : 0);
        io_uring_sqe_set_data64(sqe, tag(OP_SPLICE_OUT, fd));
        c->inflight = 1;
    } else if (!c->failed && c->foff < file_size) {
        /* The pipe is empty: file -> pipe, linked to pipe -> socket, for one pipe-full. */
        unsigned n = (unsigned)(file_size - c->foff < p->size ? file_size - c->foff : p->size);
        int more = c->foff + n < file_size ? SPLICE_F_MORE : 0;   /* like sendfile(2) */
        if (io_uring_sq_space_left(&ring) < 2) io_uring_submit(&ring);
        struct io_uring_sqe *sqe = get_sqe();
        io_uring_prep_splice(sqe, file_fd, c->foff, p->wr, -1, n, 0);
        io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK);
        io_uring_sqe_set_data64(sqe, tag(OP_SPLICE_IN, fd));
        sqe = get_sqe();
        io_uring_prep_splice(sqe, p->rd, -1, fd, -1, n, more);
        io_uring_sqe_set_data64(sqe, tag(OP_SPLICE_OUT, fd));
        c->inflight = 2;
    } else {
        /* All sent (or failed): recycle the pipe and close; queued bytes are still delivered. */
        put_pipe(c->pipe_idx, c->in_pipe);
        queue_close(fd);
    }
}

static void on_accept(struct io_uring_cqe *cqe)
{
    static const int one = 1;
    int fd = cqe->res;

    if (!(cqe->flags & IORING_CQE_F_MORE)) {        /* the (multishot) accept has ended */
        if (fd == -EINVAL && multishot) multishot = 0;   /* old kernel: plain accepts */
        queue_accept();
    }
    if (fd < 0) return;                              /* e.g. ECONNABORTED, EMFILE: skip */
    if (mode == ACCEPT) { queue_close(fd); return; }

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = &conns[fd];
    c->off = c->len = 0;
    switch (mode) {
    case ECHO:
        if (c->buf == NULL && (c->buf = malloc(BUF_SIZE)) == NULL) die("malloc");
        queue_recv(fd, c->buf, BUF_SIZE);
        break;
    case SINK:
        queue_recv(fd, sink_buf, sizeof sink_buf);
        break;
    case SOURCE:
        queue_send(fd, chunk, chunk_size);
        break;
    case SENDFILE:
        c->foff = 0;
        c->in_pipe = 0;
        c->failed = 0;
        c->pipe_idx = get_pipe();
        sendfile_step(fd);
        break;
    case ACCEPT:
        break;
    }
}

static void on_completion(struct io_uring_cqe *cqe)
{
    uint64_t data = io_uring_cqe_get_data64(cqe);
    enum op op = (enum op)(data >> 32);
    int fd = (int)(uint32_t)data;
    struct conn *c = &conns[fd];
    int res = cqe->res;

    switch (op) {
    case OP_ACCEPT:
        on_accept(cqe);
        break;

    case OP_RECV:                                    /* echo or sink */
        if (res <= 0) { queue_close(fd); break; }    /* EOF, or an error such as ECONNRESET */
        if (mode == SINK) { queue_recv(fd, sink_buf, sizeof sink_buf); break; }
        c->len = (size_t)res;
        c->off = 0;
        queue_send(fd, c->buf, c->len);
        break;

    case OP_SEND:                                    /* echo or source */
        if (res < 0) { queue_close(fd); break; }     /* EPIPE / ECONNRESET: peer went away */
        c->off += (size_t)res;
        if (mode == ECHO) {
            if (c->off < c->len) queue_send(fd, c->buf + c->off, c->len - c->off);  /* short send */
            else queue_recv(fd, c->buf, BUF_SIZE);
        } else {
            if (c->off == chunk_size) c->off = 0;
            queue_send(fd, chunk + c->off, chunk_size - c->off);
        }
        break;

    case OP_SPLICE_IN:                               /* file -> pipe */
        if (res > 0) { c->in_pipe += res; c->foff += res; }
        else c->failed = 1;                          /* error, or EOF because the file shrank */
        if (--c->inflight == 0) sendfile_step(fd);
        break;

    case OP_SPLICE_OUT:                              /* pipe -> socket */
        /* -ECANCELED: the linked file -> pipe splice came up short or failed; the pipe
         * holds whatever it did move, and sendfile_step sends that on. */
        if (res > 0) c->in_pipe -= res;
        else if (res != -ECANCELED) c->failed = 1;   /* the peer went away */
        if (--c->inflight == 0) sendfile_step(fd);
        break;

    case OP_CLOSE:                                   /* only failed closes post a completion */
        break;
    }
}

/* Set the ring up with the best flags the kernel accepts. */
static void setup_ring(void)
{
    static const struct { unsigned flags; const char *name; } tries[] = {
        { IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER|DEFER_TASKRUN" },
        { IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN" },
        { 0, "none" },
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = tries[i].flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        p.cq_entries = CQ_ENTRIES;
        int ret = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
        if (ret == -EINVAL) {   /* SUBMIT_ALL (5.18) may be the unknown flag: retry without */
            memset(&p, 0, sizeof p);
            p.flags = tries[i].flags | IORING_SETUP_CQSIZE;
            p.cq_entries = CQ_ENTRIES;
            ret = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
        }
        if (ret == 0) {
            if (i > 0) fprintf(stderr, "c-uring-server: ring flags fell back to %s\n", tries[i].name);
            return;
        }
        if (ret != -EINVAL) die_err("io_uring_queue_init_params", -ret);
    }
    die_err("io_uring_queue_init_params", EINVAL);
}

static _Noreturn void usage(const char *msg, const char *arg)
{
    fprintf(stderr, "c-uring-server: %s%s\nusage: c-uring-server --mode echo|sink|source|accept|sendfile"
            " --port N [--file PATH] [--size BYTES]\n", msg, arg ? arg : "");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *mode_name = "echo", *file = NULL;
    long port = 0;

    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--mode") && strcmp(flag, "--port") && strcmp(flag, "--file") && strcmp(flag, "--size"))
            usage("unknown flag: ", flag);
        if (i + 1 >= argc) usage("missing value for ", flag);
        const char *val = argv[++i];
        char *end;
        if (!strcmp(flag, "--mode")) mode_name = val;
        else if (!strcmp(flag, "--file")) file = val;
        else if (!strcmp(flag, "--port")) {
            port = strtol(val, &end, 10);
            if (*end || port < 0 || port > 65535) usage("bad --port: ", val);
        } else {
            long long size = strtoll(val, &end, 10);
            if (*end || size <= 0 || size > (1 << 30)) usage("bad --size: ", val);
            chunk_size = (size_t)size;
        }
    }
    if      (!strcmp(mode_name, "echo"))     mode = ECHO;
    else if (!strcmp(mode_name, "sink"))     mode = SINK;
    else if (!strcmp(mode_name, "source"))   mode = SOURCE;
    else if (!strcmp(mode_name, "accept"))   mode = ACCEPT;
    else if (!strcmp(mode_name, "sendfile")) mode = SENDFILE;
    else usage("unknown mode: ", mode_name);
    if (mode == SENDFILE && !file) usage("--mode sendfile needs --file", NULL);

    /* Signals: a peer that vanishes must not kill us; SIGTERM/SIGINT end the run with 0. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    /* Raise the descriptor limit to the hard limit, and size the connection table by it. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) die("getrlimit");
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit");
    size_t max_fds = rl.rlim_cur > (1u << 22) ? (1u << 22) : (size_t)rl.rlim_cur;
    if ((conns = calloc(max_fds, sizeof *conns)) == NULL) die("calloc");

    if (mode == SOURCE) {
        if ((chunk = malloc(chunk_size)) == NULL) die("malloc");
        memset(chunk, 'x', chunk_size);
    }
    if (mode == SENDFILE) {
        struct stat st;
        if ((file_fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) die(file);
        if (fstat(file_fd, &st) < 0) die("fstat");
        file_size = st.st_size;
    }

    /* The listener: SO_REUSEADDR, 127.0.0.1:port, backlog 4096. */
    if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) die("socket");
    int one = 1;
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) die("SO_REUSEADDR");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, BACKLOG) < 0) die("listen");
    socklen_t alen = sizeof addr;
    if (getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) die("getsockname");

    setup_ring();
    queue_accept();

    printf("READY %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    for (;;) {
        int ret = io_uring_submit_and_wait(&ring, 1);
        if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN)
            die_err("io_uring_submit_and_wait", -ret);

        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            on_completion(cqe);
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
    }
}
