// swift-tools-version:6.1
// ESock's benchmarks: the select-vs-completion throughput run (`esock-bench`, `./bench`), its
// baselines (a C epoll server, a C io_uring server, a SwiftNIO server) and the load generator.
// The ordo-one per-operation benchmarks are a package of their own in Ops/ (their build-tool
// plugin would otherwise be built, with a second copy of swift-argument-parser, before every
// `./bench` build).
import PackageDescription

let package = Package(
    name: "ESockBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "ESock", path: "../"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    ],
    targets: [
        // liburing for the C io_uring baseline (Debian: liburing-dev).
        .systemLibrary(
            name: "CLiburingBench",
            path: "Sources/CLiburingBench",
            pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]
        ),
        // The orchestrator: runs every server against the load generator and reports.
        .executableTarget(
            name: "esock-bench",
            dependencies: [
                .product(name: "ESock", package: "ESock"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ESockExamples", package: "ESock"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/esock-bench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Baselines.
        .executableTarget(name: "c-epoll-server", path: "Sources/c-epoll-server",
                          cSettings: [.unsafeFlags(["-O2"])]),
        .executableTarget(name: "c-uring-server", dependencies: ["CLiburingBench"], path: "Sources/c-uring-server",
                          cSettings: [.unsafeFlags(["-O2"])]),
        .executableTarget(name: "esock-loadgen", path: "Sources/esock-loadgen",
                          cSettings: [.unsafeFlags(["-O2"])]),
        .executableTarget(
            name: "esock-nio-server",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/esock-nio-server",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
