// esock-loadgen: the one load generator every server of the benchmark is measured with
// (Benchmarks/CONTRACT.md). Single-threaded, epoll (level-triggered), non-blocking sockets,
// TCP_NODELAY, loopback. Prints MEASURE_START / MEASURE_END at the measured window's edges and
// one JSON line with the figures.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum workload { W_ECHO, W_SEND, W_RECV, W_ACCEPT, W_SENDFILE, W_IDLE };

struct conn {
    int fd;
    int connected;
    size_t out;          // bytes of the current message written
    size_t in;           // bytes of the current echo read
    uint64_t round;      // echo round, stamped into the payload
    double started;      // when the current round (or wave) began
    long long got;       // sendfile: bytes of the current download
    unsigned char *wbuf; // echo: the message sent
    unsigned char *rbuf; // echo: the echo received
};

static int port, conns = 1, inflight = 16, waves = 1;
static size_t size = 64;
static double seconds = 3, warmup = 1, guard_seconds = 0;
static long long expect_bytes = -1;
static enum workload workload;
static const char *workload_name;
static int ep;
static struct conn *cs;
static unsigned char *scratch;

// Measured window.
static int measuring;
static double window_start, window_end;
static double ops, bytes, errors;
#define BUCKETS 200000 // latency histogram: 1 µs buckets up to 200 ms, the last one open-ended
static uint32_t *hist;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what) {
    fprintf(stderr, "esock-loadgen: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static void record_latency(double s) {
    long us = (long)(s * 1e6);
    if (us < 0) us = 0;
    if (us >= BUCKETS) us = BUCKETS - 1;
    hist[us]++;
}

static double percentile(double p) {
    unsigned long long total = 0, seen = 0;
    for (int i = 0; i < BUCKETS; i++) total += hist[i];
    if (total == 0) return 0;
    unsigned long long want = (unsigned long long)(p * total);
    if (want >= total) want = total - 1;
    for (int i = 0; i < BUCKETS; i++) {
        seen += hist[i];
        if (seen > want) return i;
    }
    return BUCKETS - 1;
}

// Opens a non-blocking connection to 127.0.0.1:port and registers it.
static void start_connect(int i) {
    struct conn *c = &cs[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) fail("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) fail("connect");
    c->connected = 0;
    c->out = c->in = 0;
    c->got = 0;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) fail("epoll_ctl");
}

static void set_events(int i, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.u32 = i};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, cs[i].fd, &ev) < 0) fail("epoll_ctl");
}

static void close_conn(int i) {
    epoll_ctl(ep, EPOLL_CTL_DEL, cs[i].fd, NULL);
    close(cs[i].fd);
    cs[i].fd = -1;
}

// The echo payload of a round: every byte depends on the round, so a stale or wrong echo shows.
static void fill_payload(struct conn *c, int i) {
    unsigned char seed = (unsigned char)(c->round * 31 + i);
    for (size_t k = 0; k < size; k++) c->wbuf[k] = (unsigned char)(seed + k * 7);
    size_t n = size < 8 ? size : 8;
    memcpy(c->wbuf, &c->round, n);
}

// Writes what is left of the echo message; returns once it is all out or the socket is full.
static void echo_write(int i) {
    struct conn *c = &cs[i];
    while (c->out < size) {
        ssize_t n = write(c->fd, c->wbuf + c->out, size - c->out);
        if (n > 0) { c->out += n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) { set_events(i, EPOLLIN | EPOLLOUT); return; }
        fail("echo write");
    }
    set_events(i, EPOLLIN);
}

static void echo_start_round(int i) {
    struct conn *c = &cs[i];
    c->round++;
    c->out = c->in = 0;
    fill_payload(c, i);
    c->started = now();
    echo_write(i);
}

