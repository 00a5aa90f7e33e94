/*
 * esock-loadgen: the load generator every server of the ESock benchmark is measured with.
 * The process contract is Benchmarks/CONTRACT.md, section "Load generator":
 *
 *   esock-loadgen --port P --workload echo|stream-send|stream-recv|accept|sendfile|idle-wave
 *                 [--conns N] [--size BYTES] [--seconds S] [--warmup W] [--inflight K]
 *                 [--waves W] [--expect BYTES] [--timeout S]
 *
 * It prints MEASURE_START and MEASURE_END on stdout (flushed) at the edges of the measured window,
 * `CONNECTED <n>` before an idle wave (and then waits for one line on stdin), and finally one JSON
 * line. Exit 0 on success, 1 when the run fails (message on stderr; the JSON line then carries
 * "errors":1 and "failure"), 2 on a bad command line.
 *
 * Design. The generator shares a two-core machine with the server under test, so it tries to cost
 * as little CPU per operation as it can:
 *   - one thread, one epoll instance, non-blocking sockets, TCP_NODELAY, 127.0.0.1:<port>;
 *   - level-triggered epoll with a fixed interest mask per connection: EPOLLIN for everything that
 *     reads, EPOLLOUT for stream-send. An echo connection only adds EPOLLOUT while a write is stuck
 *     on a full socket buffer, so a steady round trip costs epoll_wait (shared by the whole batch)
 *     + one write + one read + one clock read, and no epoll_ctl. Level triggering also means a read
 *     that comes back short can simply return to epoll (no extra read just to see EAGAIN), and a
 *     busy stream can be cut off after a budget without losing its readiness;
 *   - up to 4096 events per epoll_wait;
 *   - every buffer is allocated once at start: the connection table, one receive scratch buffer,
 *     one transmit buffer (stream-send), and one random pattern the echo payloads are cut from.
 *     Nothing is allocated per operation.
 *
 * Echo payloads. Round r of connection i carries a 16-byte header (r as 8 bytes, i as 4 bytes, a
 * magic word) followed by the pattern starting at an offset that depends on r and i, so every round
 * differs from the previous one: a stale, mixed-up or corrupted echo shows. The payload is sent
 * straight from the shared pattern with writev (header + body), and the echo is read into the
 * shared scratch buffer and compared byte for byte with what was sent, chunk by chunk as it arrives.
 *
 * Latency is recorded in nanoseconds into an HDR-style histogram (exact below 256 ns, then 128
 * sub-buckets per power of two, i.e. < 0.8 % relative error) and reported in microseconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---- Tunables ------------------------------------------------------------------------------- */

#define MAX_EVENTS      4096          /* events taken per epoll_wait */
#define CONNECT_BATCH   512           /* at most this many connects in flight (listen backlog) */
#define HDR_LEN         16            /* echo payload header: round, connection index, magic */
#define HDR_MAGIC       0x4b434f53u   /* "SOCK" */
#define PATTERN_SLACK   256           /* body offsets vary in [0, 256) */
#define RX_MIN          (256 * 1024)  /* receive scratch buffer (at least --size) */
#define STREAM_BUDGET   (1 << 20)     /* bytes one stream event may move before epoll again */
#define MAX_STREAM_OPS  64            /* and at most this many syscalls */

/* ---- Configuration (command line) ----------------------------------------------------------- */

enum workload { W_ECHO, W_STREAM_SEND, W_STREAM_RECV, W_ACCEPT, W_SENDFILE, W_IDLE_WAVE };
static const char *const workload_names[] = {"echo", "stream-send", "stream-recv", "accept", "sendfile",
                                             "idle-wave"};

static enum workload wl = W_ECHO;
static int opt_port = -1;
static long opt_conns = 1;
static size_t opt_size = 64;
static double opt_seconds = 5, opt_warmup = 1, opt_timeout = -1;
static long opt_inflight = 16, opt_waves = 1;
static long long opt_expect = -1;     /* sendfile: expected download size, -1 = the first one's */
static int expect_learned;            /* opt_expect was taken from the first download */

/* ---- State ---------------------------------------------------------------------------------- */

enum { C_FREE, C_CONNECTING, C_OPEN };

