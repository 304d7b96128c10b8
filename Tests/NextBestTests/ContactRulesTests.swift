// policy-language.md §8.2 frequency caps and §8.3 outcome rules, and contact history from outside the profile (the engine API).
import Foundation
import Testing
@testable import NextBest

/// Channels, a group and actions with caps and outcome rules.
private let rulesCatalog = """
    channel "email" { max = 2, per_days = 7 }
    channel "phone" {}
    department "marketing" {}
    group "offers" { max = 1, per_days = 30, suppress = { after = 2, outcome = "declined", within_days = 30, for_days = 60 } }
    action "news" { department = "marketing", channel = "email" }
    action "promo" { department = "marketing", channel = "email", max = 1, per_days = 3 }
    action "call" { department = "marketing", channel = "phone", group = "offers" }
    action "visit" { department = "marketing", channel = "phone", group = "offers",
                     suppress = { outcome = "declined", within_days = 10, for_days = 5 } }
    policy "p" { propose = function(c)
      return { { action = "news", priority = 9 }, { action = "promo", priority = 8 }, { action = "call", priority = 7 } } end }
    contact_policy { max_per_channel = 3 }

    """

private func reason(_ plan: Plan, _ action: String) -> String? { plan.suppressed.first { $0.action == action }?.reason }

@Suite("§8.2 frequency caps, §8.3 outcome rules, contact history")
struct ContactRulesTests {
    let consent: JSONValue = ["email": true, "phone": true]

    @Test func aChannelCapCountsPastContactsInTheWindowAndThisPlansOwn() throws {
        let e = try Fixture(["a.lua": rulesCatalog]).engine(now: "2026-11-10")
        // One email 6 days ago counts, one 8 days ago does not; news takes the second place.
        let plan = try e.decide(["id": "1", "consent": consent, "contacts": [
            ["action": "news", "channel": "email", "at": "2026-11-04"], ["action": "news", "at": "2026-11-02"]]])
        #expect(plan.actions.map(\.action) == ["news", "call"])
        #expect(reason(plan, "promo") == "channel email: 2 contacts in the last 7 days (at most 2)")
    }

    @Test func anActionCapAndAGroupCap() throws {
        let e = try Fixture(["a.lua": rulesCatalog]).engine(now: "2026-11-10")
        let plan = try e.decide(["id": "1", "consent": consent, "contacts": [
            ["action": "promo", "days_ago": 2], ["action": "visit", "at": "2026-10-20"]]])
        #expect(reason(plan, "promo") == "action promo: 1 contact in the last 3 days (at most 1)")
        #expect(reason(plan, "call") == "group offers: 1 contact in the last 30 days (at most 1)")
    }

    @Test func anOutcomeRulePausesAfterRepeatedOutcomes() throws {
        let e = try Fixture(["a.lua": rulesCatalog.replacingOccurrences(of: "group \"offers\" { max = 1, per_days = 30, ", with: "group \"offers\" { ")])
            .engine(now: "2026-11-10")
        let declined: JSONValue = ["id": "1", "consent": consent, "contacts": [
            ["action": "call", "at": "2026-09-01", "outcome": "declined"],
            ["action": "visit", "at": "2026-09-20", "outcome": "declined"],
            ["action": "call", "at": "2026-10-30", "outcome": "accepted"]]]
        // Two declines 19 days apart, the last on 2026-09-20: paused until 2026-11-19.
        #expect(reason(try e.decide(declined), "call") == "declined 2 times in 30 days: paused until 2026-11-19")
        // Declines 40 days apart do not pause.
        let apart: JSONValue = ["id": "2", "consent": consent, "contacts": [
            ["action": "call", "at": "2026-08-01", "outcome": "declined"], ["action": "call", "at": "2026-09-20", "outcome": "declined"]]]
        #expect(try e.decide(apart).actions.map(\.action).contains("call"))
    }