// Reads echo bytes; a complete echo is checked, counted and (unless in an idle wave) followed by
// the next round. Returns 1 when a round completed.
static int echo_read(int i) {
    struct conn *c = &cs[i];
    while (c->in < size) {
        ssize_t n = read(c->fd, c->rbuf + c->in, size - c->in);
        if (n > 0) { c->in += n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        errno = n == 0 ? ECONNRESET : errno;
        fail("echo read (server closed or reset)");
    }
    if (memcmp(c->rbuf, c->wbuf, size) != 0) {
        errno = 0;
        fail("echo payload differs from what was sent");
    }
    double t = now();
    if (measuring) {
        ops++;
        bytes += size;
        record_latency(t - c->started);
    }
    return 1;
}

static void on_event(int i, uint32_t events) {
    struct conn *c = &cs[i];
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { errno = err; fail("connect"); }
        if (!(events & (EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLHUP))) return;
        c->connected = 1;
        switch (workload) {
        case W_ECHO: echo_start_round(i); return;
        case W_SEND: set_events(i, EPOLLOUT); return;
        case W_RECV: case W_ACCEPT: case W_SENDFILE: set_events(i, EPOLLIN | EPOLLRDHUP); return;
        case W_IDLE: set_events(i, EPOLLIN); return;
        }
    }
    switch (workload) {
    case W_ECHO:
        if ((events & EPOLLOUT) && c->out < size) echo_write(i);
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->out == size && echo_read(i)) echo_start_round(i);
        return;
    case W_IDLE:
        if ((events & EPOLLOUT) && c->out < size) echo_write(i);
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->out == size && c->in < size && echo_read(i))
            set_events(i, EPOLLIN);
        return;
    case W_SEND:
        // At most 64 writes per event, so a fast peer cannot keep the loop from the clock.
        for (int k = 0; k < 64; k++) {
            ssize_t n = write(c->fd, scratch, size);
            if (n > 0) { if (measuring) bytes += n; continue; }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            fail("stream write");
        }
        return;
    case W_RECV:
        for (int k = 0; k < 64; k++) {
            ssize_t n = read(c->fd, scratch, 1 << 20);
            if (n > 0) { if (measuring) bytes += n; continue; }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            errno = n == 0 ? ECONNRESET : errno;
            fail("stream read (server closed)");
        }
        return;
    case W_ACCEPT: {
        // The server accepts and closes: EOF (or a reset) ends the cycle.
        ssize_t n = read(c->fd, scratch, 4096);
        if (n < 0 && errno == EAGAIN) return;
        if (n > 0) { errno = 0; fail("accept: unexpected data"); }
        if (measuring) ops++;
        close_conn(i);
        start_connect(i);
        return;
    }
    case W_SENDFILE:
        for (;;) {
            ssize_t n = read(c->fd, scratch, 1 << 20);
            if (n > 0) { c->got += n; if (measuring) bytes += n; continue; }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            if (n < 0) fail("sendfile read");
            // EOF: one download finished.
            if (expect_bytes >= 0 && c->got != expect_bytes) {
                fprintf(stderr, "esock-loadgen: download of %lld bytes, expected %lld\n", c->got, expect_bytes);
                exit(1);
            }
            if (measuring) ops++;
            close_conn(i);
            start_connect(i);
            return;
        }
    }
}

static void poll_once(int timeout_ms) {
    static struct epoll_event evs[1024];
    int n = epoll_wait(ep, evs, 1024, timeout_ms);
    if (n < 0 && errno != EINTR) fail("epoll_wait");
    for (int k = 0; k < n; k++) on_event(evs[k].data.u32, evs[k].events);
}

static void print_json(double measured) {
    int latency = workload == W_ECHO || workload == W_IDLE;
    printf("{\"workload\":\"%s\",\"conns\":%d,\"size\":%zu,\"seconds\":%.6f,\"ops\":%.0f,\"ops_per_sec\":%.1f,"
           "\"bytes\":%.0f,\"bytes_per_sec\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"errors\":%.0f}\n",
           workload_name, conns, size, measured, ops, measured > 0 ? ops / measured : 0, bytes,
           measured > 0 ? bytes / measured : 0, latency ? percentile(0.50) : 0, latency ? percentile(0.99) : 0, errors);
    fflush(stdout);
}

// idle-wave: hold `conns` connections, then echo `size` bytes through all of them at once.
static void run_idle_wave(void) {
    int opened = 0, connected = 0;
    while (connected < conns) {
        // At most 512 connects in flight, so the listen backlog is never overrun.
        while (opened < conns && opened - connected < 512) start_connect(opened++);
        static struct epoll_event evs[1024];
        int n = epoll_wait(ep, evs, 1024, 1000);
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        for (int k = 0; k < n; k++) {
            int i = evs[k].data.u32;
            if (!cs[i].connected) { on_event(i, evs[k].events); if (cs[i].connected) connected++; }
        }
        if (now() > guard_seconds) { errno = ETIMEDOUT; fail("idle-wave: connecting"); }
    }
    printf("CONNECTED %d\n", connected);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) { errno = 0; fail("idle-wave: no go line on stdin"); }
    printf("MEASURE_START\n");
    fflush(stdout);
    measuring = 1;
    window_start = now();
    for (int w = 0; w < waves; w++) {
        double t0 = now();
        for (int i = 0; i < conns; i++) {
            cs[i].round++;
            cs[i].out = cs[i].in = 0;
            fill_payload(&cs[i], i);
            cs[i].started = t0;
            echo_write(i);
        }
        double before = ops;
        while (ops - before < conns) {
            poll_once(1000);
            if (now() > guard_seconds) { errno = ETIMEDOUT; fail("idle-wave: waiting for echoes"); }
        }
    }
    window_end = now();
    measuring = 0;
    printf("MEASURE_END\n");
    fflush(stdout);
    print_json(window_end - window_start);
}

