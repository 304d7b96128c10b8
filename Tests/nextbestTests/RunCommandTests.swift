// `nextbest run` on real files: formats, order, error records, routes, exit codes.
import Foundation
import NextBest
import Testing

let benchPolicies = benchDir + "/policies"

/// Three reference-style profiles: a high-value techy one, a dormant one, a new one.
let threeProfiles = """
    {"id":"A","annual_revenue":80000,"growth_potential":0.5,"share_of_wallet":0.9,"tech_affinity":0.9,"tenure_months":30,"last_purchase_days":10,"purchases_12m":1,"open_tickets":0,"nps":9,"churn_risk":0.1,"consent":{"email":true,"phone":true},"interactions":[],"contacts":[]}
    {"id":"B","annual_revenue":1000,"growth_potential":0.1,"share_of_wallet":0.9,"tech_affinity":0.2,"tenure_months":40,"last_purchase_days":300,"purchases_12m":0,"open_tickets":0,"nps":9,"churn_risk":0.1,"consent":{"email":true},"interactions":[],"contacts":[]}
    {"id":"C","annual_revenue":1000,"growth_potential":0.1,"share_of_wallet":0.9,"tech_affinity":0.2,"tenure_months":1,"last_purchase_days":10,"purchases_12m":0,"open_tickets":0,"nps":9,"churn_risk":0.1,"consent":{"email":false},"interactions":[],"contacts":[]}

    """

