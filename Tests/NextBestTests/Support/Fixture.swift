// Test support: a policy set written into a temporary folder, and an engine over it.
import Foundation
@testable import NextBest

/// A temporary policy set built from file name -> Lua text.
struct Fixture {
    let directory: String

    /// A set written in v1's style (no `channel` and no `contact_policy` declared) is given
    /// `contact_policy { consent = "opt_out" }`, v1's reading of consent that its tests were
    /// written for (a missing entry counts as consent); v2 sets keep the opt-in default.
    init(_ files: [String: String]) throws {
        directory = NSTemporaryDirectory() + "nextbest-test-" + UUID().uuidString
        var files = files
        let all = files.values.joined(separator: "\n")
        if !all.contains("contact_policy") && !all.contains("channel \"") {
            files["zz_v1_consent.lua"] = "contact_policy { consent = \"opt_out\" }\n"
        }
        for (name, text) in files {
            let path = directory + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    /// An engine over the set, at a fixed `now`.
    func engine(now: String = "2026-11-01", limits: Limits = Limits()) throws -> Engine {
        try Engine(policies: directory, options: EngineOptions(limits: limits, now: now, concurrency: 2))
    }

    /// The load problems, as `file:line: message` with the folder removed: those of the
    /// engine's load, or when it loads, those `check` finds (test files included).
    func problems() -> [String] {
        do {
            _ = try engine()
            return try PolicySet(directory: directory).check().problems.map {
                $0.description.replacingOccurrences(of: directory + "/", with: "")
            }
        } catch let error as PolicySetError {
            guard case .invalid(let ps) = error else { return ["unreadable: \(error)"] }
            return ps.map { $0.description.replacingOccurrences(of: directory + "/", with: "") }
        } catch {
            return ["unexpected: \(error)"]
        }
    }
}

/// A small catalog most tests share: two email actions, two phone actions, one social.
let catalog = """
    action "webinar"   { department = "marketing", channel = "email", group = "invitations" }
    action "event"     { department = "sales", channel = "phone", group = "invitations" }
    action "retention" { department = "customer_service", channel = "phone", cooldown_days = 30 }
    action "cross_sell" { department = "sales", channel = "email" }
    action "care"      { department = "customer_service", channel = "social" }
    """

extension Plan {
    /// The chosen action names, in order.
    var actionNames: [String] { actions.map(\.action) }
    /// Suppressed action -> reason.
    var suppressedReasons: [String: String] {
        Dictionary(suppressed.map { ($0.action, $0.reason) }, uniquingKeysWith: { a, _ in a })
    }
}

/// Bytes collected from a run's output callback, which workers may call on any thread.
final class LockedBytes: @unchecked Sendable {
    private var bytes: [UInt8] = []
    private let lock = NSLock()
    func append(_ b: UnsafeRawBufferPointer) { lock.lock(); bytes.append(contentsOf: b); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: bytes, as: UTF8.self) }
}