static void usage(const char *msg) {
    fprintf(stderr, "esock-loadgen: %s\nusage: esock-loadgen --port P --workload echo|stream-send|stream-recv|accept|"
                    "sendfile|idle-wave [--conns N] [--size B] [--seconds S] [--warmup W] [--inflight K] "
                    "[--waves N] [--expect BYTES] [--timeout S]\n", msg);
    exit(2);
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    workload_name = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage("a flag without its value");
        const char *f = argv[i], *v = argv[++i];
        if (!strcmp(f, "--port")) port = atoi(v);
        else if (!strcmp(f, "--workload")) workload_name = v;
        else if (!strcmp(f, "--conns")) conns = atoi(v);
        else if (!strcmp(f, "--size")) size = strtoul(v, NULL, 10);
        else if (!strcmp(f, "--seconds")) seconds = atof(v);
        else if (!strcmp(f, "--warmup")) warmup = atof(v);
        else if (!strcmp(f, "--inflight")) inflight = atoi(v);
        else if (!strcmp(f, "--waves")) waves = atoi(v);
        else if (!strcmp(f, "--expect")) expect_bytes = atoll(v);
        else if (!strcmp(f, "--timeout")) guard_seconds = atof(v);
        else usage("unknown flag");
    }
    if (!workload_name || port <= 0 || conns <= 0) usage("--port and --workload are required");
    if (!strcmp(workload_name, "echo")) workload = W_ECHO;
    else if (!strcmp(workload_name, "stream-send")) workload = W_SEND;
    else if (!strcmp(workload_name, "stream-recv")) workload = W_RECV;
    else if (!strcmp(workload_name, "accept")) workload = W_ACCEPT;
    else if (!strcmp(workload_name, "sendfile")) workload = W_SENDFILE;
    else if (!strcmp(workload_name, "idle-wave")) workload = W_IDLE;
    else usage("unknown workload");
    if ((workload == W_ECHO || workload == W_IDLE || workload == W_SEND) && size == 0) usage("--size must be > 0");
    if (workload == W_ACCEPT) conns = inflight;

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    double begin = now();
    guard_seconds = begin + (guard_seconds > 0 ? guard_seconds : seconds + warmup + 60);
    hist = calloc(BUCKETS, sizeof *hist);
    scratch = malloc(size > (1 << 20) ? size : (1 << 20));
    memset(scratch, 0x5a, size > (1 << 20) ? size : (1 << 20));
    cs = calloc(conns, sizeof *cs);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!hist || !scratch || !cs || ep < 0) fail("setup");
    if (workload == W_ECHO || workload == W_IDLE) {
        for (int i = 0; i < conns; i++) {
            cs[i].wbuf = malloc(size);
            cs[i].rbuf = malloc(size);
            if (!cs[i].wbuf || !cs[i].rbuf) fail("malloc");
        }
    }
    if (workload == W_IDLE) { run_idle_wave(); return 0; }

    for (int i = 0; i < conns; i++) start_connect(i);
    double start_at = begin + warmup, end_at = start_at + seconds;
    for (;;) {
        double t = now();
        if (!measuring && t >= start_at) {
            measuring = 1;
            window_start = t;
            end_at = t + seconds;
            printf("MEASURE_START\n");
            fflush(stdout);
        }
        if (measuring && t >= end_at) break;
        if (t > guard_seconds) { errno = ETIMEDOUT; fail("overall timeout"); }
        double until = measuring ? end_at : start_at;
        int ms = (int)((until - t) * 1000) + 1;
        poll_once(ms > 100 ? 100 : ms);
    }
    window_end = now();
    measuring = 0;
    printf("MEASURE_END\n");
    fflush(stdout);
    print_json(window_end - window_start);
    return 0;
}