struct conn {
    int fd;
    uint8_t state;      /* C_FREE, C_CONNECTING or C_OPEN */
    uint8_t out_armed;  /* EPOLLOUT is in the interest mask (echo: a write is blocked) */
    uint8_t busy;       /* echo / idle-wave: a round is in flight */
    uint32_t out;       /* echo: bytes of the current round written */
    uint32_t in;        /* echo: bytes of the current round's echo read and checked */
    uint64_t round;     /* echo: the current round number (stamped into the payload) */
    int64_t started;    /* echo: when the current round started (ns, CLOCK_MONOTONIC) */
    uint64_t pos;       /* sendfile: bytes of the current download; stream-send: offset in chunk */
};

static struct conn *conns;            /* the connection table (accept: --inflight slots) */
static long nconns;                   /* its length */
static int ep = -1;                   /* the epoll instance */
static unsigned char *rx;             /* receive scratch buffer */
static size_t rx_cap;
static unsigned char *tx;             /* stream-send: the chunk written over and over */
static unsigned char *pattern;        /* echo: payload bodies are cut from here */
static struct epoll_event events[MAX_EVENTS];

static int measuring;                 /* inside the measured window */
static int stopping;                  /* echo: window over, let rounds in flight finish, start no more */
static long pending;                  /* echo drain / idle wave: rounds still in flight */
static int64_t deadline;              /* --timeout guard (ns) */
static int64_t window_start, window_end;
static int measure_started;
static unsigned long long ops, bytes_moved;

/* ---- Clock ---------------------------------------------------------------------------------- */

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds for epoll_wait until `until` (rounded up, at most one second so the guard is seen). */
static int wait_ms(int64_t until, int64_t t) {
    int64_t d = until - t;
    if (d <= 0) return 0;
    d = (d + 999999) / 1000000;
    return d > 1000 ? 1000 : (int)d;
}

/* ---- Latency histogram ---------------------------------------------------------------------- */

/* Values below 2*SUB are their own bucket; above, each power of two [2^k, 2^(k+1)) is split into
 * SUB equal buckets: index = shift*SUB + (v >> shift) with shift = k - SUB_BITS. */
#define SUB_BITS 7
#define SUB      (1 << SUB_BITS)
#define HIST_LEN (SUB * 50)           /* covers values up to 2^56 ns, far beyond any run */
static uint64_t hist[HIST_LEN];
static uint64_t hist_count;

static void hist_add(int64_t ns) {
    uint64_t v = ns < 0 ? 0 : (uint64_t)ns;
    size_t idx;
    if (v < 2 * SUB) {
        idx = v;
    } else {
        int msb = 63 - __builtin_clzll(v);
        int shift = msb - SUB_BITS;
        idx = (size_t)shift * SUB + (v >> shift);
        if (idx >= HIST_LEN) idx = HIST_LEN - 1;
    }
    hist[idx]++;
    hist_count++;
}

/* The p-quantile (0 < p <= 1) in microseconds: the middle of the bucket holding the sample of rank
 * ceil(p * count). 0 when nothing was recorded. */
static double hist_quantile_us(double p) {
    if (hist_count == 0) return 0;
    uint64_t rank = (uint64_t)(p * (double)hist_count + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > hist_count) rank = hist_count;
    uint64_t seen = 0;
    for (size_t idx = 0; idx < HIST_LEN; idx++) {
        seen += hist[idx];
        if (seen < rank) continue;
        if (idx < 2 * SUB) return (double)idx / 1000.0;
        int shift = (int)(idx / SUB) - 1;
        uint64_t low = (uint64_t)(idx - (size_t)shift * SUB) << shift;
        uint64_t width = (uint64_t)1 << shift;
        return ((double)low + (double)(width - 1) / 2.0) / 1000.0;
    }
    return 0;
}

/* ---- Output and failure --------------------------------------------------------------------- */

