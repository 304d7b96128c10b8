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
        .library(name: "NextBestTools", targets: ["NextBestTools"]),
        .library(name: "NextBestReport", targets: ["NextBestReport"]),
        .library(name: "NextBestServer", targets: ["NextBestServer"]),
        .library(name: "NextBestStore", targets: ["NextBestStore"]),
        .executable(name: "nextbest", targets: ["nextbest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
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
            resources: [.embedInCode("Prelude/values.lua"), .embedInCode("Prelude/time.lua"), .embedInCode("Prelude/helpers.lua"), .embedInCode("Prelude/errors.lua"), .embedInCode("Prelude/bounds.lua"), .embedInCode("Prelude/strict.lua"), .embedInCode("Prelude/sandbox.lua"), .embedInCode("Prelude/language.lua"), .embedInCode("Prelude/schema.lua"), .embedInCode("Prelude/lint.lua"), .embedInCode("Prelude/contacts.lua"), .embedInCode("Prelude/levers.lua"), .embedInCode("Prelude/arbitration.lua"), .embedInCode("Prelude/pipeline.lua"), .embedInCode("Prelude/stats.lua"), .embedInCode("Prelude/explain.lua"), .embedInCode("Prelude/testing.lua"), .embedInCode("Prelude/api.lua")],
            swiftSettings: strictSettings
        ),
        // What only the command-line tool needs (diff, bench), kept out of the embeddable core.
        .target(name: "NextBestTools", dependencies: ["NextBest"], swiftSettings: strictSettings),
        // The decision service (`nextbest serve`): HTTP on Hummingbird 2, hot reload, metrics.
        // The core `NextBest` does not depend on it.
        .target(
            name: "NextBestServer",
            dependencies: [
                "NextBest",
                "NextBestStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.embedInCode("openapi.yaml")],
            swiftSettings: strictSettings
        ),
        // One process-wide SQLite setting the store makes before its first connection (a C call:
        // sqlite3_config is variadic).
        .target(name: "CNextBestSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The store: recorded decisions, tasks and outcomes in SQLite (GRDB) or PostgreSQL
        // (postgres-nio). The core library does not depend on it.
        .target(
            name: "NextBestStore",
            dependencies: [
                "NextBest",
                "CNextBestSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "nextbest",
            dependencies: [
                "NextBest",
                "NextBestTools",
                "NextBestServer",
                "NextBestStore",
                "NextBestReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings,
            // The command takes Lua from the static archive liblua5.4-dev ships beside the shared
            // library: its calls into Lua go direct, not through the PLT (2-3% of a run). Only this
            // executable: a package that depends on the libraries links Lua as pkg-config says.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--whole-archive", "-Xlinker", "-l:liblua5.4.a", "-Xlinker", "--no-whole-archive"], .when(platforms: [.linux]))]
        ),
        // The report: rows in, output and process metrics out, as JSON or one self-contained HTML file.
        .target(name: "NextBestReport", swiftSettings: strictSettings),
        // Bench and sample for the report (scripts/bench-report): generated rows fed to the builder.
        .executableTarget(name: "nextbest-report-bench", dependencies: ["NextBestReport"], swiftSettings: strictSettings),
        .testTarget(name: "NextBestReportTests", dependencies: ["NextBestReport"], swiftSettings: strictSettings),
        .testTarget(name: "NextBestTests", dependencies: ["NextBest"], swiftSettings: strictSettings),
        .testTarget(name: "nextbestTests", dependencies: ["NextBest", "NextBestStore", "NextBestReport"], swiftSettings: strictSettings),
        .testTarget(
            name: "NextBestServerTests",
            dependencies: [
                "NextBest", "NextBestServer", "NextBestStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NextBestStoreTests",
            dependencies: [
                "NextBestStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
