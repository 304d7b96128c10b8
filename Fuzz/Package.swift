// swift-tools-version:6.0
// A libFuzzer target for NextBest's profile readers (JSON Lines, JSON, CSV) and the bridge's
// JSON parser behind them. Its own package, so the main package never sees fuzzer flags.
// Build and run: see FUZZING.md at the repository root.
import PackageDescription

let package = Package(
    name: "NextBestFuzz",
    dependencies: [.package(name: "NextBest", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzReaders",
            dependencies: [.product(name: "NextBest", package: "NextBest")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v5]
)
