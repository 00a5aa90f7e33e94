// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ESock",
    products: [
        .library(name: "ESock", targets: ["ESock"]),
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
            dependencies: ["CLiburing", "CESockShims"],
            path: "Sources/ESock",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "ESockTests",
            dependencies: ["ESock"],
            path: "Tests/ESockTests",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
