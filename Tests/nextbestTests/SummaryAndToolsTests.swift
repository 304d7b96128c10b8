// The run summary, explain's field values, check at the field's line, CSV routes and diff's new errors: what issue 9 asked the CLI to say.
import Foundation
import NextBest
import Testing

/// A small set whose run has a bit of everything: a segment nobody is in, a customer with no
/// action, a suppression, a proposal dropped for a better one, and a policy error.
func summarySet(_ dir: String) throws -> String {
    try write("""
        segment "rich" { when = function(c) return c.annual_revenue >= 50000 end }
        segment "nobody" { when = function(c) return false end }
        action "call" { department = "sales", channel = "phone" }
        action "mail" { department = "sales", channel = "email" }
        action "gift" { department = "marketing", channel = "email",
                        eligible = function(c) return c.tier == "gold" end }
        policy "rich-call" { segments = { "rich" }, action = "call", priority = 50, reason = "cliente più ricco" }
        policy "rich-mail" {
          segments = { "rich" },
          propose = function(c) return { { action = "mail", priority = 40 }, { action = "call", priority = 10 } } end,
        }
        policy "scored" { when = function(c) return c.score > 1 end, action = "gift", priority = 1 }
        policy "nobody-gift" { segments = { "nobody" }, action = "gift", priority = 5 }
        """, to: dir + "/set/a.lua")
    try write("""
        {"id":"A","annual_revenue":80000,"score":2,"consent":{"phone":false,"email":true}}
        {"id":"B","annual_revenue":100,"score":0,"consent":{"phone":true,"email":true}}
        {"id":"C","annual_revenue":60000,"consent":{"phone":true,"email":true}}

        """, to: dir + "/p.jsonl")
    return dir + "/set"
}

@Suite("nextbest run: the summary")
struct RunSummaryTests {
    @Test func attentionFirstThenNoActionShareZeroSegmentsAndFunnels() throws {
        let dir = try temporaryDirectory()
        let set = try summarySet(dir)
        let r = try nextbest("run", "--policies", set, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--out", dir + "/plans.jsonl", "--summary", dir + "/summary.json")
        #expect(r.status == 1, "a policy error fails the run")
        let err = r.stderr
        #expect(err.contains("  now: 2026-11-01T00:00:00Z (from --now)"))
        #expect(err.contains("customers with no action: 1 of 3 (33.3%)"))
        let lines = err.split(separator: "\n").map(String.init)
        let attention = try #require(lines.firstIndex(of: "  needs attention:"))
        let policyError = try #require(lines.firstIndex { $0.contains("x policy 'scored'") && $0.contains("field 'score' is missing") })
        let noAction = try #require(lines.firstIndex { $0.contains("customers with no action") })
        #expect(attention < policyError && policyError < noAction, "what needs attention comes first:\n\(err)")
        #expect(lines.contains { $0.hasPrefix("    nobody ") && $0.hasSuffix(" 0 (0.0%)") }, "a segment with no member is listed:\n\(err)")
        #expect(lines.contains { $0.contains("rich-mail") && $0.contains("ran for 2") && $0.contains("proposed 4")
                                 && $0.contains("taken 2") && $0.contains("dropped 2") && $0.contains("suppressed 0") })
        #expect(lines.contains { $0.contains("nobody-gift") && $0.contains("ran for 0") })
        #expect(lines.contains { $0.hasPrefix("    sales ") && $0.contains("email 2") && $0.contains("phone 1") }, "channels per department")

