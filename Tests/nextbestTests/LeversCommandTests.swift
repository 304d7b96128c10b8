// nextbest run and explain with levers (policy-language.md §8.1, §8.5, §8.6): --context, factors, held_out, fallback and dates.
import Foundation
import NextBest
import Testing

@Suite("nextbest run and explain: value, levers, holdouts")
struct LeversCommandTests {
    /// A pcvl set with a context weight, a group lever and a policy holding everybody out of its call.
    let set = """
        channel "web" { requires_consent = false }
        channel "phone" { requires_consent = false }
        department "marketing" {}
        group "retention" { weight = 30 }
        action "banner" { department = "marketing", channel = "web", value = 10 }
        action "call" { department = "marketing", channel = "phone", group = "retention", value = 100,
                        propensity = function(c) return c.churn_risk end }
        policy "show" { action = "banner" }
        policy "retain" { action = "call", holdout = { share = 1, salt = "everybody" } }
        contact_policy { arbitration = "pcvl", context_weights = { channel = { web = 1.5 } } }
        """

    @Test func runWritesFactorsAndHeldOutAndTakesTheContext() throws {
        let dir = try temporaryDirectory()
        try write(set, to: dir + "/set/a.lua")
        try write(#"{"id": "C1", "churn_risk": 0.5}"# + "\n", to: dir + "/p.jsonl")
        let r = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--context", "channel=web", "--quiet")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == #"{"customer":"C1","segments":[],"actions":[{"action":"banner","department":"marketing","channel":"web","priority":15,"policy":"show","reason":"policy show","params":{},"factors":{"p":1,"c":1.5,"v":10,"l":1}}],"suppressed":[],"errors":[],"held_out":[{"action":"call","policy":"retain","holdout":"retain"}]}"# + "\n")
        let plain = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01", "--quiet")
        #expect(plain.stdout.contains(#""priority":10,"#) && plain.stdout.contains(#""c":1,"#))
        let bad = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--context", "web")
        #expect(bad.status == 2 && bad.stderr.contains("--context takes key=value"))
    }

    @Test func recordKeepsWhatWasHeldOutWithEachDecisionAndEachActionAsATask() throws {
        let dir = try temporaryDirectory()
        try write(set, to: dir + "/set/a.lua")
        // A number as id, and an id with an escaped quote (its line is read member by member).
        try write(#"{"id": "C1", "churn_risk": 0.5}"# + "\n" + #"{"id": "C\"2", "churn_risk": 0.2}"# + "\n"
                  + #"{"id": 3, "churn_risk": 0.9}"# + "\n", to: dir + "/p.jsonl")
        let db = dir + "/s.db"
        let r = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--store", "sqlite:" + db, "--record", "--run-id", "h", "--quiet")
        #expect(r.status == 0, "\(r.stderr)")
        let query = "SELECT d.customer, d.held_out, t.action, t.department, t.channel, t.priority, t.policy "
            + "FROM decisions d JOIN tasks t ON t.decision = d.id ORDER BY d.customer"
        let rows = try run("/usr/bin/env", ["python3", "-c",
                                            "import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(*r, sep='|')",
                                            db, query])
        let held = #"[{"action":"call","policy":"retain","holdout":"retain"}]"#
        #expect(rows.stdout == ["3", "C\"2", "C1"].map { "\($0)|\(held)|banner|marketing|web|10.0|show\n" }.joined(), "\(rows.stderr)")
    }

    @Test func explainPrintsEveryFactorAndWhatWasHeldOut() throws {
        let dir = try temporaryDirectory()
        try write(set, to: dir + "/set/a.lua")
        try write(#"{"id": "C1", "churn_risk": 0.5}"#, to: dir + "/c.json")
        let t = try nextbest("explain", "--policies", dir + "/set", "--profile", dir + "/c.json", "--now", "2026-11-01",
                             "--context", "channel=web")
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stdout.contains("proposed call (97.5 = p 0.5 × c 1.5 × v 100 × l 1.3)"), "\(t.stdout)")
        #expect(t.stdout.contains("banner -> marketing by web, priority 15 = p 1 × c 1.5 × v 10 × l 1 (policy show)"))
        #expect(t.stdout.contains("held out:   call (policy retain, holdout retain)"))
        let j = try nextbest("explain", "--policies", dir + "/set", "--profile", dir + "/c.json", "--now", "2026-11-01", "--format", "json")
        let v = try JSONValue(parsing: j.stdout)
        #expect(v["plan"]?["actions"]?.arrayValue?.first?["factors"]?["v"] == .int(10))
        #expect(v["plan"]?["held_out"]?.arrayValue?.count == 1)
    }

    @Test func theSampleSetHoldsOutFivePercentAndFallsBackToTheNewsletter() throws {
        let r = try nextbest("run", "--policies", "policies", "--profiles", "policies/samples/customers.jsonl", "--now", "2026-11-01", "--quiet")
        let plans = try r.lines.map { try JSONValue(parsing: $0) }.filter { $0["customer"] != nil }
        let held = plans.filter { $0["holdout"] == .string("universal") }
        #expect(!held.isEmpty && held.count < plans.count / 10)
        #expect(held.allSatisfy { $0["actions"]?.arrayValue?.isEmpty == true })
        let fallbacks = plans.filter { $0["actions"]?.arrayValue?.first?["policy"] == .string("fallback") }
        #expect(!fallbacks.isEmpty)
        #expect(fallbacks.allSatisfy { $0["actions"]?.arrayValue?.count == 1 && $0["actions"]?.arrayValue?.first?["action"] == .string("newsletter_signup") })
        let december = try nextbest("run", "--policies", "policies", "--profiles", "policies/samples/customers.jsonl", "--now", "2026-12-01", "--quiet")
        #expect(!december.stdout.contains(#""action":"invite_event","department""#))
        #expect(december.stdout.contains("outside its dates (ended 2026-11-26)"))
    }
}
