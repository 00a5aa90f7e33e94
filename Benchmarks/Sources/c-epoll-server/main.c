/*
 * c-epoll-server: the epoll baseline for the ESock benchmarks.
 *
 * A single-threaded, level-triggered epoll server over non-blocking sockets.
 * See Benchmarks/CONTRACT.md for the process contract:
 *
 *   c-epoll-server --mode echo|sink|source|accept|sendfile --port N [--file PATH] [--size BYTES]
 *
 * prints "READY <port>" once listening and runs until SIGTERM/SIGINT (exit 0).
 *
 * Why level-triggered: a connection is served with one read (plus the write of what it read)
 * per wake-up, so an echo round trip costs epoll_wait + read + write and nothing else (an
 * edge-triggered loop needs one more read to see EAGAIN), and a busy connection cannot starve
 * the others. Interest in EPOLLOUT is only registered while a write is blocked (echo), or for
 * the whole life of a connection that only writes (source, sendfile).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF_SIZE   65536   /* per-connection echo buffer, and the sink's read size */
#define MAX_EVENTS 1024    /* events taken per epoll_wait */
#define BACKLOG    4096

enum mode { ECHO, SINK, SOURCE, ACCEPT, SENDFILE };

/* Per-connection state, in a table indexed by file descriptor. */
struct conn {
    char  *buf;   /* echo: bytes read and not yet written back (allocated on first use, kept) */
    size_t off;   /* echo: bytes of buf already written back; source: offset in the chunk */
    size_t len;   /* echo: bytes in buf */
    off_t  foff;  /* sendfile: file offset of the next byte to send */
};

static enum mode    mode;
static int          ep;            /* the epoll instance */
static struct conn *conns;         /* conns[fd] */
static char        *chunk;         /* source: the chunk written over and over */
static size_t       chunk_size = 65536;
static char         sink_buf[BUF_SIZE];
static int          file_fd = -1;  /* sendfile: the file, shared by every connection */
static off_t        file_size;

static _Noreturn void die(const char *what) { perror(what); exit(1); }

static _Noreturn void on_signal(int sig) { (void)sig; _exit(0); }

static void close_conn(int fd)
{
    /* close() also removes fd from the epoll set. */
    struct conn *c = &conns[fd];
    c->off = c->len = 0;
    c->foff = 0;
    close(fd);
}

static void set_events(int fd, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl(MOD)");
}

/* echo: write back what is pending, or read once and write that back. The interest is EPOLLIN
 * while nothing is pending and EPOLLOUT while a write is blocked (reading pauses, so a client
 * that does not read gets backpressure); so `events & EPOLLOUT` tells which one is registered. */
static void serve_echo(int fd, uint32_t events)
{
    struct conn *c = &conns[fd];
    ssize_t n;

    if (c->len == 0) {                         /* nothing pending: EPOLLIN woke us */
        if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
        n = read(fd, c->buf, BUF_SIZE);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
            close_conn(fd);                    /* EOF or error (e.g. ECONNRESET) */
            return;
        }
        c->len = (size_t)n;
        c->off = 0;
    }
    /* Write back what is pending; a blocked write waits for EPOLLOUT. */
    while (c->off < c->len) {
        n = write(fd, c->buf + c->off, c->len - c->off);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                if (!(events & EPOLLOUT)) set_events(fd, EPOLLOUT);  /* stop reading until drained */
                return;
            }
            close_conn(fd);                    /* EPIPE, ECONNRESET, ... */
            return;
        }
        c->off += (size_t)n;
    }
    c->off = c->len = 0;
    if (events & EPOLLOUT) set_events(fd, EPOLLIN);   /* drained: back to reading */
}

/* sink: read and discard; one read per wake-up (level-triggered brings us back if more). */
static void serve_sink(int fd)
{
    ssize_t n = read(fd, sink_buf, sizeof sink_buf);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
    close_conn(fd);
}

/* source: write chunks until the socket buffer is full. */
static void serve_source(int fd, uint32_t events)
{
    struct conn *c = &conns[fd];
    if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) { close_conn(fd); return; }
    for (;;) {
        ssize_t n = write(fd, chunk + c->off, chunk_size - c->off);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) close_conn(fd);   /* EPIPE / ECONNRESET: peer went away */
            return;
        }
        c->off += (size_t)n;
        if (c->off == chunk_size) c->off = 0;
    }
}

/* sendfile: send the rest of the file until the socket buffer is full; close when all is sent. */
static void serve_sendfile(int fd, uint32_t events)
{
    struct conn *c = &conns[fd];
    if (events & (EPOLLHUP | EPOLLERR)) { close_conn(fd); return; }
    while (c->foff < file_size) {
        ssize_t n = sendfile(fd, file_fd, &c->foff, (size_t)(file_size - c->foff));
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) close_conn(fd);
            return;
        }
        if (n == 0) break;                     /* file shrank under us: stop */
    }
    close_conn(fd);                            /* the kernel still delivers the queued bytes */
}

/* Accept every pending connection (the listener is non-blocking). */
static void accept_all(int lfd)
{
    static const int one = 1;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            /* EAGAIN: drained. EMFILE/ENFILE/ENOMEM: leave them queued; the level-triggered
             * listener reports them again later. */
            return;
        }
        if (mode == ACCEPT) { close(fd); continue; }

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = &conns[fd];
        c->off = c->len = 0;
        c->foff = 0;

        uint32_t events = EPOLLIN;
        if (mode == ECHO && c->buf == NULL && (c->buf = malloc(BUF_SIZE)) == NULL) die("malloc");
        if (mode == SOURCE) events = EPOLLOUT | EPOLLRDHUP;
        if (mode == SENDFILE) events = EPOLLOUT;
        struct epoll_event ev = { .events = events, .data.fd = fd };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl(ADD)");
    }
}

static _Noreturn void usage(const char *msg, const char *arg)
{
    fprintf(stderr, "c-epoll-server: %s%s\nusage: c-epoll-server --mode echo|sink|source|accept|sendfile"
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
            if (*end || size <= 0) usage("bad --size: ", val);
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

    /* The listener: non-blocking, SO_REUSEADDR, 127.0.0.1:port, backlog 4096. */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) die("SO_REUSEADDR");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, BACKLOG) < 0) die("listen");
    socklen_t alen = sizeof addr;
    if (getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) die("getsockname");

    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
    struct epoll_event lev = { .events = EPOLLIN, .data.fd = lfd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl(listener)");

    printf("READY %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            uint32_t ev = events[i].events;
            if (fd == lfd) { accept_all(lfd); continue; }
            switch (mode) {
            case ECHO:     serve_echo(fd, ev); break;
            case SINK:     serve_sink(fd); break;
            case SOURCE:   serve_source(fd, ev); break;
            case SENDFILE: serve_sendfile(fd, ev); break;
            case ACCEPT:   break;   /* accepted sockets are never registered */
            }
        }
    }
}
