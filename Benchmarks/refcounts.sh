#!/usr/bin/env bash
# Retains, releases, mallocs and frees per echoed message of an ESock benchmark server, counted
# with uprobes (perf probe on swift_retain, swift_release, malloc and free): exact counts on
# either backend, where callgrind (Benchmarks/instructions.sh) cannot run the completion backend
# (valgrind 3.19 does not emulate io_uring). See docs/benchmarks.md.
#
# usage: Benchmarks/refcounts.sh <select|completion> <nowait|async|blocking> [conns] [seconds]
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
