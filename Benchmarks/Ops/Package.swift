// swift-tools-version:6.1
// ESock's per-operation benchmarks (ordo-one/benchmark, `swift package benchmark`): time and
// mallocs per nowait recv/send/accept on each backend, with malloc thresholds in Thresholds/.
// A package of its own so that `./bench` (Benchmarks/Package.swift) neither resolves the
// benchmark package nor builds its build-tool plugin before every build.
import PackageDescription

let package = Package(
    name: "ESockOps",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "ESock", path: "../../"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Per-operation costs (time and mallocs) of nowait recv/send/accept on each backend.
        .executableTarget(
            name: "ESockOps",
            dependencies: [
                .product(name: "ESock", package: "ESock"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ESockOps",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
