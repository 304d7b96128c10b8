// Capacity across customers (policy-language.md §8.4): a customer who loses every capacity their plan claims takes the plan pass 1 made for that case; the plans and counters are those deciding them again gives.
import Foundation
import Testing
@testable import NextBest

/// Sales takes 30 actions a run and 20 calls; a plan holds two actions, so a customer may claim
/// two capacities with one action (a call) and two actions of one department (call and visit),
/// and lose one while keeping the other.
private let twoClaimsSet = """
    channel "phone" { requires_consent = false }
    channel "sms" { requires_consent = false }
    channel "email" { requires_consent = false }
    department "sales" { capacity = 30 }
    department "marketing" {}
    action "call" { department = "sales", channel = "phone", capacity = 20 }
    action "visit" { department = "sales", channel = "sms" }
    action "mail" { department = "marketing", channel = "email" }
    contact_policy { max_actions = 2 }
    policy "p" {
      propose = function(c)
        return { { action = "call", priority = c.score }, { action = "visit", priority = c.other }, { action = "mail", priority = 1 } }
      end,
    }
    """

@Suite("§8.4 capacity: the plan made for losing all")
struct CapacityIfAllLostTests {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Runs `input` with and without the plans made for losing all: the outputs, the summaries
    /// (as JSON, without the time) and the capacity reports, and how many were decided again each way.
    private func both(_ engine: Engine, _ input: String, jobs: Int) throws -> (same: Bool, sameSummary: Bool, again: Int, againWithout: Int, moved: Int) {
        var results: [(String, JSONValue, CapacityReport)] = []
        for quick in [true, false] {
            var options = BatchOptions(jobs: jobs)
            options.capacityIfAllLost = quick
            let out = LockedBytes()
            var summary = try engine.run(profiles: input, options: options, output: { out.append($0) })
            summary.seconds = 0
            results.append((out.text, summary.json, summary.capacity ?? CapacityReport(limits: [])))
        }
        var a = results[0].2, b = results[1].2
        let again = a.decidedAgain, againWithout = b.decidedAgain
        a.decidedAgain = 0
        b.decidedAgain = 0
        if results[0].1 != results[1].1, case .object(let x) = results[0].1, case .object(let y) = results[1].1 {
            for (k, v) in x where y[k] != v { Issue.record("summary \(k): \(v) against \(String(describing: y[k]))") }
        }
        return (results[0].0 == results[1].0 && a == b, results[0].1 == results[1].1, again, againWithout, b.customersMoved)
    }

    @Test(arguments: [1, 2])
    func theSampleSetGivesTheSamePlansAndCounters(jobs: Int) throws {
        // The sample set (caps, groups, a fallback, holdouts, a department's and an action's
        // capacity) on its customers four times over, under other ids.
        let engine = try Engine(policies: Self.root + "/policies", options: EngineOptions(now: "2026-11-01", concurrency: 2))
        let lines = try String(contentsOfFile: Self.root + "/policies/samples/customers.jsonl", encoding: .utf8).split(separator: "\n")
        var all: [String] = []
        for k in 0..<4 { all += lines.map { $0.replacingOccurrences(of: #"{"id":"C"#, with: #"{"id":"K\#(k)C"#) } }
        let input = try scratchDirectory() + "/p.jsonl"
        try (all.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let r = try both(engine, input, jobs: jobs)
        #expect(r.same, "the plans and capacity report are the same either way")
        #expect(r.sameSummary, "the counters are the same either way")
        #expect(r.moved > 100 && r.again < r.againWithout / 4, "most who lost took their plan for losing all (\(r.again) of \(r.againWithout))")
    }

    @Test(arguments: [1, 2])
    func customersWhoKeepOneClaimOrShareAnIdAreDecidedAgain(jobs: Int) throws {
        let engine = try Fixture(["a.lua": twoClaimsSet]).engine()
        // Every 40th record repeats an earlier customer's id.
        let profiles = (0..<600).map { i in
            #"{"id":"C\#(i % 40 == 39 ? i - 7 : i)","score":\#((i * 37) % 101),"other":\#((i * 53) % 97)}"#
        }
        let input = try scratchDirectory() + "/p.jsonl"
        try (profiles.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let r = try both(engine, input, jobs: jobs)
        #expect(r.same, "the plans and capacity report are the same either way")
        #expect(r.sameSummary, "the counters are the same either way")
        #expect(r.again > 0 && r.again < r.againWithout, "some were decided again (\(r.again) of \(r.againWithout)), not all")
    }
}
