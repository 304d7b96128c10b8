// `nextbest check`, `test`, `explain` and `diff` on real files: what a policy author sees.
import Foundation
import NextBest
import Testing

/// The set with one problem per file (Tests/Fixtures/broken).
let brokenSet = packageRoot + "/Tests/Fixtures/broken"

@Suite("nextbest check")
struct CheckCommandTests {
    /// Each problem is at the line naming the field or value at fault (the unknown segment, the
    /// priority, the test's expectation), not only at the declaration's first line.
    @Test func tenBrokenFilesGiveTenProblemsEachAtItsPlace() throws {
        let r = try nextbest("check", "--policies", "Tests/Fixtures/broken")
        #expect(r.status == 1)
        let b = "Tests/Fixtures/broken/"
        let expected = [
            b + "a_syntax_error.lua:4: '}' expected (to close '{' at line 2) near 'action'",
            b + "b_unknown_action.lua:3: policy 'webinar-again': unknown action 'invite_webinr' (did you mean 'invite_webinar'?)",
            b + "c_unknown_segment.lua:3: policy 'vip-retention': unknown segment 'vip'",
            b + "d_duplicate_name.lua:4: action 'cross_sell' is declared twice: here and at \(b)catalog.lua:7",
            b + "e_missing_department.lua:2: action 'loyalty_gift': missing 'department' (who carries it out)",
            b + "f_missing_channel.lua:3: action 'loyalty_call': missing 'channel' (how the customer is reached)",
            b + "g_neither_form.lua:2: policy 'forgotten': has neither 'propose = function(c, ctx) ... end' (full form) nor 'action' and 'priority' (short form)",
            b + "h_priority_type.lua:3: policy 'eager-cross-sell': 'priority' must be a number or a function, not the text \"high\"",
            b + "i_contact_policy_twice.lua:3: contact_policy appears twice: here and at \(b)catalog.lua:13 (a set has at most one)",
            b + "tests/j_unknown_action_test.lua:4: test 'gold customer gets a webinar': unknown action 'invite_seminar' (did you mean 'invite_webinar'?)",
        ]
        let problems = r.lines.filter { $0.hasPrefix(b) && !$0.contains(": warning: ") }
        #expect(problems == expected)
        #expect(r.lines.last == "check: 10 problems, 4 warnings — the set does not load")
    }

    @Test func aGoodSetIsListedAndPasses() throws {
        let r = try nextbest("check", "--policies", benchPolicies)
        #expect(r.status == 0)
        #expect(r.stdout.contains("7 policies"))
        #expect(r.stdout.contains("invite_webinar    marketing by email"))
        // The reference set is v1: it declares no channel or department, which check warns about.
        #expect(r.lines.contains { $0.contains("warning: no channel is declared") })
        #expect(r.lines.contains { $0.contains("warning: no department is declared") })
        #expect(r.lines.last == "check: 0 problems, 2 warnings — the set loads")
    }

    @Test func unusedDeclarationsAreWarningsNotFailures() throws {
        let dir = try temporaryDirectory()
        try write("""
            segment "nobody" { when = function(c) return false end }
            action "used" { department = "sales", channel = "email" }
            action "unused" { department = "sales", channel = "phone" }
            policy "p" { action = "used", priority = 1 }
            """, to: dir + "/set/a.lua")
        let r = try nextbest("check", "--policies", dir + "/set", "--quiet")
        #expect(r.status == 0)
        #expect(r.lines.contains("\(dir)/set/a.lua:1: warning: segment 'nobody' gates no policy (it still appears in plans; policies may read ctx.segments)"))
        #expect(r.lines.contains("\(dir)/set/a.lua:3: warning: action 'unused' is not proposed by any policy"))
    }

    @Test func aMissingFolderCannotRun() throws {
        #expect(try nextbest("check", "--policies", "/nonexistent/set").status == 2)
    }
}

