#!/usr/bin/env python3
"""A/B rounds of benchmark servers that differ in a setting, for the decisions in
docs/architecture.md: each round runs every configuration once (server pinned to CPU 0, the
load generator to CPU 1), so a slow patch of a shared machine lands on all of them; prints each
run and the medians: throughput, the server's CPU time per operation (per 64 KiB moved on the
stream workloads; and its user-space part, in parentheses, that part in clock ticks of 10 ms)
and, when the workload holds connections, resident memory per connection (RSS growth over the
connections, read when all are connected, and again after the measured run); then, for each
configuration after the first, the median of its per-round ratios to the first (throughput and
CPU per operation), which a noisy machine's slow patches disturb less.

usage: Benchmarks/ab.py <workload> <conns> <size> <seconds> <rounds> CONFIG...
  workload  echo | idle-wave | stream-send | stream-recv | accept (esock-loadgen's)
  CONFIG    name=ENV=v,ENV=v:backend:api   an ESock server (esock-bench serve) with environment
                                           settings, e.g. plain=ESOCK_DEFER_TASKRUN=0:completion:nowait
            name=c-uring | name=c-epoll    the C servers
            name=base@ENV:backend:api      an ESock server from another build: $BASE_BIN
Binaries: $BIN (default: this package's release build; run `swift build -c release
--package-path Benchmarks` first)."""
import subprocess, sys, json, os, statistics, time, select
HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("BIN", os.path.join(HERE, ".build", "release"))
BASE_BIN = os.environ.get("BASE_BIN", "")
wl, conns, size, secs, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
configs = []
for arg in sys.argv[6:]:
    name, rest = arg.split("=", 1) if "=" in arg else (arg, arg)
    configs.append((name, rest))
mode = {"echo": "echo", "idle-wave": "echo", "stream-send": "sink", "stream-recv": "source", "accept": "accept"}[wl]
def server_cmd(spec):
    if spec in ("c-uring", "c-epoll"):
        return [f"{BIN}/{spec}-server", "--mode", mode, "--port", "0"] + (["--size", size] if mode == "source" else []), {}
    bin_ = BIN
    if spec.startswith("base@"):
        bin_ = BASE_BIN; spec = spec[len("base@"):]
    env_s, backend, api = spec.split(":")
    env = dict(kv.split("=", 1) for kv in env_s.split(",") if kv)
    return [f"{bin_}/esock-bench", "serve", "--backend", backend, "--api", api, "--mode", mode, "--port", "0"] + (["--size", size] if mode == "source" else []), env
def cpu_of(pid):
    """The process's CPU time so far: user and system in seconds from /proc/<pid>/stat (clock
    ticks of 10 ms, whole process), and its live threads' time on a CPU from their schedstat
    (nanoseconds; the total used, as esock-bench's Runner does, unless the ticks say a thread
    that ended used more)."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    ns = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f: ns += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return (int(parts[11]) / tck, int(parts[12]) / tck, ns / 1e9)
def cpu_delta(c0, c1):
    ticks = (c1[0] + c1[1]) - (c0[0] + c0[1])
    threads = c1[2] - c0[2]
    return ticks if ticks > threads + 2 / os.sysconf("SC_CLK_TCK") else threads
def rss_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"): return int(line.split()[1]) * 1024
    return 0
results = {n: [] for n, _ in configs}
cpus = {n: [] for n, _ in configs}
users = {n: [] for n, _ in configs}
mems = {n: [] for n, _ in configs}
ends = {n: [] for n, _ in configs}
for r in range(rounds):
    for name, spec in configs:
        cmd, env = server_cmd(spec)
        e = dict(os.environ); e.update(env)
        srv = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True, env=e)
        line = srv.stdout.readline()
        port = line.split()[1]
        rss0 = rss_of(srv.pid)
        args = ["taskset", "-c", "1", f"{BIN}/esock-loadgen", "--port", port, "--workload", wl, "--conns", conns, "--size", size, "--seconds", secs, "--warmup", "1"]
        if wl == "idle-wave": args += ["--waves", os.environ.get("WAVES", "5")]
        if wl == "accept": args += ["--inflight", "16"]
        gen = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
        c0 = c1 = None; out = None; mem = None; end = None; n = 0
        for l in gen.stdout:
            l = l.strip()
            if l == "MEASURE_START": c0 = cpu_of(srv.pid)
            elif l == "MEASURE_END": c1 = cpu_of(srv.pid)
            elif l.startswith("CONNECTED"):
                n = int(l.split()[1]); mem = (rss_of(srv.pid) - rss0) / max(n, 1)
                gen.stdin.write("go\n"); gen.stdin.flush()
            elif l.startswith("{"):
                out = json.loads(l)
                # Again after the measured waves (the connections are still open): what the
                # traffic added, such as provided-buffer pages touched.
                if mem is not None: end = (rss_of(srv.pid) - rss0) / max(n, 1)
        gen.wait(); srv.kill(); srv.wait()
        ops = out.get("ops_per_sec") or out.get("bytes_per_sec") or 0
        # A stream workload counts bytes, not operations: its CPU is per 64 KiB moved (as
        # esock-bench's reports give it).
        n_ops = out.get("ops", 0) or out.get("bytes", 0) / 65536
        measured = c0 is not None and c1 is not None and n_ops
        cpu_us = cpu_delta(c0, c1) * 1e6 / n_ops if measured else 0
        user_us = (c1[0] - c0[0]) * 1e6 / n_ops if measured else 0
        results[name].append(ops); cpus[name].append(cpu_us); users[name].append(user_us)
        if mem is not None: mems[name].append(mem)
        if end is not None: ends[name].append(end)
        print(f"round {r} {name:28s} {ops:12.0f}  cpu/op {cpu_us:6.2f}us (user {user_us:5.2f})" + (f"  mem/conn {mem:8.0f}B" if mem is not None else "") + (f" (after the run {end:.0f}B)" if end is not None else ""), flush=True)
print("medians:")
base = None
for name, _ in configs:
    m = statistics.median(results[name]); base = base or m
    extra = f"  mem/conn {statistics.median(mems[name]):.0f}B" if mems[name] else ""
    if ends[name]: extra += f" (after the run {statistics.median(ends[name]):.0f}B)"
    print(f"  {name:28s} {m:12.0f}  ({m/base:.2f}x of first)  cpu/op {statistics.median(cpus[name]):.2f}us (user {statistics.median(users[name]):.2f})  range {min(results[name]):.0f}-{max(results[name]):.0f}{extra}")
# Paired: each configuration against the first in the same round, then the median of those
# ratios. A slow patch of a shared machine that lasts a round cancels out of a round's ratio;
# with a round-to-round spread of +-20% this settles a few percent in fewer rounds than the
# ratio of the medians above does.
if len(configs) > 1 and rounds > 1:
    first = configs[0][0]
    print(f"paired (median of per-round ratios to {first}):")
    for name, _ in configs[1:]:
        t = [b / a for a, b in zip(results[first], results[name]) if a > 0]
        c = [b / a for a, b in zip(cpus[first], cpus[name]) if a > 0]
        if t:
            cpu = f"  cpu/op {statistics.median(c):.3f}x" if c else ""
            print(f"  {name:28s} {statistics.median(t):.3f}x{cpu}  ({len(t)} rounds)")
