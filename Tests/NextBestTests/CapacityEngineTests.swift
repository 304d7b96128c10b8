// Capacity across customers (policy-language.md §8.4) through the Swift API: Engine.run applies it, a single decide does not; the claim scanner reads our plan lines.
import Foundation
import Testing
@testable import NextBest

/// Customers propose a sales call (priority = score) and a mail; sales takes 2 calls a run.
let capacitySet = """
    channel "phone" { requires_consent = false }
    channel "email" { requires_consent = false }
    department "sales" { capacity = 2 }
    department "marketing" {}
    action "call" { department = "sales", channel = "phone" }
    action "mail" { department = "marketing", channel = "email" }
    contact_policy { max_actions = 1 }
    policy "p" {
      propose = function(c) return { { action = "call", priority = c.score }, { action = "mail", priority = 1 } } end,
    }
    """

@Suite("§8.4 capacity across customers: the engine")
struct CapacityEngineTests {
    /// Runs `profiles` (JSON lines) through `engine.run`; the plans by customer and the summary.
    private func run(_ engine: Engine, _ profiles: [String], jobs: Int = 1) throws -> ([String: JSONValue], BatchSummary) {
        let path = NSTemporaryDirectory() + "nextbest-capacity-\(UUID().uuidString).jsonl"
        try (profiles.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let out = LockedBytes()
        let summary = try engine.run(profiles: path, options: BatchOptions(jobs: jobs), output: { out.append($0) })
        var plans: [String: JSONValue] = [:]
        for line in out.text.split(separator: "\n") {
            let v = try JSONValue(parsing: Array(line.utf8))
            plans[v["customer"]?.stringValue ?? "?"] = v
        }
        return (plans, summary)
    }

    @Test func runGivesTheCapacityToTheHighestPrioritiesAndTiesToTheSmallerId() throws {
        let engine = try Fixture(["a.lua": capacitySet]).engine()
        let profiles = [#"{"id":"c","score":50}"#, #"{"id":"a","score":90}"#, #"{"id":"d","score":50}"#,
                        #"{"id":"b","score":70}"#, #"{"id":"b2","score":70}"#]
        let (plans, summary) = try run(engine, profiles)
        func actions(_ id: String) -> [String] { (plans[id]?["actions"]?.arrayValue ?? []).compactMap { $0["action"]?.stringValue } }
        #expect(actions("a") == ["call"])
        #expect(actions("b") == ["call"])     // 70 = 70: "b" before "b2"
        #expect(actions("b2") == ["mail"])
        #expect(actions("c") == ["mail"] && actions("d") == ["mail"])
        let reasons = (plans["b2"]?["suppressed"]?.arrayValue ?? []).compactMap { $0["reason"]?.stringValue }
        #expect(reasons == ["department sales is at capacity (2)"])
        #expect(summary.actionsByAction == ["call": 2, "mail": 3])
        #expect(summary.actionsByDepartment == ["sales": 2, "marketing": 3])
        #expect(summary.suppressedByReason["call"] == ["department sales is at capacity (2)": 3])
        #expect(summary.policyFunnels["p"]?.taken == 5)
        let limit = try #require(summary.capacity?.limits.first)
        #expect(limit.name == "sales" && limit.taken == 2 && limit.capacity == 2 && limit.customersTurnedAway == 3)
        #expect(summary.capacity?.customersMoved == 3)
    }

    @Test func aSingleDecideDoesNotApplyCapacity() throws {
        let engine = try Fixture(["a.lua": capacitySet.replacingOccurrences(of: "capacity = 2", with: "capacity = 0")]).engine()
        let plan = try engine.decide(["id": "x", "score": 10])
        #expect(plan.actionNames == ["call"])
        let (plans, _) = try run(engine, [#"{"id":"x","score":10}"#])
        #expect(plans["x"]?["actions"]?.arrayValue?.first?["action"]?.stringValue == "mail")
    }

    @Test func theScannerReadsClaimsPastTrickyTextAndParams() throws {
        let engine = try Fixture(["a.lua": capacitySet + "\naction \"seat\" { department = \"marketing\", channel = \"email\", capacity = 5 }\n"]).engine()
        let keys = CapacityKeys(engine.description)
        #expect(keys.keys.map(\.name) == ["sales", "seat"])
        let line = #"{"customer":"q\"actions\":[","segments":["s"],"actions":[{"action":"call","department":"sales","channel":"phone","priority":12.5,"policy":"p","reason":"r {[\"","params":{"note":"}]\",","n":[1,{"a":"b"}]}},{"action":"mail","department":"marketing","channel":"email","priority":3,"policy":"p","reason":"","params":{}},{"action":"seat","department":"sales","channel":"email","priority":-2e-3,"policy":"p","reason":"","params":{}}],"suppressed":[],"errors":[]}"#
        var claims: [CapacityClaim] = []
        Array(line.utf8).withUnsafeBytes { l in
            Array("q".utf8).withUnsafeBytes { PlanClaimScanner(keys: keys).claims(in: l, id: $0, record: 7, lineNumber: 3, into: &claims) }
        }
        #expect(claims.map(\.action) == ["call", "seat", "seat"])
        #expect(claims.map(\.key) == [0, 1, 0])  // the seat's proposal override sends it to sales: both keys
        #expect(claims.map(\.priority) == [12.5, -0.002, -0.002])
        // What the counters took from the plan, for a customer decided again: actions cut to the
        // four fields counted, the suppressed list whole.
        let choice = try #require(Array(line.utf8).withUnsafeBytes { PlanClaimScanner.choice(of: $0) })
        let counted = try JSONValue(parsing: choice)
        #expect(counted["actions"]?.arrayValue?.map { $0.objectValue?.keys.sorted() ?? [] }
                == Array(repeating: ["action", "channel", "department", "policy"], count: 3))
        #expect(counted["actions"]?.arrayValue?.map { $0["action"]?.stringValue } == ["call", "mail", "seat"])
        #expect(counted["suppressed"]?.arrayValue?.isEmpty == true)
        let suppressed = #"{"customer":"s","segments":[],"actions":[],"suppressed":[{"action":"call","policy":"p","reason":"department sales is at capacity (2)"}],"errors":[]}"#
        let cut = try #require(Array(suppressed.utf8).withUnsafeBytes { PlanClaimScanner.choice(of: $0) })
        #expect(String(decoding: cut, as: UTF8.self) == #"{"actions":[],"suppressed":[{"action":"call","policy":"p","reason":"department sales is at capacity (2)"}]}"#)
        var whole: [CapacityClaim] = []  // whole priorities are read directly; a minus sign, a fraction or an exponent by Double's parser
        for (text, value) in [("35", 35.0), ("-7", -7.0), ("0", 0.0), ("1e2", 100.0), ("-0.5", -0.5), ("123456789012345678", 123456789012345678.0)] {
            let plan = #"{"customer":"w","segments":[],"actions":[{"action":"call","department":"sales","channel":"phone","priority":"# + text + #","policy":"p"}]}"#
            Array(plan.utf8).withUnsafeBytes { l in
                Array("w".utf8).withUnsafeBytes { PlanClaimScanner(keys: keys).claims(in: l, id: $0, record: 1, lineNumber: 0, into: &whole) }
            }
            #expect(whole.last?.priority == value, "\(text)")
        }
        #expect(claims.allSatisfy { $0.record == 7 && $0.line == 3 && $0.id == "q" })
    }
}