static void print_line(const char *line) {
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* The result line. `failure` (may be NULL) is added, JSON-escaped, when the run failed. */
static void print_json(int errors, const char *failure) {
    double secs = measure_started && window_end > window_start ? (double)(window_end - window_start) / 1e9 : 0;
    int latency = wl == W_ECHO || wl == W_IDLE_WAVE;
    printf("{\"workload\":\"%s\",\"conns\":%ld,\"size\":%zu,\"seconds\":%.6f,\"ops\":%llu,\"ops_per_sec\":%.2f,"
           "\"bytes\":%llu,\"bytes_per_sec\":%.1f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"errors\":%d",
           workload_names[wl], opt_conns, opt_size, secs, ops, secs > 0 ? (double)ops / secs : 0, bytes_moved,
           secs > 0 ? (double)bytes_moved / secs : 0, latency ? hist_quantile_us(0.50) : 0,
           latency ? hist_quantile_us(0.99) : 0, errors);
    if (wl == W_ACCEPT) printf(",\"inflight\":%ld", opt_inflight);
    if (wl == W_IDLE_WAVE) printf(",\"waves\":%ld", opt_waves);
    if (failure) {
        fputs(",\"failure\":\"", stdout);
        for (const char *p = failure; *p; p++) {
            if (*p == '"' || *p == '\\') printf("\\%c", *p);
            else if ((unsigned char)*p < 0x20) printf("\\u%04x", *p);
            else putchar(*p);
        }
        putchar('"');
    }
    fputs("}\n", stdout);
    fflush(stdout);
}

/* Fails the run: message on stderr, the JSON line with "errors":1, exit 1. */
static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "esock-loadgen: %s: %s\n", workload_names[wl], msg);
    if (measuring) window_end = now_ns();
    print_json(1, msg);
    exit(1);
}

static void check_deadline(int64_t t) {
    if (t <= deadline) return;
    if (pending > 0)
        die("timed out: the server stopped responding (--timeout %.1f s; %ld connections still waiting)",
            opt_timeout, pending);
    die("timed out (--timeout %.1f s)", opt_timeout);
}

/* ---- Connections ---------------------------------------------------------------------------- */

static void set_mask(struct conn *c, uint32_t mask) {
    struct epoll_event ev = {.events = mask, .data.u64 = (uint64_t)(c - conns)};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl(MOD): %s", strerror(errno));
}

/* Starts a non-blocking connect for slot `c` and registers it with interest `mask`. */
static void open_conn(struct conn *c, uint8_t state, uint32_t mask) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket: %s%s", strerror(errno), errno == EMFILE ? " (raise the hard RLIMIT_NOFILE)" : "");
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("TCP_NODELAY: %s", strerror(errno));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
        die("connect to 127.0.0.1:%d: %s%s", opt_port, strerror(errno),
            errno == EADDRNOTAVAIL ? " (out of ephemeral ports)" : "");
    c->fd = fd;
    c->state = state;
    c->out_armed = 0;
    c->busy = 0;
    c->in = c->out = 0;
    c->pos = 0;
    struct epoll_event ev = {.events = mask, .data.u64 = (uint64_t)(c - conns)};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl(ADD): %s", strerror(errno));
}

/* Closes a slot's socket (which also drops it from the epoll set). */
static void close_conn(struct conn *c) {
    close(c->fd);
    c->fd = -1;
    c->state = C_FREE;
}

/* Opens every connection of the table and waits until all are established, with at most
 * CONNECT_BATCH connects in flight. Established connections are parked with an empty interest
 * mask (only errors and hang-ups are reported) until the workload starts. */
static void connect_all(void) {
    long opened = 0, connected = 0;
    while (connected < nconns) {
        while (opened < nconns && opened - connected < CONNECT_BATCH)
            open_conn(&conns[opened++], C_CONNECTING, EPOLLOUT);
        int64_t t = now_ns();
        pending = nconns - connected;
        check_deadline(t);
        int n = epoll_wait(ep, events, MAX_EVENTS, wait_ms(deadline, t));
        if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[events[k].data.u64];
            if (c->state != C_CONNECTING)
                die("connection %ld was closed by the server while connecting the others", (long)(c - conns));
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
            if (!err && (events[k].events & (EPOLLERR | EPOLLHUP))) err = ECONNRESET;
            if (err) die("connect to 127.0.0.1:%d (connection %ld): %s", opt_port, (long)(c - conns), strerror(err));
            c->state = C_OPEN;
            set_mask(c, 0);
            connected++;
        }
    }
    pending = 0;
}

/* ---- Echo and idle-wave --------------------------------------------------------------------- */

static inline long conn_index(const struct conn *c) { return (long)(c - conns); }

/* The header of the current round of `c`. */
static inline void echo_header(const struct conn *c, unsigned char h[HDR_LEN]) {
    uint32_t idx = (uint32_t)conn_index(c), magic = HDR_MAGIC;
    memcpy(h, &c->round, 8);
    memcpy(h + 8, &idx, 4);
    memcpy(h + 12, &magic, 4);
}

