// Test support: a policy set written into a temporary folder, and an engine over it.
import Foundation
@testable import NextBest

/// A temporary policy set built from file name -> Lua text.
struct Fixture {
    let directory: String

    init(_ files: [String: String]) throws {
        directory = NSTemporaryDirectory() + "nextbest-test-" + UUID().uuidString
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

    /// The load problems, as `file:line: message` with the folder removed.
    func problems() -> [String] {
        do {
            _ = try engine()
            return []
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
