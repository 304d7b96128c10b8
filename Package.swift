// swift-tools-version:6.0
// NextBest: an embeddable next-best-action engine. Policies in Lua 5.4, host in Swift.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "NextBest",
    products: [
        .library(name: "NextBest", targets: ["NextBest"]),
        .library(name: "NextBestStore", targets: ["NextBestStore"]),
        .executable(name: "nextbest", targets: ["nextbest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The system's Lua 5.4 (Debian: liblua5.4-dev), found through pkg-config.
        .systemLibrary(
            name: "CNextBestLua54",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        // C side of the Lua bridge: macro shims, the message handler, the count hook,
        // the capped allocator, and the protected JSON <-> Lua table code.
        .target(name: "CNextBestBridge", dependencies: ["CNextBestLua54"]),
        .target(
            name: "NextBest",
            dependencies: ["CNextBestBridge"],
            resources: [.embedInCode("Policy/prelude.lua")],
            swiftSettings: strictSettings
        ),
        // The store: recorded decisions, tasks and outcomes in SQLite (GRDB) or PostgreSQL
        // (postgres-nio). The core library does not depend on it.
        .target(
            name: "NextBestStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "nextbest",
            dependencies: [
                "NextBest",
                "NextBestStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "NextBestTests", dependencies: ["NextBest"], swiftSettings: strictSettings),
        .testTarget(name: "nextbestTests", dependencies: ["NextBest", "NextBestStore"], swiftSettings: strictSettings),
        .testTarget(
            name: "NextBestStoreTests",
            dependencies: [
                "NextBestStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
