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
        .executable(name: "nextbest", targets: ["nextbest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
            resources: [.embedInCode("Prelude/values.lua"), .embedInCode("Prelude/time.lua"), .embedInCode("Prelude/helpers.lua"), .embedInCode("Prelude/errors.lua"), .embedInCode("Prelude/bounds.lua"), .embedInCode("Prelude/strict.lua"), .embedInCode("Prelude/sandbox.lua"), .embedInCode("Prelude/language.lua"), .embedInCode("Prelude/schema.lua"), .embedInCode("Prelude/lint.lua"), .embedInCode("Prelude/pipeline.lua"), .embedInCode("Prelude/stats.lua"), .embedInCode("Prelude/explain.lua"), .embedInCode("Prelude/testing.lua"), .embedInCode("Prelude/api.lua")],
            swiftSettings: strictSettings
        ),
        // What only the command-line tool needs (diff, bench), kept out of the embeddable core.
        .target(name: "NextBestTools", dependencies: ["NextBest"], swiftSettings: strictSettings),
        .executableTarget(
            name: "nextbest",
            dependencies: [
                "NextBest",
                "NextBestTools",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // The report: rows in, output and process metrics out, as JSON or one self-contained HTML file.
        .target(name: "NextBestReport", swiftSettings: strictSettings),
        // Bench and sample for the report (scripts/bench-report): generated rows fed to the builder.
        .executableTarget(name: "nextbest-report-bench", dependencies: ["NextBestReport"], swiftSettings: strictSettings),
        .testTarget(name: "NextBestReportTests", dependencies: ["NextBestReport"], swiftSettings: strictSettings),
        .testTarget(name: "NextBestTests", dependencies: ["NextBest"], swiftSettings: strictSettings),
        .testTarget(name: "nextbestTests", dependencies: ["NextBest"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