/* Where the current round's body starts in the pattern (it moves every round). */
static inline const unsigned char *echo_body(const struct conn *c) {
    return pattern + ((c->round * 131 + (uint64_t)conn_index(c) * 7) % PATTERN_SLACK);
}

/* Writes what is left of the current round. If the socket buffer is full, EPOLLOUT is armed and
 * the rest goes out when epoll says so. */
static void echo_send(struct conn *c) {
    size_t hl = opt_size < HDR_LEN ? opt_size : HDR_LEN;
    const unsigned char *body = echo_body(c);
    while (c->out < opt_size) {
        ssize_t n;
        if (c->out < hl) {
            unsigned char h[HDR_LEN];
            echo_header(c, h);
            struct iovec iov[2] = {{h + c->out, hl - c->out}, {(void *)body, opt_size - hl}};
            n = writev(c->fd, iov, opt_size > hl ? 2 : 1);
        } else {
            n = write(c->fd, body + (c->out - HDR_LEN), opt_size - c->out);
        }
        if (n > 0) { c->out += (uint32_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (!c->out_armed) { set_mask(c, EPOLLIN | EPOLLOUT); c->out_armed = 1; }
            return;
        }
        die("write on connection %ld (round %llu): %s", conn_index(c), (unsigned long long)c->round,
            n < 0 ? strerror(errno) : "wrote nothing");
    }
    if (c->out_armed) { set_mask(c, EPOLLIN); c->out_armed = 0; }
}

/* Starts the next round of `c` at time `t`. */
static void echo_start(struct conn *c, int64_t t) {
    c->round++;
    c->in = c->out = 0;
    c->busy = 1;
    c->started = t;
    echo_send(c);
}

/* Checks `n` echoed bytes that belong at offset c->in of the current round. */
static void echo_verify(const struct conn *c, const unsigned char *got, size_t n) {
    size_t off = c->in, hl = opt_size < HDR_LEN ? opt_size : HDR_LEN;
    unsigned char h[HDR_LEN];
    echo_header(c, h);
    const unsigned char *body = echo_body(c);
    for (size_t k = 0; k < n;) {
        /* The longest run of expected bytes that is contiguous in memory. */
        const unsigned char *want = off + k < hl ? h + off + k : body + (off + k - HDR_LEN);
        size_t run = off + k < hl ? hl - (off + k) : n - k;
        if (run > n - k) run = n - k;
        if (memcmp(got + k, want, run) != 0) {
            size_t j = 0;
            while (got[k + j] == want[j]) j++;
            die("bad echo on connection %ld, round %llu: byte %zu of %zu is 0x%02x, sent 0x%02x",
                conn_index(c), (unsigned long long)c->round, off + k + j, opt_size, got[k + j], want[j]);
        }
        k += run;
    }
}

/* One round of `c` came back whole. */
static void echo_done(struct conn *c) {
    int64_t t = now_ns();
    if (measuring) {
        ops++;
        bytes_moved += opt_size;
        hist_add(t - c->started);
    }
    c->busy = 0;
    /* An idle wave's run is a number of round trips, not a window: a slow server (10,000
     * threads of the blocking API on two CPUs) may need longer than the guard while it still
     * answers. There the guard is the time since the last echo came back. */
    if (wl == W_IDLE_WAVE) deadline = t + (int64_t)(opt_timeout * 1e9);
    if (wl == W_ECHO && !stopping) echo_start(c, t);  /* the next round starts right away */
    else pending--;
}

/* One read of the echo (level-triggered: if more is queued, epoll reports the socket again). */
static void echo_recv(struct conn *c) {
    ssize_t n = read(c->fd, rx, opt_size - c->in);
    if (n > 0) {
        if (c->in + (size_t)n > c->out)
            die("connection %ld got %zu bytes more than it sent", conn_index(c), c->in + (size_t)n - c->out);
        echo_verify(c, rx, (size_t)n);
        c->in += (uint32_t)n;
        if (c->in == opt_size) echo_done(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n == 0)
        die("server closed connection %ld mid-echo (round %llu, %u of %zu bytes back)", conn_index(c),
            (unsigned long long)c->round, c->in, opt_size);
    die("read on connection %ld: %s", conn_index(c), strerror(errno));
}

static void echo_event(struct conn *c, uint32_t ev) {
    if (!c->busy) {
        /* Nothing is expected on a connection with no round in flight. */
        ssize_t n = read(c->fd, rx, rx_cap);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n > 0) die("connection %ld got %zd unexpected bytes", conn_index(c), n);
        die("connection %ld was %s by the server", conn_index(c), n == 0 ? "closed" : "reset");
    }
    if ((ev & EPOLLOUT) && c->out < opt_size) echo_send(c);
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) echo_recv(c);
}

