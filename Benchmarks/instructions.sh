#!/usr/bin/env bash
# User-space instructions per echoed message of an ESock benchmark server, counted by
# valgrind's callgrind: repeatable whatever else the machine is doing, unlike times, so a change
# of a few percent in the engine's hot path can be seen (docs/architecture.md, "Measured:
# instructions per round trip").
#
# usage: Benchmarks/instructions.sh [--groups] <select|completion> <nowait|async|blocking> [conns] [label]
#
# The server runs twice under callgrind, echoing 64-byte messages for 2 s and for 6 s; the
# difference of the two totals over the difference of their round trips is the marginal cost of
# one round trip (start-up, connection set-up and shutdown cancel out). Counts the server's user
# space only (the kernel is not seen). Under valgrind the server runs ~50x slower, so the load
# generator's pace does not matter. The completion backend does not run under valgrind 3.19
# (io_uring is not emulated): select only, in practice.
#
# The binary is copied and stripped of its DWARF first (`strip -g`): valgrind 3.19 cannot read
# Swift 6.3's and gives up; the symbol table is kept, so `callgrind_annotate` on the outputs
# (in $OUT, default /tmp/esock-instructions) names the functions.
#
# --groups: also where the instructions of a round trip go, by library: the Swift concurrency
# runtime, retains and releases, other Swift runtime code, pthread mutexes, malloc and free, the
# dynamic linker's TLS look-ups, the rest of the C library, and the server's own code (ESock and
# the benchmark). Computed the same way, per function, from the two runs.
set -euo pipefail
groups=0
if [ "${1:-}" = "--groups" ]; then groups=1; shift; fi
backend=${1:?usage: instructions.sh [--groups] <select|completion> <nowait|async|blocking> [conns] [label]}
api=${2:?usage: instructions.sh [--groups] <select|completion> <nowait|async|blocking> [conns] [label]}
conns=${3:-16}
label=${4:-$backend-$api}
here=$(cd "$(dirname "$0")" && pwd)
bin=${BIN:-$here/.build/release}
out=${OUT:-/tmp/esock-instructions}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
[ -x "$bin/esock-bench" ] || { echo "no $bin/esock-bench: swift build -c release --package-path Benchmarks" >&2; exit 1; }
cp "$bin/esock-bench" "$out/esock-bench-$label"
strip -g "$out/esock-bench-$label"

# One run of `seconds`: prints "<round trips> <instructions>".
run() {
    local seconds=$1 name=$out/$label-$1s port="" line
    rm -f "$name.cg" "$name.out"
    coproc SERVER { exec valgrind --tool=callgrind --callgrind-out-file="$name.cg" \
        "$out/esock-bench-$label" serve --backend "$backend" --api "$api" --mode echo --port 0 2>"$name.valgrind"; }
    local pid=$SERVER_PID
    while read -r line <&"${SERVER[0]}"; do
        case "$line" in READY*) port=${line#READY }; break;; esac
    done
    [ -n "$port" ] || { echo "the server did not start (see $name.valgrind)" >&2; exit 1; }
    echo go | "$bin/esock-loadgen" --port "$port" --workload echo --conns "$conns" --size 64 \
        --seconds "$seconds" --warmup 0 > "$name.out"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    local ops instr
    ops=$(grep -o '"ops":[0-9]*' "$name.out" | cut -d: -f2)
    instr=$(callgrind_annotate "$name.cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    echo "$ops $instr"
}

read -r ops1 instr1 < <(run 2)
read -r ops2 instr2 < <(run 6)
python3 - "$label" "$ops1" "$instr1" "$ops2" "$instr2" <<'EOF'
import sys
label, o1, i1, o2, i2 = sys.argv[1], *map(int, sys.argv[2:])
print(f"{label}: {(i2 - i1) / (o2 - o1):.0f} instructions per round trip ({o2 - o1} round trips between the runs)")
EOF
[ "$groups" = 1 ] || exit 0
python3 - "$out/$label-2s.cg" "$ops1" "$out/$label-6s.cg" "$ops2" <<'EOF'
import re, subprocess, sys
def per_function(path):
    text = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True, text=True).stdout
    counts = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)", line)
        if m and "PROGRAM TOTALS" not in line:
            counts[m.group(2).strip()] = int(m.group(1).replace(",", ""))
    return counts
def group(name):
    if "libswift_Concurrency" in name: return "Swift concurrency runtime"
    if "libswiftCore" in name and re.search(r"retain|release|RefCount", name): return "retain / release"
    if "libswiftCore" in name: return "other Swift runtime"
    if "pthread_mutex" in name: return "pthread mutex"
    if re.search(r"malloc|free|calloc", name) and "libc" in name: return "malloc / free"
    if "tls_get_addr" in name: return "TLS look-ups (ld.so)"
    if "libc" in name: return "other C library"
    return "ESock and the server"
a, b = per_function(sys.argv[1]), per_function(sys.argv[3])
trips = int(sys.argv[4]) - int(sys.argv[2])
sums = {}
for name in set(a) | set(b):
    sums[group(name)] = sums.get(group(name), 0) + (b.get(name, 0) - a.get(name, 0)) / trips
for name, value in sorted(sums.items(), key=lambda kv: -kv[1]):
    print(f"  {name:28s} {value:7.0f}")
EOF