/// A small set with tests: two pass, one fails on purpose when `failing` is true.
func testedSet(failing: Bool) throws -> String {
    let dir = try temporaryDirectory()
    try write("""
        segment "high_value" { when = function(c) return c.annual_revenue >= 50000 end }
        action "invite_webinar" { department = "marketing", channel = "email" }
        action "retention_call" { department = "customer_service", channel = "phone", cooldown_days = 30 }
        channel "email" {}
        channel "phone" {}
        department "marketing" {}
        department "customer_service" {}
        policy "webinar" { segments = { "high_value" }, action = "invite_webinar", priority = 50 }
        policy "retention" { when = function(c) return c.churn_risk >= \(failing ? "0.95" : "0.7") end,
                             action = "retention_call", priority = 80 }
        """, to: dir + "/set/policies.lua")
    try write("""
        local gold = { id = "T", annual_revenue = 80000, churn_risk = 0.1, consent = { email = true, phone = true } }
        test "gold customer gets a webinar" { customer = gold, expect = { actions = { "invite_webinar" } } }
        test "gold customer at churn risk gets a retention call first" {
          customer = with(gold, { churn_risk = 0.9 }),
          expect = { actions = { "retention_call", "invite_webinar" }, departments = { "customer_service", "marketing" } },
        }
        test "a recent call means no second call" {
          customer = with(gold, { churn_risk = 0.9, contacts = { { action = "retention_call", channel = "phone", days_ago = 3 } } }),
          expect = { suppressed = { retention_call = "cooldown" } },
        }
        """, to: dir + "/set/tests/retention_test.lua")
    return dir + "/set"
}

@Suite("nextbest test")
struct TestCommandTests {
    @Test func passingTestsEndWithTheCount() throws {
        let r = try nextbest("test", "--policies", try testedSet(failing: false), "--now", "2026-11-01")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.lines.last == "3 passed, 0 failed")
    }

    @Test func exactlyTheAffectedTestsFailWithExpectedBesideActual() throws {
        let set = try testedSet(failing: true)
        let r = try nextbest("test", "--policies", set, "--now", "2026-11-01")
        #expect(r.status == 1)
        #expect(r.lines.last == "1 passed, 2 failed")
        let fails = r.lines.filter { $0.hasPrefix("FAIL") }
        #expect(fails == [
            "FAIL  gold customer at churn risk gets a retention call first (\(set)/tests/retention_test.lua:3)",
            "FAIL  a recent call means no second call (\(set)/tests/retention_test.lua:7)",
        ])
        #expect(r.stdout.contains("expected                        actual"))
        #expect(r.stdout.contains("      actions      retention_call, invite_webinar  invite_webinar\n"))
        #expect(r.stdout.contains("      suppressed.retention_call  cooldown  (not suppressed)\n"))
        #expect(r.stdout.contains("suppressed.retention_call: 'retention_call' was not suppressed"))
        #expect(r.stdout.contains("actions:    invite_webinar -> marketing by email, priority 50 (policy webinar)"))
    }

    @Test func theSampleSetPassesItsOwnTests() throws {
        let r = try nextbest("test", "--policies", "policies")
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.lines.last?.hasSuffix(" passed, 0 failed") == true)
    }

    @Test func changingOnePolicyFailsExactlyTheTestsThatDependOnIt() throws {
        // The change: the retention call's value drops below the retention email's.
        let set = try temporaryDirectory() + "/policies"
        try FileManager.default.copyItem(atPath: packageRoot + "/policies", toPath: set)
        let file = set + "/retention.lua"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try #require(text.contains("value = 90, propensity = risk"))
        try text.replacingOccurrences(of: "value = 90, propensity = risk", with: "value = 60, propensity = risk")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let r = try nextbest("test", "--policies", set)
        #expect(r.status == 1)
        let failed = r.lines.filter { $0.hasPrefix("FAIL  ") }.map { String($0.dropFirst(6).prefix { $0 != "(" }.dropLast()) }
        #expect(failed == [
            "at most 3 actions per plan, one per channel, highest score first",
            "the phone slot goes to the most urgent call; retention falls back to email",
            "high-value customer at churn risk gets a retention call, not the email",
        ])
        #expect(r.lines.last?.hasSuffix(" passed, 3 failed") == true)
        #expect(r.stdout.contains("      includes: missing: retention_call"))
    }

    @Test func theFilterRunsOnlyMatchingTests() throws {
        let r = try nextbest("test", "--policies", try testedSet(failing: true), "--now", "2026-11-01", "--filter", "gets a webinar")
        #expect(r.status == 0)
        #expect(r.lines.last == "1 passed, 0 failed")
        let none = try nextbest("test", "--policies", try testedSet(failing: false), "--filter", "no such test")
        #expect(none.status == 1)
        #expect(none.lines.last == "0 passed, 0 failed")
    }
}

@Suite("nextbest explain")
struct ExplainCommandTests {
    @Test func explainsOneCustomerPickedById() throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        let r = try nextbest("explain", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--id", "C", "--now", "2026-11-01")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("Customer C, decided at 2026-11-01T00:00:00Z"))
        #expect(r.stdout.contains("   out  high_value"))
        #expect(r.stdout.contains("ran      onboarding        proposed onboarding (60)"))
        #expect(r.stdout.contains("skipped  invitations       not in segment high_value"))
        #expect(r.stdout.contains("   suppressed onboarding (policy onboarding): no consent for email"))
        #expect(r.stdout.contains("   actions:    (none)"))
    }