/* ---- Streams, accept, sendfile -------------------------------------------------------------- */

static void stream_send_event(struct conn *c) {
    int max_ops = (int)(STREAM_BUDGET / opt_size);
    if (max_ops < 1) max_ops = 1;
    if (max_ops > MAX_STREAM_OPS) max_ops = MAX_STREAM_OPS;
    for (int k = 0; k < max_ops; k++) {
        size_t want = opt_size - c->pos;   /* the rest of the current chunk */
        ssize_t n = write(c->fd, tx + c->pos, want);
        if (n > 0) {
            if (measuring) bytes_moved += (size_t)n;
            c->pos += (size_t)n;
            if (c->pos == opt_size) c->pos = 0;
            if ((size_t)n < want) return;  /* the socket buffer is full */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        die("write on connection %ld: %s", conn_index(c), n < 0 ? strerror(errno) : "wrote nothing");
    }
}

static void stream_recv_event(struct conn *c) {
    int max_ops = (int)(STREAM_BUDGET / rx_cap);
    if (max_ops < 1) max_ops = 1;
    for (int k = 0; k < max_ops; k++) {
        ssize_t n = read(c->fd, rx, rx_cap);
        if (n > 0) {
            if (measuring) bytes_moved += (size_t)n;
            if ((size_t)n < rx_cap) return;  /* drained for now */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n == 0) die("server closed stream connection %ld", conn_index(c));
        die("read on connection %ld: %s", conn_index(c), strerror(errno));
    }
}

/* accept: the server accepts and closes at once, so every connection ends in EOF (or a reset,
 * which counts as well); then the slot connects again. */
static void accept_event(struct conn *c) {
    ssize_t n = read(c->fd, rx, 64);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n > 0) die("accept: server sent %zd bytes on connection %ld instead of closing it", n, conn_index(c));
    if (n < 0 && errno != ECONNRESET)
        die("connection to 127.0.0.1:%d: %s", opt_port, strerror(errno));
    if (measuring) ops++;
    close_conn(c);
    open_conn(c, C_OPEN, EPOLLIN);
}

/* sendfile: read the download to EOF; one finished download is one op; then connect again. */
static void sendfile_event(struct conn *c) {
    int max_ops = (int)(STREAM_BUDGET / rx_cap);
    if (max_ops < 1) max_ops = 1;
    for (int k = 0; k < max_ops; k++) {
        ssize_t n = read(c->fd, rx, rx_cap);
        if (n > 0) {
            c->pos += (size_t)n;
            if (measuring) bytes_moved += (size_t)n;
            if ((size_t)n < rx_cap) return;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n < 0) die("download on connection %ld (%llu bytes in): %s", conn_index(c),
                       (unsigned long long)c->pos, strerror(errno));
        /* EOF: the download is complete. Without --expect, the first download sets the size every
         * later one must have (the server sends the same file each time), so a cut-off one shows. */
        if (opt_expect < 0) opt_expect = (long long)c->pos, expect_learned = 1;
        if (c->pos != (uint64_t)opt_expect)
            die("download of %llu bytes, expected %lld%s", (unsigned long long)c->pos, opt_expect,
                expect_learned ? " (the size of the first download)" : "");
        if (measuring) ops++;
        close_conn(c);
        open_conn(c, C_OPEN, EPOLLIN);
        return;
    }
}

/* ---- Event loop ----------------------------------------------------------------------------- */

/* One epoll_wait and the dispatch of its events. */
static void poll_once(int timeout_ms) {
    int n = epoll_wait(ep, events, MAX_EVENTS, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return;
        die("epoll_wait: %s", strerror(errno));
    }
    for (int k = 0; k < n; k++) {
        struct conn *c = &conns[events[k].data.u64];
        uint32_t ev = events[k].events;
        switch (wl) {
        case W_ECHO:
        case W_IDLE_WAVE: echo_event(c, ev); break;
        case W_STREAM_SEND: stream_send_event(c); break;
        case W_STREAM_RECV: stream_recv_event(c); break;
        case W_ACCEPT: accept_event(c); break;
        case W_SENDFILE: sendfile_event(c); break;
        }
    }
}

