#!/usr/bin/env bash
# Retains, releases, mallocs and frees per echoed message of an ESock benchmark server, counted
# with uprobes (perf probe on swift_retain, swift_release, malloc and free): exact counts on
# either backend, where callgrind (Benchmarks/instructions.sh) cannot run the completion backend
# (valgrind 3.19 does not emulate io_uring). See docs/benchmarks.md.
#
# usage: Benchmarks/refcounts.sh [--sites] <select|completion> <nowait|async|blocking> [conns] [seconds]
#
# --sites: where the calls come from instead of how many there are: the calls of half a second
# are recorded with their callers (perf record --call-graph dwarf), and each call site (the
# first caller outside the runtime, as function+offset) is listed with its calls per round
# trip (malloc's count, which is exact per round trip, gives the number of round trips). Then
# `objdump -d --disassemble=<symbol>` shows what the call before that offset does.
#
# With one connection (the default) every round trip takes the same path, so on an otherwise
# idle machine the counts per round trip repeat to the hundredth between runs; with other work
# on the CPUs, or more connections, how many messages one kernel wait finds changes the path
# taken, and the counts move with the machine's pace. The server runs
# pinned to CPU 0 and the load generator to CPU 1, as in ./bench; each hit of a uprobe costs a
# trap, so the server runs several times slower while counted (counts, not times).
#
# Needs root (uprobes) and perf (Debian's linux-perf).
set -euo pipefail
sites=0
if [ "${1:-}" = "--sites" ]; then sites=1; shift; fi
backend=${1:?usage: refcounts.sh <select|completion> <nowait|async|blocking> [conns] [seconds]}
api=${2:?usage: refcounts.sh <select|completion> <nowait|async|blocking> [conns] [seconds]}
conns=${3:-1}
seconds=${4:-2}
here=$(cd "$(dirname "$0")" && pwd)
bin=${BIN:-$here/.build/release}
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$bin/esock-bench" ] || { echo "no $bin/esock-bench: swift build -c release --package-path Benchmarks" >&2; exit 1; }

# The libraries the server links: Swift's runtime and the C library.
libswift=$(ldd "$bin/esock-bench" | awk '/libswiftCore.so/ { print $3 }')
libc=$(ldd "$bin/esock-bench" | awk '/libc.so.6/ { print $3 }')
[ -n "$libswift" ] && [ -n "$libc" ] || { echo "cannot find libswiftCore.so and libc.so.6 of $bin/esock-bench" >&2; exit 1; }
for probe in "$libswift swift_retain" "$libswift swift_release" "$libc malloc" "$libc free"; do
    set -- $probe
    perf probe -q -x "$1" "$2" 2>/dev/null || true   # already there: fine
done
events=$(perf probe -l 2>/dev/null | awk '/swift_retain|swift_release|:malloc |:free / { print $1 }' | sort -u | paste -sd, -)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
coproc SERVER { exec taskset -c 0 "$bin/esock-bench" serve --backend "$backend" --api "$api" --mode echo --port 0; }
server=$SERVER_PID
port=""
while read -r line <&"${SERVER[0]}"; do
    case "$line" in READY*) port=${line#READY }; break ;; esac
done
[ -n "$port" ] || { echo "the server did not start" >&2; exit 1; }
if [ "$sites" = 1 ]; then
    # The whole run is counted (mallocs per round trip) and half a second of it, after it
    # settled, recorded with callers; the window's round trips are its mallocs over that rate.
    perf stat -x, -e "$events" -p "$server" -o "$work/counts" &
    stat=$!
    sleep 0.5
    echo go | taskset -c 1 "$bin/esock-loadgen" --port "$port" --workload echo --conns "$conns" --size 64 \
        --seconds "$seconds" --warmup 0 > "$work/load" &
    load=$!
    sleep 0.7
    perf record -q -e "$events" --call-graph dwarf,2048 -p "$server" -o "$work/perf.data" -- sleep 0.5 >/dev/null 2>&1
    wait "$load"
    kill -INT "$stat"; wait "$stat" || true
    kill -TERM "$server"; wait "$server" 2>/dev/null || true
    ops=$(grep -o '"ops":[0-9]*' "$work/load" | cut -d: -f2)
    mallocs=$(awk -F, '$3 ~ /malloc/ { print $1 }' "$work/counts")
    [ -n "$ops" ] && [ "$ops" -gt 0 ] && [ -n "$mallocs" ] || { echo "no round trips measured" >&2; exit 1; }
    echo "$backend $api, $conns connection(s): calls per round trip by call site (half a second)"
    perf script -i "$work/perf.data" -F event,ip,sym,symoff 2>/dev/null | python3 -c '
import sys, re, subprocess, collections
sites = collections.Counter()
runtime = re.compile(r"^(swift_retain|swift_release|swift_bridgeObject|_swift_release_dealloc|swift::|swift_slowAlloc|swift_allocObject|malloc|free|_int_|.*@plt|\[unknown\])")
for block in sys.stdin.read().split("\n\n"):
    lines = [l.strip() for l in block.strip().split("\n") if l.strip()]
    if len(lines) < 2: continue
    event = lines[0].split()[0].rstrip(":").split(":")[-1]
    frames = [l.split(None, 1)[1] if " " in l else "?" for l in lines[1:]]
    caller = next((f for f in frames[1:] if not runtime.match(f)), "?")
    sites[(event, caller)] += 1
trips = sum(n for (e, _), n in sites.items() if e == "malloc") / float(sys.argv[1])  # mallocs / (mallocs per trip)
if trips == 0: sys.exit("no malloc recorded: cannot count round trips")
names = {}
for (event, site), n in sites.most_common():
    if n / trips < 0.5: break
    symbol, _, offset = site.rpartition("+")
    if symbol not in names:
        names[symbol] = subprocess.run(["swift", "demangle", "--simplified", "--compact", symbol or site],
                                       capture_output=True, text=True).stdout.strip()
    print(f"{n / trips:6.1f}  {event:14s} {names[symbol][:100]} +{offset}")
' "$(awk -v m="$mallocs" -v o="$ops" 'BEGIN { print m / o }')"
    exit 0
fi
perf stat -x, -e "$events" -p "$server" -o "$work/counts" &
stat=$!
sleep 0.5   # perf attaches
echo go | taskset -c 1 "$bin/esock-loadgen" --port "$port" --workload echo --conns "$conns" --size 64 \
    --seconds "$seconds" --warmup 0 > "$work/load"
kill -INT "$stat"; wait "$stat" || true
kill -TERM "$server"; wait "$server" 2>/dev/null || true
ops=$(grep -o '"ops":[0-9]*' "$work/load" | cut -d: -f2)
[ -n "$ops" ] && [ "$ops" -gt 0 ] || { echo "no round trips measured" >&2; exit 1; }
echo "$backend $api, $conns connection(s): $ops round trips (connection set-up included in the counts)"
awk -F, -v ops="$ops" '$1 + 0 > 0 { name = $3; sub(/^probe_[^:]*:/, "", name); printf "  %-14s %8.2f per round trip\n", name, $1 / ops }' "$work/counts"
