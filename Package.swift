// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ESock",
    products: [
        .library(name: "ESock", targets: ["ESock"]),
        // swift-log and swift-metrics adapters, separate so that the core library does not need them.
        .library(name: "ESockLogging", targets: ["ESockLogging"]),
        .library(name: "ESockMetrics", targets: ["ESockMetrics"]),
        // The examples' servers and client, for programs that build on them (the benchmark's http workload).
        .library(name: "ESockExamples", targets: ["ESockExamples"]),
        .executable(name: "esock-echo", targets: ["esock-echo"]),
        .executable(name: "esock-http", targets: ["esock-http"]),
        .executable(name: "esock-redis-bench", targets: ["esock-redis-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // `swift package generate-documentation --target ESock` (Sources/ESock/ESock.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // liburing, found through pkg-config (Debian: liburing-dev).
        .systemLibrary(
            name: "CLiburing",
            path: "Sources/CLiburing",
            pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]
        ),
        // What Swift cannot import on its own: epoll, eventfd, accept4, IOSQE_* and other macros.
        .target(
            name: "CESockShims",
            dependencies: ["CLiburing"],
            path: "Sources/CESockShims"
        ),
        .target(
            name: "ESock",
            dependencies: ["CLiburing", "CESockShims", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/ESock",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // `{otp, debug}` trace lines through a swift-log Logger (ESock.logTraces(to:level:)).
        .target(
            name: "ESockLogging",
            dependencies: ["ESock", .product(name: "Logging", package: "swift-log")],
            path: "Sources/ESockLogging",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Socket, backend and library counters through swift-metrics (ESockMetricsReporter).
        .target(
            name: "ESockMetrics",
            dependencies: ["ESock", .product(name: "CoreMetrics", package: "swift-metrics")],
            path: "Sources/ESockMetrics",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Examples: an async echo server, an HTTP/1.1 server (async and nowait), a Redis client
        // (README, issues #6 and #15).
        .target(
            name: "ESockExamples",
            dependencies: ["ESock", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/ESockExamples",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "esock-echo",
            dependencies: ["ESock", "ESockExamples"],
            path: "Sources/esock-echo",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "esock-http",
            dependencies: ["ESock", "ESockExamples"],
            path: "Sources/esock-http",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "esock-redis-bench",
            dependencies: ["ESock", "ESockExamples"],
            path: "Sources/esock-redis-bench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Reliability checks that need a process of their own (Tests/ESockTests/ReliabilityTests.swift).
        .target(name: "CESockStress", path: "Sources/CESockStress"),
        .executableTarget(
            name: "esock-stress",
            dependencies: ["ESock", "CESockStress", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/esock-stress",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "ESockTests",
            dependencies: ["ESock", "ESockExamples", "esock-stress", "CESockStress", "ESockLogging", "ESockMetrics",
                           "esock-http", "esock-redis-bench",
                           .product(name: "SystemPackage", package: "swift-system"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics")],
            path: "Tests/ESockTests",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