static void begin_window(int64_t t) {
    print_line("MEASURE_START");
    measure_started = 1;
    measuring = 1;
    window_start = t;
}

static void end_window(int64_t t) {
    window_end = t;
    measuring = 0;
    print_line("MEASURE_END");
}

/* The time-boxed workloads: --warmup seconds of load, then --seconds measured. */
static void run_timed(void) {
    int64_t t = now_ns();
    int64_t start_at = t + (int64_t)(opt_warmup * 1e9), end_at = 0;
    for (;;) {
        t = now_ns();
        if (!measuring && t >= start_at) {
            begin_window(t);
            end_at = t + (int64_t)(opt_seconds * 1e9);
        }
        if (measuring && t >= end_at) break;
        check_deadline(t);
        poll_once(wait_ms(measuring ? end_at : start_at, t));
    }
    end_window(t);

    if (wl == W_ECHO) {
        /* Every round in flight must still come back: a server that stopped answering fails here
         * (at the --timeout guard) instead of passing with a short count. */
        stopping = 1;
        pending = 0;
        for (long i = 0; i < nconns; i++) pending += conns[i].busy;
        while (pending > 0) {
            t = now_ns();
            check_deadline(t);
            poll_once(wait_ms(deadline, t));
        }
    }
    if (ops == 0 && bytes_moved == 0) die("nothing moved in the measured window");
}

/* One wave of echoes through every connection: each sends --size bytes at once, then all are
 * awaited. Counted only inside the measured window. */
static void echo_wave(void) {
    int64_t t0 = now_ns();
    pending = nconns;
    for (long i = 0; i < nconns; i++) {
        echo_start(&conns[i], t0);  /* every latency of the wave is measured from t0 */
        /* Take echoes that are already back now and then, so their completion times are true. */
        if ((i + 1) % CONNECT_BATCH == 0) poll_once(0);
    }
    while (pending > 0) {
        int64_t t = now_ns();
        check_deadline(t);
        poll_once(wait_ms(deadline, t));
    }
}

/* idle-wave: all connections open and idle; on the go line, every one echoes --size bytes at once.
 * Before CONNECTED, one unmeasured wave: a connect completes in the kernel's accept queue before
 * the server has accepted it, so without it the first measured wave would also time how fast the
 * server accepts and sets up N connections (the accept workload's business), and how it serves a
 * connection's first message. */
static void run_idle_wave(void) {
    connect_all();
    for (long i = 0; i < nconns; i++) set_mask(&conns[i], EPOLLIN);
    echo_wave();
    printf("CONNECTED %ld\n", nconns);
    fflush(stdout);

    /* The time spent waiting for the go line does not count against the guard. */
    int64_t idle_from = now_ns();
    char line[256];
    if (!fgets(line, sizeof line, stdin)) die("stdin closed before the go line");
    deadline += now_ns() - idle_from;

    begin_window(now_ns());
    for (long w = 0; w < opt_waves; w++) echo_wave();
    end_window(now_ns());
}

/* ---- Command line --------------------------------------------------------------------------- */

static __attribute__((noreturn)) void usage(const char *problem, const char *arg) {
    if (problem) fprintf(stderr, "esock-loadgen: %s%s\n", problem, arg ? arg : "");
    fprintf(stderr,
            "usage: esock-loadgen --port P --workload echo|stream-send|stream-recv|accept|sendfile|idle-wave\n"
            "       [--conns N] [--size BYTES] [--seconds S] [--warmup W] [--inflight K] [--waves W]\n"
            "       [--expect BYTES] [--timeout S]\n");
    exit(problem ? 2 : 0);
}

static long long parse_int(const char *flag, const char *v, long long min, long long max) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max) {
        fprintf(stderr, "esock-loadgen: bad value for %s: %s (want an integer in [%lld, %lld])\n", flag, v, min, max);
        exit(2);
    }
    return x;
}

static double parse_seconds(const char *flag, const char *v) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= 0) || x > 1e6) {
        fprintf(stderr, "esock-loadgen: bad value for %s: %s (want seconds >= 0)\n", flag, v);
        exit(2);
    }
    return x;
}

