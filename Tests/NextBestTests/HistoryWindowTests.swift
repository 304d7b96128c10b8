// Contact history handed to the engine as typed rows: the window the set's rules need, customers with and without history in one chunk, the bytes entry point.
import Foundation
import Testing
@testable import NextBest

private let windowCatalog = """
    channel "email" { max = 2, per_days = 7 }
    channel "phone" {}
    department "marketing" {}
    group "offers" { suppress = { after = 2, outcome = "declined", within_days = 30, for_days = 60 } }
    action "news" { department = "marketing", channel = "email", cooldown_days = 45 }
    action "call" { department = "marketing", channel = "phone", group = "offers" }
    policy "p" { propose = function(c)
      return { { action = "news", priority = 9 }, { action = "call", priority = 7 } } end }

    """

/// A provider that notes the window it was asked for.
private final class Recording: ContactHistoryProvider, @unchecked Sendable {
    let lock = NSLock()
    let history: ContactHistory
    var sinces: [Int64?] = []
    init(_ h: [String: [PastContact]]) { history = ContactHistory(h) }
    func contacts(for customers: [String], since: Int64?) -> [String: [PastContact]] {
        lock.lock(); sinces.append(since); lock.unlock()
        return history.contacts(for: customers, since: since)
    }
}

/// A provider that gives every contact, however old.
private struct Everything: ContactHistoryProvider {
    let history: ContactHistory
    func contacts(for customers: [String], since: Int64?) -> [String: [PastContact]] { history.contacts(for: customers, since: nil) }
}

@Suite("contact history from the host: typed rows, the rules' window")
struct HistoryWindowTests {
    @Test func theWindowIsTheLongestRuleOfTheSet() throws {
        let e = try Fixture(["a.lua": windowCatalog]).engine(now: "2026-11-10")
        #expect(e.historyWindowDays == 90)  // the outcome rule: 30 + 60 days, past the cooldown's 45 and the cap's 7
        let now = PastContact(action: "x", channel: nil, at: "2026-11-10T00:00:00Z").seconds!
        #expect(e.historySince(now: now) == now - 91 * 86_400)
        let plain = try Fixture(["a.lua": """
            action "a" { department = "d", channel = "email" }
            policy "p" { action = "a", priority = 1 }
            """]).engine(now: "2026-11-10")
        #expect(plain.historyWindowDays == nil && plain.historySince(now: now) == nil)
    }

    @Test func storeTimesAreReadWithoutFoundation() {
        #expect(PastContact(action: "a", channel: nil, at: "1970-01-02").seconds == 86_400)
        #expect(PastContact(action: "a", channel: nil, at: "2026-11-03T10:00:00Z").seconds == 1793700000)
        #expect(PastContact(action: "a", channel: nil, at: "2026-02-30").seconds == nil)
        #expect(PastContact(action: "a", channel: nil, at: "2026-11-03T10:00:00+01:00").seconds == nil)  // read by the engine instead
    }

    @Test func customersWithAndWithoutHistoryInOneChunk() throws {
        let e = try Fixture(["a.lua": windowCatalog]).engine(now: "2026-11-10")
        let declined = [PastContact(action: "call", channel: nil, at: "2026-10-01T10:00:00Z", outcome: "declined"),
                        PastContact(action: "call", channel: "phone", at: "2026-10-20", outcome: "declined")]
        var byCustomer: [String: [PastContact]] = [:]
        for i in stride(from: 1, through: 200, by: 3) { byCustomer[String(i)] = declined }
        // Older than every rule reaches back: never handed over, and it would change nothing anyway.
        byCustomer["2"] = [PastContact(action: "news", channel: "email", at: "2026-08-01T00:00:00Z")]
        let provider = Recording(byCustomer)
        let path = NSTemporaryDirectory() + "nb-window-\(UUID().uuidString).jsonl"
        try (1...200).map { "{\"id\":\"\($0)\",\"consent\":{\"email\":true,\"phone\":true}}\n" }.joined()
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = BatchOptions(jobs: 2, format: .jsonl, chunkBytes: 2048)
        options.history = provider
        var out: [UInt8] = []
        let summary = try e.run(profiles: path, options: options, output: { out.append(contentsOf: $0) })
        #expect(summary.plans == 200 && summary.isClean)
        let now = PastContact(action: "x", channel: nil, at: "2026-11-10").seconds!
        #expect(!provider.sinces.isEmpty && provider.sinces.allSatisfy { $0 == now - 91 * 86_400 })
        #expect(provider.history.contacts(for: ["2"], since: now - 91 * 86_400).isEmpty)
        let plans = try String(decoding: out, as: UTF8.self).split(separator: "\n").map { try Plan(json: JSONValue(parsing: String($0))) }
        for p in plans {
            guard case .string(let text) = p.customer, let id = Int(text) else { Issue.record("customer \(p.customer)"); continue }
            if id % 3 == 1 {
                #expect(p.actions.map(\.action) == ["news"])
                #expect(p.suppressed.first { $0.action == "call" }?.reason == "declined 2 times in 30 days: paused until 2026-12-19")
            } else {
                #expect(p.actions.map(\.action) == ["news", "call"])
            }
        }
        // The same contacts with all history handed over (no window): the same plans.
        var all = options
        all.history = Everything(history: ContactHistory(byCustomer))
        var unwindowed: [UInt8] = []
        _ = try e.run(profiles: path, options: all, output: { unwindowed.append(contentsOf: $0) })
        #expect(unwindowed == out)
    }

    @Test func theBytesEntryPointTakesHistoryLikeTheProfilesOwnContacts() throws {
        let e = try Fixture(["a.lua": windowCatalog]).engine(now: "2026-11-10")
        let past = [PastContact(action: "news", channel: "email", at: "2026-11-01T08:00:00Z"),
                    PastContact(action: "call", channel: nil, at: "2026-10-01T10:00:00Z", outcome: "declined"),
                    PastContact(action: "call", channel: "phone", at: "2026-10-20", outcome: "declined")]
        let bare = Array(#"{"id":"7","consent":{"email":true,"phone":true},"contacts":[{"action":"news","at":"2026-09-01"}]}"#.utf8)
        let written = Array(#"{"id":"7","consent":{"email":true,"phone":true},"contacts":[{"action":"news","at":"2026-09-01"},{"action":"news","channel":"email","at":"2026-11-01T08:00:00Z"},{"action":"call","at":"2026-10-01T10:00:00Z","outcome":"declined"},{"action":"call","channel":"phone","at":"2026-10-20","outcome":"declined"}]}"#.utf8)
        let viaHistory = try e.decidePlanJSON(json: bare, now: "2026-11-12", context: nil, history: past)
        #expect(viaHistory == (try e.decidePlanJSON(json: written, now: "2026-11-12")))
        let plan = try Plan(json: JSONValue(parsing: viaHistory))
        #expect(plan.actions.isEmpty && plan.suppressed.count == 2)
        // The history is for that call only.
        #expect(try e.decidePlanJSON(json: bare, now: "2026-11-12") != viaHistory)
        let explained = try e.explain(json: bare, now: "2026-11-12", context: nil, history: past)
        #expect(explained.plan.suppressed.map(\.reason) == plan.suppressed.map(\.reason))
    }
}