    @Test func jsonHasTheStepsAndThePlan() throws {
        let dir = try temporaryDirectory()
        try write(String(threeProfiles.split(separator: "\n")[0]), to: dir + "/one.json")
        let r = try nextbest("explain", "--policies", benchPolicies, "--profile", dir + "/one.json", "--now", "2026-11-01", "--format", "json")
        #expect(r.status == 0, "\(r.stderr)")
        let v = try JSONValue(parsing: r.stdout)
        #expect(v["segments"]?.arrayValue?.first?["matched"] == true)
        #expect(v["policies"]?.arrayValue?.count == 7)
        #expect(v["plan"]?["actions"]?.arrayValue?.first?["action"] == "invite_webinar")
    }

    @Test func anUnknownIdOrBadUsageCannotRun() throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        #expect(try nextbest("explain", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--id", "ZZ").status == 2)
        #expect(try nextbest("explain", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl").status == 2)
        #expect(try nextbest("explain", "--policies", benchPolicies, "--profile", dir + "/p.jsonl").status == 2)
    }
}

@Suite("nextbest diff")
struct DiffCommandTests {
    /// What `run` gives per customer: the chosen (action, department, channel), in order.
    func chosen(_ out: Output) throws -> [[String]] {
        try out.lines.map { line in
            let plan = try JSONValue(parsing: line)
            return (plan["actions"]?.arrayValue ?? []).map {
                "\($0["action"]?.stringValue ?? "")/\($0["department"]?.stringValue ?? "")/\($0["channel"]?.stringValue ?? "")"
            }
        }
    }

    @Test func countsAgreeWithTwoRunsComparedPlanByPlan() throws {
        let dir = try temporaryDirectory()
        let gen = try run("/usr/bin/env", ["python3", benchDir + "/gen_profiles.py", "3000", "7"])
        try #require(gen.status == 0)
        try write(gen.stdout, to: dir + "/p.jsonl")
        // The change: retention reaches customers from a churn risk of 0.5, and marketing takes over cross-selling.
        let newSet = dir + "/new"
        try FileManager.default.copyItem(atPath: benchPolicies, toPath: newSet)
        for (file, from, to) in [("policies.lua", "c.churn_risk >= 0.7", "c.churn_risk >= 0.5"),
                                 ("catalog.lua", "action \"cross_sell\"       { department = \"sales\"",
                                  "action \"cross_sell\"       { department = \"marketing\"")] {
            let path = newSet + "/" + file
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try #require(text.contains(from), "the bench set changed: \(file) has no \(from)")
            try text.replacingOccurrences(of: from, with: to).write(toFile: path, atomically: true, encoding: .utf8)
        }

        let d = try nextbest("diff", "--policies", newSet, "--baseline", benchPolicies, "--profiles", dir + "/p.jsonl",
                             "--now", "2026-11-01", "--format", "json")
        #expect(d.status == 0, "\(d.stderr)")
        let diff = try JSONValue(parsing: d.stdout)

        let before = try chosen(nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01", "--quiet"))
        let after = try chosen(nextbest("run", "--policies", newSet, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01", "--quiet"))
        try #require(before.count == 3000 && after.count == 3000)
        let changed = zip(before, after).filter { $0 != $1 }.count
        #expect(changed > 0)
        #expect(diff["records"] == .int(3000))
        #expect(diff["changed"] == .int(changed))
        func volumes(_ plans: [[String]], _ part: Int) -> [String: Int] {
            var d: [String: Int] = [:]
            for p in plans { for a in p { d[String(a.split(separator: "/")[part]), default: 0] += 1 } }
            return d
        }
        for (key, part) in [("actions", 0), ("departments", 1)] {
            let b = volumes(before, part), a = volumes(after, part)
            for name in Set(b.keys).union(a.keys) {
                #expect(diff[key]?[name]?["before"] == .int(b[name] ?? 0), "\(key) \(name) before")
                #expect(diff[key]?[name]?["after"] == .int(a[name] ?? 0), "\(key) \(name) after")
            }
        }
        #expect(diff["examples"]?.arrayValue?.count == 5)

        let text = try nextbest("diff", "--policies", newSet, "--baseline", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01")
        #expect(text.status == 0)
        #expect(text.lines.first?.contains("\(changed) of 3,000 customers get a different plan") == true)
        #expect(text.stdout.contains("actions per department"))
    }
}