static void parse_args(int argc, char **argv) {
    const char *workload = NULL;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (!strcmp(flag, "--help") || !strcmp(flag, "-h")) usage(NULL, NULL);
        static const char *const known[] = {"--port", "--workload", "--conns", "--size", "--seconds", "--warmup",
                                            "--inflight", "--waves", "--expect", "--timeout"};
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++) ok |= !strcmp(flag, known[k]);
        if (!ok) usage("unknown flag: ", flag);
        if (i + 1 >= argc) usage("missing value for ", flag);
        const char *v = argv[++i];
        if (!strcmp(flag, "--port")) opt_port = (int)parse_int(flag, v, 1, 65535);
        else if (!strcmp(flag, "--workload")) workload = v;
        else if (!strcmp(flag, "--conns")) opt_conns = (long)parse_int(flag, v, 1, 10000000);
        else if (!strcmp(flag, "--size")) opt_size = (size_t)parse_int(flag, v, 0, 1 << 30);
        else if (!strcmp(flag, "--seconds")) opt_seconds = parse_seconds(flag, v);
        else if (!strcmp(flag, "--warmup")) opt_warmup = parse_seconds(flag, v);
        else if (!strcmp(flag, "--inflight")) opt_inflight = (long)parse_int(flag, v, 1, 1000000);
        else if (!strcmp(flag, "--waves")) opt_waves = (long)parse_int(flag, v, 1, 1000000);
        else if (!strcmp(flag, "--expect")) opt_expect = parse_int(flag, v, 0, (long long)1 << 60);
        else if (!strcmp(flag, "--timeout")) opt_timeout = parse_seconds(flag, v);
    }
    if (opt_port < 0) usage("--port is required", NULL);
    if (!workload) usage("--workload is required", NULL);
    int found = 0;
    for (size_t k = 0; k < sizeof workload_names / sizeof *workload_names; k++)
        if (!strcmp(workload, workload_names[k])) { wl = (enum workload)k; found = 1; }
    if (!found) usage("unknown workload: ", workload);
    if ((wl == W_ECHO || wl == W_IDLE_WAVE || wl == W_STREAM_SEND) && opt_size == 0)
        usage("--size must be > 0 for workload ", workload);
    if (opt_timeout < 0) opt_timeout = opt_seconds + opt_warmup + 30;
}

/* ---- Main ----------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    deadline = now_ns() + (int64_t)(opt_timeout * 1e9);

    /* Raise the descriptor limit to the hard limit (idle-wave holds thousands of connections). */
    nconns = wl == W_ACCEPT ? opt_inflight : opt_conns;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (rlim_t)nconns + 16 > rl.rlim_cur)
        die("%ld connections need more descriptors than RLIMIT_NOFILE allows (%llu)", nconns,
            (unsigned long long)rl.rlim_cur);

    /* Every buffer, once. */
    rx_cap = opt_size > RX_MIN ? opt_size : RX_MIN;
    rx = malloc(rx_cap);
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!rx || !conns) die("out of memory");
    for (long i = 0; i < nconns; i++) conns[i].fd = -1;
    if (wl == W_STREAM_SEND) {
        tx = malloc(opt_size);
        if (!tx) die("out of memory");
        for (size_t k = 0; k < opt_size; k++) tx[k] = (unsigned char)(k * 13 + 7);
    }
    if (wl == W_ECHO || wl == W_IDLE_WAVE) {
        pattern = malloc(opt_size + PATTERN_SLACK);
        if (!pattern) die("out of memory");
        uint64_t s = 0x9e3779b97f4a7c15ull;  /* xorshift64: any fixed, non-repetitive bytes do */
        for (size_t k = 0; k < opt_size + PATTERN_SLACK; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            pattern[k] = (unsigned char)s;
        }
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1: %s", strerror(errno));

    switch (wl) {
    case W_ECHO: {
        connect_all();
        int64_t t = now_ns();
        for (long i = 0; i < nconns; i++) {
            set_mask(&conns[i], EPOLLIN);
            echo_start(&conns[i], t);
        }
        run_timed();
        break;
    }
    case W_STREAM_SEND:
    case W_STREAM_RECV:
        connect_all();
        for (long i = 0; i < nconns; i++) set_mask(&conns[i], wl == W_STREAM_SEND ? EPOLLOUT : EPOLLIN);
        run_timed();
        break;
    case W_ACCEPT:
    case W_SENDFILE:
        for (long i = 0; i < nconns; i++) open_conn(&conns[i], C_OPEN, EPOLLIN);
        run_timed();
        break;
    case W_IDLE_WAVE:
        run_idle_wave();
        break;
    }
    print_json(0, NULL);
    return 0;
}