    @Test func forDaysOfZeroIsALoadError() throws {
        let f = try Fixture(["a.lua": """
            department "d" {}
            channel "email" {}
            action "a" { department = "d", channel = "email", suppress = { outcome = "declined", within_days = 10, for_days = 0 } }
            policy "p" { action = "a", priority = 1 }
            """])
        #expect(f.problems().contains { $0.contains("action 'a': suppress needs for_days, a number of days above 0 (0 or less would mean forever)") })
    }

    @Test func historyFromTheHostJoinsTheProfilesContacts() throws {
        let e = try Fixture(["a.lua": rulesCatalog]).engine(now: "2026-11-10")
        let profile: JSONValue = ["id": "7", "consent": consent, "contacts": [["action": "news", "at": "2026-11-08"]]]
        let past = [PastContact(action: "promo", channel: "email", at: "2026-11-09T12:00:00Z")]
        let plan = try e.decide(profile, history: past)
        #expect(reason(plan, "promo") == "action promo: 1 contact in the last 3 days (at most 1)")
        // The next decision without history is back to the profile's contacts only (its email and the plan's news).
        #expect(reason(try e.decide(profile), "promo") == "channel email: 2 contacts in the last 7 days (at most 2)")
        // JSON bytes, and explain, take it too; explain names the contacts that counted.
        let json = Array(profile.jsonText.utf8)
        #expect(reason(try e.decide(json: json, history: past), "promo") != nil)
        let x = try e.explain(json: json, history: past)
        let counted = try #require(x.counted.first { $0.action == "promo" })
        #expect(counted.contacts.map(\.at) == ["2026-11-09T12:00:00Z"])
        // Three emails in the window suppress news too: all three are listed, the profile's own first.
        let news = try e.explain(json: json, history: past + [PastContact(action: "news", channel: nil, at: "2026-11-09")])
        #expect(news.counted.first { $0.action == "news" }?.contacts.map(\.at) == ["2026-11-08", "2026-11-09T12:00:00Z", "2026-11-09"])
    }

    @Test func aBatchRunFetchesHistoryOncePerChunk() throws {
        final class Counting: ContactHistoryProvider, @unchecked Sendable {
            let lock = NSLock()
            var calls = 0, customers = 0
            func contacts(for ids: [String], since: Int64?) -> [String: [PastContact]] {
                lock.lock(); calls += 1; customers += ids.count; lock.unlock()
                return Dictionary(uniqueKeysWithValues: ids.filter { Int($0)! % 2 == 0 }.map {
                    ($0, [PastContact(action: "promo", channel: "email", at: "2026-11-09")])
                })
            }
        }
        let f = try Fixture(["a.lua": rulesCatalog])
        let e = try f.engine(now: "2026-11-10")
        let path = NSTemporaryDirectory() + "nb-history-\(UUID().uuidString).jsonl"
        try (1...3000).map { "{\"id\":\($0),\"consent\":{\"email\":true,\"phone\":true}}\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let provider = Counting()
        var options = BatchOptions(jobs: 2, format: .jsonl, chunkBytes: 4096)
        options.history = provider
        var out: [UInt8] = []
        let summary = try e.run(profiles: path, options: options, output: { out.append(contentsOf: $0) })
        #expect(summary.plans == 3000)
        #expect(provider.customers == 3000 && provider.calls > 1 && provider.calls < 100)
        // Even ids had promo 1 day ago: the action cap holds them back.
        // (the summary counts a cap as one reason, whatever the count it found)
        #expect(summary.suppressedByReason["promo"]?["action promo: frequency cap (at most 1 in 3 days)"] == 1500)
    }

    @Test func contactPolicyListsTheOutcomesAStoreAccepts() throws {
        let f = try Fixture(["a.lua": rulesCatalog.replacingOccurrences(of: "contact_policy { max_per_channel = 3 }",
                                                                          with: "contact_policy { max_per_channel = 3, outcomes = { \"accepted\", \"callback\" } }")])
        #expect(try PolicySet(directory: f.directory).check().outcomes == ["accepted", "callback"])
    }
}
