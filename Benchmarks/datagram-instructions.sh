#!/usr/bin/env bash
# User-space instructions per sendto + recvfrom of a 64-byte datagram between two UDP sockets on
# loopback (select backend, blocking API; the datagram is there before each recvfrom), counted
# by valgrind's callgrind as Benchmarks/instructions.sh counts the echo servers: two runs of
# 2,000 and 6,000 pairs, the difference over 4,000.
#
# usage: Benchmarks/datagram-instructions.sh [esock-checkout]   (default: this repository)
#
# The program is written to a scratch package (in $OUT, default /tmp/esock-datagram) that
# depends on the ESock checkout by path, so that two checkouts can be compared.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
esock=$(cd "${1:-$here}" && pwd)
out=${OUT:-/tmp/esock-datagram}/$(echo "$esock" | tr / _)
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
mkdir -p "$out/Sources/dgram"
cat > "$out/Package.swift" <<EOF
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "dgram",
    dependencies: [.package(name: "ESock", path: "$esock")],
    targets: [.executableTarget(name: "dgram", dependencies: [.product(name: "ESock", package: "ESock")],
                                swiftSettings: [.swiftLanguageMode(.v6)])]
)
EOF
cat > "$out/Sources/dgram/main.swift" <<'EOF'
import ESock
let n = Int(CommandLine.arguments[1]) ?? 1000
do {
    let io = try SelectBackend()
    let a = try Socket.open(.inet, .dgram, .udp, backend: io)
    let b = try Socket.open(.inet, .dgram, .udp, backend: io)
    try a.bind(.loopback(port: 0))
    try b.bind(.loopback(port: 0))
    let to = try b.sockname()
    let data = [UInt8](repeating: 7, count: 64)
    var total = 0
    for _ in 0..<n {
        try a.sendto(data, to: to)
        total += try b.recvfrom().data.count
    }
    guard total == 64 * n else { fatalError("received \(total) bytes of \(64 * n)") }
} catch {
    fatalError("\(error)")
}
EOF
swift build -c release --package-path "$out" >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
cp "$out/.build/release/dgram" "$out/dgram-stripped"
strip -g "$out/dgram-stripped"   # valgrind 3.19 cannot read Swift 6.3's DWARF
count() {
    valgrind --tool=callgrind --callgrind-out-file="$out/$1.cg" "$out/dgram-stripped" "$1" >/dev/null 2>&1
    callgrind_annotate "$out/$1.cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}
a=$(count 2000)
b=$(count 6000)
echo "$esock: $(( (b - a) / 4000 )) instructions per sendto + recvfrom"