@Suite("nextbest run")
struct RunCommandTests {
    @Test func writesOnePlanPerProfileInInputOrder() throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01")
        #expect(r.status == 0)
        let plans = try r.lines.map { try JSONValue(parsing: $0) }
        #expect(plans.map { $0["customer"] } == ["A", "B", "C"])
        #expect(plans[0]["actions"]?.arrayValue?.first?["action"] == "invite_webinar")
        #expect(plans[0]["segments"] == ["high_value"])
        #expect(plans[1]["actions"]?.arrayValue?.first?["action"] == "win_back")
        #expect(plans[2]["suppressed"]?.arrayValue?.first?["reason"] == "no consent for email")
        #expect(r.stderr.contains("3 records -> 3 plans + 0 error records"))
        #expect(r.stderr.contains("high_value"))
    }

    @Test func aBadRecordGivesAnErrorRecordInItsPlaceAndExit1() throws {
        let dir = try temporaryDirectory()
        let lines = threeProfiles.split(separator: "\n")
        try write([String(lines[0]), "{\"id\": \"X\", \"a\": 1 \"b\": 2}", "[1,2]", "{\"no_id\":true}", String(lines[1])].joined(separator: "\n"), to: dir + "/p.jsonl")
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01")
        #expect(r.status == 1)
        let out = try r.lines.map { try JSONValue(parsing: $0) }
        #expect(out.count == 5)
        #expect(out[0]["customer"] == "A")
        #expect(out[1] == ["input": 2, "error": "line 2, column 20: expected ',' or '}' after an object value"])
        #expect(out[2]["input"] == 3)
        #expect(out[2]["error"]?.stringValue?.contains("JSON array, not an object") == true)
        #expect(out[3] == ["input": 4, "error": "line 4: the profile has no \"id\""])
        #expect(out[4]["customer"] == "B")
        #expect(r.stderr.contains("5 records -> 2 plans + 3 error records"))
    }

    @Test func aPolicyErrorIsInThePlanAndTheSummaryAndExitIs1() throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles.replacingOccurrences(of: "\"churn_risk\":0.1,", with: ""), to: dir + "/p.jsonl")
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01")
        #expect(r.status == 1)
        let plan = try JSONValue(parsing: r.lines[0])
        let err = try #require(plan["errors"]?.arrayValue?.first)
        #expect(err["policy"] == "retention")
        #expect(err["message"] == "attempt to compare number with nil (field 'churn_risk' is missing)")
        #expect(err["at"]?.stringValue?.hasSuffix("policies/policies.lua:12") == true)
        #expect(r.stderr.contains("policy 'retention' ("))
    }

    @Test func jsonAndCsvInputGiveTheSamePlansAsJsonLines() throws {
        let dir = try temporaryDirectory()
        let policies = dir + "/set"
        try write("""
            action "call" { department = "customer_service", channel = "phone" }
            policy "p" { when = function(c) return c.score >= 5 and c.consent.phone end, action = "call",
                         priority = function(c) return c.score end }
            """, to: policies + "/a.lua")
        try write("{\"id\":\"1\",\"score\":7,\"consent\":{\"phone\":true}}\n{\"id\":2,\"score\":3,\"consent\":{\"phone\":true}}\n", to: dir + "/p.jsonl")
        try write("[{\"id\":\"1\",\"score\":7,\"consent\":{\"phone\":true}},\n {\"id\":2,\"score\":3,\"consent\":{\"phone\":true}}]", to: dir + "/p.json")
        try write("id,score,consent.phone\n\"1\",7,true\n2,3,true\n", to: dir + "/p.csv")
        let jsonl = try nextbest("run", "--policies", policies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01", "--quiet")
        let json = try nextbest("run", "--policies", policies, "--profiles", dir + "/p.json", "--now", "2026-11-01", "--quiet")
        let csv = try nextbest("run", "--policies", policies, "--profiles", dir + "/p.csv", "--now", "2026-11-01", "--quiet")
        #expect(jsonl.status == 0)
        #expect(jsonl.lines.count == 2)
        #expect(json.stdout == jsonl.stdout)
        // Ids are text (policy-language.md §3): the JSON number 2 and the CSV cell 2 are both "2".
        #expect(jsonl.stdout.contains("{\"customer\":\"2\","))
        #expect(csv.stdout == jsonl.stdout)
    }

    @Test func standardInputIsJsonLines() throws {
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", "-", "--now", "2026-11-01", stdin: threeProfiles)
        #expect(r.status == 0)
        #expect(r.lines.count == 3)
    }

    @Test func routesWriteOneQueuePerDepartment() throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--routes", dir + "/routes", "--out", dir + "/plans.jsonl")
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/routes").sorted()
        #expect(files == ["customer_service.jsonl", "marketing.jsonl", "sales.jsonl"])
        let marketing = try String(contentsOfFile: dir + "/routes/marketing.jsonl", encoding: .utf8)
            .split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        #expect(marketing.map { $0["customer"] } == ["A", "B"])
        #expect(marketing[0]["action"] == "invite_webinar")
        #expect(marketing[0]["channel"] == "email")
        #expect(marketing[0]["policy"] == "invitations")
        #expect(try String(contentsOfFile: dir + "/plans.jsonl", encoding: .utf8).split(separator: "\n").count == 3)
    }

    @Test func moreJobsWriteTheSameOutput() throws {
        let dir = try temporaryDirectory()
        let gen = try run("/usr/bin/env", ["python3", benchDir + "/gen_profiles.py", "3000", "5"])
        try gen.stdout.write(toFile: dir + "/p.jsonl", atomically: true, encoding: .utf8)
        let one = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01", "--jobs", "1")
        let three = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01", "--jobs", "3")
        #expect(one.lines.count == 3000)
        #expect(one.stdout == three.stdout)
    }

    @Test func aSetThatDoesNotLoadExits2AndWritesNothing() throws {
        let dir = try temporaryDirectory()
        try write("policy \"p\" { action = \"nope\", priority = 1 }", to: dir + "/set/a.lua")
        try write(threeProfiles, to: dir + "/p.jsonl")
        let r = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--out", dir + "/plans.jsonl")
        #expect(r.status == 2)
        #expect(r.stderr.contains("set/a.lua:1: policy 'p': unknown action 'nope'"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/plans.jsonl"))
    }

    @Test func loadWarningsAreShownButDoNotFailTheRun() throws {
        let dir = try temporaryDirectory()
        try write("""
            action "used" { department = "sales", channel = "email" }
            action "unused" { department = "sales", channel = "phone" }
            policy "p" { action = "used", priority = 1 }
            """, to: dir + "/set/a.lua")
        try write(threeProfiles, to: dir + "/p.jsonl")
        let r = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl")
        #expect(r.status == 0)
        #expect(r.stderr.contains("set/a.lua:2: warning: action 'unused' is not proposed by any policy"))
    }

    @Test func usageErrorsAndMissingFilesExit2() throws {
        #expect(try nextbest("run", "--policies", benchPolicies).status == 2)
        #expect(try nextbest("run", "--policies", benchPolicies, "--profiles", "/nonexistent.jsonl").status == 2)
        #expect(try nextbest("run", "--policies", "/nonexistent", "--profiles", "-", stdin: "").status == 2)
        #expect(try nextbest("run", "--policies", benchPolicies, "--profiles", "-", "--now", "yesterday", stdin: "").status == 2)
    }

    @Test func helpShowsAnExample() throws {
        let r = try nextbest("run", "--help")
        #expect(r.status == 0)
        #expect(r.stdout.contains("Example:"))
    }
}