        let json = try JSONValue(parsing: try String(contentsOfFile: dir + "/summary.json", encoding: .utf8))
        #expect(json["now"] == "2026-11-01T00:00:00Z" && json["now_source"] == "--now")
        #expect(json["without_action"]?["count"] == .int(1))
        #expect(json["segments"]?["nobody"] == .int(0))
        #expect(json["policies"]?["rich-mail"]?["dropped_for_better"] == .int(2))
        #expect(json["policies"]?["rich-call"]?["taken"] == .int(1))
        #expect(json["attention"]?["policy_errors"]?.arrayValue?.first?["count"] == .int(1))
        let callReasons = json["suppressed"]?["call"]?.objectValue ?? [:]
        #expect(callReasons.keys.contains { $0.contains("consent") && $0.contains("phone") }, "\(callReasons)")
        #expect(json["suppressed"]?["gift"]?.objectValue?.keys.contains { $0.hasPrefix("not eligible") } == true)
    }

    @Test func consentValuesThatAreNotBooleansAreCountedByField() throws {
        let dir = try temporaryDirectory()
        let set = try summarySet(dir)
        try write("""
            {"id":"X1","annual_revenue":80000,"score":0,"consent":{"phone":true,"email":"FALSE"}}
            {"id":"X2","annual_revenue":80000,"score":0,"consent":{"phone":true,"email":0}}

            """, to: dir + "/bad.jsonl")
        let r = try nextbest("run", "--policies", set, "--profiles", dir + "/bad.jsonl", "--now", "2026-11-01",
                             "--out", dir + "/plans.jsonl", "--summary", dir + "/s.json")
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        let heading = try #require(lines.firstIndex { $0.hasPrefix("    consent values that are not booleans") }, "\(r.stderr)")
        #expect(lines[heading + 1].hasPrefix("      consent.email  2  e.g. "), "\(lines[heading + 1])")
        let json = try JSONValue(parsing: try String(contentsOfFile: dir + "/s.json", encoding: .utf8))
        #expect(json["attention"]?["consent_not_boolean"]?["consent.email"]?["count"] == .int(2))
    }

    @Test func withoutNowTheSummarySaysTheCurrentTimeWasUsed() throws {
        let dir = try temporaryDirectory()
        let set = try summarySet(dir)
        let r = try nextbest("run", "--policies", set, "--profiles", dir + "/p.jsonl", "--out", dir + "/plans.jsonl")
        let line = try #require(r.stderr.split(separator: "\n").first { $0.hasPrefix("  now: ") })
        #expect(line.hasSuffix(" (the current time: no --now given)"))
        #expect(line.contains(String(ISO8601DateFormatter().string(from: Date()).prefix(10))))
    }
}

@Suite("nextbest explain: field values")
struct ExplainFieldValueTests {
    @Test func eachStepShowsTheFieldsItReadAndTheirValues() throws {
        let dir = try temporaryDirectory()
        try write("""
            segment "rich" { when = function(c) return c.annual_revenue >= 50000 end }
            action "visit" { department = "sales", channel = "in_person",
                             eligible = function(c) return c.tier ~= "basic" end }
            policy "visit" { when = function(c) return c.consent.phone ~= false end, action = "visit", priority = 1 }
            """, to: dir + "/set/a.lua")
        try write(#"{"id": "C7", "annual_revenue": 18200, "tier": "basic", "consent": {"email": true, "in_person": true}}"#, to: dir + "/c.json")
        let t = try nextbest("explain", "--policies", dir + "/set", "--profile", dir + "/c.json", "--now", "2026-11-01")
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stdout.contains("read: annual_revenue = 18200"), "\(t.stdout)")
        #expect(t.stdout.contains("read: consent.phone = (missing)"))
        #expect(t.stdout.contains("the actions' eligible checks read: tier = \"basic\""))
        let j = try nextbest("explain", "--policies", dir + "/set", "--profile", dir + "/c.json", "--now", "2026-11-01", "--format", "json")
        let v = try JSONValue(parsing: j.stdout)
        #expect(v["segments"]?.arrayValue?.first?["read"] == [["field": "annual_revenue", "value": "18200"]])
        #expect(v["policies"]?.arrayValue?.first?["read"] == [["field": "consent.phone", "value": "(missing)"]])
    }
}

@Suite("nextbest check: at the field's line")
struct CheckPlacementTests {
    @Test func anUnknownActionAndAnUnknownFieldPointAtTheirOwnLines() throws {
        let dir = try temporaryDirectory()
        try write("""
            action "call" { department = "sales", channel = "phone" }

            policy "p" {
              description = "a policy",
              action = "cal",
              priority = 5,
              reasn = "typo",
            }
            """, to: dir + "/set/a.lua")
        let r = try nextbest("check", "--policies", dir + "/set", "--quiet")
        #expect(r.status == 1)
        #expect(r.lines.contains("\(dir)/set/a.lua:5: policy 'p': unknown action 'cal' (did you mean 'call'?)"), "\(r.stdout)")
        #expect(r.lines.contains("\(dir)/set/a.lua:7: policy 'p': unknown field 'reasn' (did you mean 'reason'?)"))
    }
}

