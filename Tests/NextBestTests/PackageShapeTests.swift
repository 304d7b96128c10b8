// The package's shape: a host that adds the package and uses `NextBest` builds the core and
// the Lua targets, nothing else (read from the manifest as SwiftPM itself evaluates it).
import Foundation
import Testing

@Suite("Package shape")
struct PackageShapeTests {
    /// The targets the core may be built from: itself and the Lua bridge.
    static let core: Set<String> = ["NextBest", "CNextBestBridge", "CNextBestLua54"]

    @Test func theNextBestProductBuildsOnlyTheCoreAndTheLuaTargets() throws {
        let manifest = try Manifest.load()
        let product = try #require(manifest.products.first { $0.name == "NextBest" })
        #expect(product.targets == ["NextBest"])
        var seen: Set<String> = [], todo = product.targets
        while let name = todo.popLast() {
            guard seen.insert(name).inserted else { continue }
            let target = try #require(manifest.targets[name], "the manifest has no target \(name)")
            #expect(target.products.isEmpty, "\(name) depends on another package's product: \(target.products)")
            todo += target.targets
        }
        #expect(seen == Self.core, "the NextBest product pulls in \(seen.subtracting(Self.core).sorted())")
    }

    @Test func theToolsAreAProductOfTheirOwnThatTheCoreDoesNotSee() throws {
        let manifest = try Manifest.load()
        #expect(manifest.products.contains { $0.name == "NextBestTools" && $0.targets == ["NextBestTools"] })
        #expect(manifest.targets["NextBestTools"]?.targets.contains("NextBest") == true)
        #expect(manifest.targets["nextbest"]?.targets.contains("NextBestTools") == true)
        for name in Self.core { #expect(manifest.targets[name]?.targets.contains("NextBestTools") == false) }
    }
}

/// The parts of `swift package dump-package` these tests read.
struct Manifest {
    struct Target {
        /// Targets of this package it depends on.
        var targets: [String] = []
        /// Products of other packages it depends on.
        var products: [String] = []
    }

    var products: [(name: String, targets: [String])] = []
    var targets: [String: Target] = [:]

    /// Evaluates the package's manifest with SwiftPM (its own scratch folder, so a running
    /// `swift build` or `swift test` of the package is not disturbed).
    static func load() throws -> Manifest {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let scratch = NSTemporaryDirectory() + "nextbest-manifest-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["swift", "package", "--package-path", root, "--scratch-path", scratch, "dump-package"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ManifestError(message: "swift package dump-package failed") }
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ManifestError(message: "dump-package did not print a JSON object")
        }
        var m = Manifest()
        for p in json["products"] as? [[String: Any]] ?? [] {
            m.products.append((p["name"] as? String ?? "", p["targets"] as? [String] ?? []))
        }
        for t in json["targets"] as? [[String: Any]] ?? [] {
            var target = Target()
            for d in t["dependencies"] as? [[String: Any]] ?? [] {
                // {"byName": [name, condition]}, {"target": [name, condition]}, {"product": [name, package, ...]}
                if let n = (d["byName"] as? [Any])?.first as? String ?? (d["target"] as? [Any])?.first as? String {
                    target.targets.append(n)
                } else if let p = d["product"] as? [Any] {
                    target.products.append(p.prefix(2).compactMap { $0 as? String }.joined(separator: " from "))
                }
            }
            m.targets[t["name"] as? String ?? ""] = target
        }
        return m
    }
}

struct ManifestError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