@Suite("nextbest run --routes-format csv")
struct CSVRoutesTests {
    @Test func eachDepartmentGetsASpreadsheetWithHeaderQuotesAndByteOrderMark() throws {
        let dir = try temporaryDirectory()
        let set = try summarySet(dir)
        let r = try nextbest("run", "--policies", set, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--out", dir + "/plans.jsonl", "--routes", dir + "/routes", "--routes-format", "csv")
        #expect(r.status == 1, "the set has a policy error on purpose")
        let bytes = try #require(FileManager.default.contents(atPath: dir + "/routes/sales.csv"))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        let rows = text.components(separatedBy: "\r\n")
        #expect(rows.first == #""customer","action","channel","priority","reason","params","policy""#)
        #expect(rows.contains(#""C","call","phone","50.00","cliente più ricco","{}","rich-call""#), "\(rows)")
        #expect(rows.contains(#""A","mail","email","40.00","policy rich-mail","{}","rich-mail""#))
        #expect(rows.count == 1 + 3 + 1, "header, three actions, and the empty string after the last CRLF")
        #expect(!FileManager.default.fileExists(atPath: dir + "/routes/sales.jsonl"))
    }

    @Test func routesCarryTheFieldsTheDepartmentDeclares() throws {
        let dir = try temporaryDirectory()
        try write("""
            department "sales" { fields = { "name", "email", "consent.email" } }
            action "mail" { department = "sales", channel = "email" }
            policy "p" { action = "mail", priority = 12.345 }
            """, to: dir + "/set/a.lua")
        try write("""
            {"id":"0042","name":"Zoë Rossi","email":"z@example.it","consent":{"email":true}}
            {"id":"7","name":"Luca","consent":{"email":true}}

            """, to: dir + "/p.jsonl")
        let j = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--out", dir + "/plans.jsonl", "--routes", dir + "/json")
        #expect(j.status == 0, "\(j.stderr)")
        let lines = try String(contentsOfFile: dir + "/json/sales.jsonl", encoding: .utf8).split(separator: "\n")
        try #require(lines.count == 2)
        let first = try JSONValue(parsing: String(lines[0]))
        #expect(first["name"] == "Zoë Rossi" && first["email"] == "z@example.it" && first["consent.email"] == true)
        #expect(first["action"] == "mail" && first["policy"] == "p")
        #expect(try JSONValue(parsing: String(lines[1]))["email"] == .null, "an absent field is null")

        let c = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--out", dir + "/plans.jsonl", "--routes", dir + "/csv", "--routes-format", "csv")
        #expect(c.status == 0, "\(c.stderr)")
        let text = String(decoding: try #require(FileManager.default.contents(atPath: dir + "/csv/sales.csv")).dropFirst(3), as: UTF8.self)
        #expect(text.components(separatedBy: "\r\n") == [
            #""customer","action","channel","priority","reason","params","policy","name","email","consent.email""#,
            #""0042","mail","email","12.35","policy p","{}","p","Zoë Rossi","z@example.it","true""#,
            #""7","mail","email","12.35","policy p","{}","p","Luca","","true""#,
            "",
        ])
    }
}

@Suite("nextbest diff: what is new")
struct DiffNewsTests {
    @Test func newPolicyErrorsComeFirstNewActionsAreListedAndTheExitIsOne() throws {
        let dir = try temporaryDirectory()
        let set = try summarySet(dir)
        let new = dir + "/new"
        try FileManager.default.copyItem(atPath: set, toPath: new)
        try write("""
            segment "never" { when = function(c) return false end }
            action "sms_new" { department = "sales", channel = "sms" }
            policy "new-sms" { segments = { "never" }, action = "sms_new", priority = 1 }
            policy "crash" { when = function(c) return c.missing_field > 1 end, action = "mail", priority = 1 }
            """, to: new + "/b.lua")
        let d = try nextbest("diff", "--policies", new, "--baseline", set, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01")
        #expect(d.status == 1, "\(d.stdout)\(d.stderr)")
        #expect(d.lines.first?.hasPrefix("NEW POLICY ERRORS") == true, "\(d.stdout)")
        #expect(d.lines.dropFirst().first?.contains("3 x policy 'crash': ") == true)
        #expect(!d.stdout.contains("policy 'scored'"), "the baseline had that error already")
        #expect(d.lines.contains("  new action 'sms_new' reaches no customer in these profiles"))
        #expect(d.lines.contains("  new segment 'never' reaches no customer in these profiles"))
        #expect(d.stdout.contains("channel mix per department"))

        let same = try nextbest("diff", "--policies", set, "--baseline", set, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01")
        #expect(same.status == 0, "errors the baseline has too are not new")
    }
}
