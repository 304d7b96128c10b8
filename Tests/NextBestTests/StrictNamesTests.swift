// policy-language.md v2: the profile schema (§3.1) and strict names (§6.1).
import Foundation
import Testing
@testable import NextBest

@Suite("v2 §3.1 the profile schema")
struct ProfileSchemaTests {
    static let set = v2Catalog + """
        profile { annual_revenue = "number", city = "string", signup = "date", consent = { email = "boolean" }, strict = true }
        segment "big" { when = function(c) return (c.annual_revenue or 0) >= 100 end }
        policy "p" { segments = { "big" }, action = "mail", priority = 1 }
        policy "q" { when = function(c) return c.city == "Milano" end, action = "reply", priority = 1 }
        """

    @Test func aWrongTypedValueIsAbsentAndNamedInTheErrors() throws {
        let e = try Fixture(["a.lua": ProfileSchemaTests.set]).engine()
        let plan = try e.decide(["id": "1", "annual_revenue": "8.250,00", "city": "Milano", "consent": ["email": true]])
        #expect(plan.errors.contains { $0.field == "annual_revenue" && $0.message == "expected a number, got the text \"8.250,00\"" })
        // Reading it is an error for segment "big" (not a silent 0 through `or 0`).
        #expect(plan.errors.contains { $0.segment == "big" && $0.message.contains("field 'annual_revenue' is missing (it held the text \"8.250,00\")") })
        #expect(plan.actionNames == ["reply"])
        let good = try e.decide(["id": "2", "annual_revenue": 500, "city": "Roma", "consent": ["email": true]])
        #expect(good.errors.isEmpty && good.actionNames == ["mail"])
    }

    @Test func aNestedWrongTypeIsNamedAndConsentStaysRefused() throws {
        let e = try Fixture(["a.lua": ProfileSchemaTests.set]).engine()
        let plan = try e.decide(["id": "1", "annual_revenue": 500, "consent": ["email": "VERO"]])
        #expect(plan.errors.contains { $0.field == "consent.email" })
        #expect(plan.suppressedReasons["mail"] == "consent for email is the text \"VERO\", not true or false")
    }

    /// The schema's date check runs in C (schema.c); it must read dates exactly as time.parse
    /// does (the helpers and cooldowns), from a Swift value and from JSON text alike.
    @Test func aDateIsReadByTheSchemaAsTheClockReadsIt() throws {
        let e = try Fixture(["a.lua": ProfileSchemaTests.set]).engine()
        let readable = ["2026-11-01", "2026-02-29", "2026-11-01T09:30:00Z", "2026-11-01 09:30", "2026-11-01T09:30:00,5+01:30",
                        "2026-11-01T09:30:00+0130", "2026-11-01T23:59:60.5Z", "2026-11-01T09:30z", "2026-11-01T09:30:00-0000"]
        let unreadable = ["2026-02-30", "2026-13-01", "2026-11-00", "2026-11-01T24:00", "2026-11-01T10:00+01", "2026-11-01z",
                          "2026-11-01T10:00:60.9999999999999999999", "26-11-01", "2026-11-01T09:30:00.Z", "2026-11-01T09:60",
                          "2026-11-01T09:30:61", "2026-11-01T09:30:00+01:3", "2026-11-01T09:30:5"]
        for (date, ok) in readable.map({ ($0, true) }) + unreadable.map({ ($0, false) }) {
            let fromValue = try e.decide(["id": "1", "signup": .string(date)])
            let fromJSON = try e.decide(json: Array("{\"id\":\"1\",\"signup\":\"\(date)\"}".utf8))
            for plan in [fromValue, fromJSON] {
                let named = plan.errors.contains { $0.field == "signup" && $0.message.hasPrefix("expected an ISO-8601 date") }
                #expect(named == !ok, "\(date)")
            }
        }
    }

    @Test func strictMakesAnUndeclaredFieldAnErrorWithDidYouMean() throws {
        let e = try Fixture(["a.lua": ProfileSchemaTests.set + """

            policy "typo" { when = function(c) return c.anual_revenue > 1 end, action = "call", priority = 1 }
            """]).engine()
        let plan = try e.decide(["id": "1", "annual_revenue": 500])
        #expect(plan.errors.contains { $0.policy == "typo" && $0.message.contains("field 'anual_revenue' is not in the profile schema (did you mean 'annual_revenue'?)") })
    }

    /// Inside a declared nested table too: an undeclared field is an error by its path, and a
    /// wrong-typed value read there says what it held; declared fields read as before.
    @Test func strictAndHeldValuesHoldInsideANestedTable() throws {
        let e = try Fixture(["a.lua": ProfileSchemaTests.set + """

            policy "nested_typo" { when = function(c) return c.consent.emial == true end, action = "call", priority = 1 }
            policy "nested_read" { when = function(c) return c.consent.email == true end, action = "reply", priority = 2 }
            """]).engine()
        let good = try e.decide(["id": "1", "consent": ["email": true]])
        #expect(good.errors.contains { $0.policy == "nested_typo" && $0.message.contains("field 'consent.emial' is not in the profile schema (did you mean 'email'?)") }, "\(good.errors)")
        #expect(!good.errors.contains { $0.policy == "nested_read" })
        #expect(good.actionNames.contains("reply"))
        let held = try e.decide(["id": "2", "consent": ["email": "VERO"]])
        #expect(held.errors.contains { $0.field == "consent.email" && $0.message == "expected true or false, got the text \"VERO\"" }, "\(held.errors)")
        #expect(held.errors.contains { $0.policy == "nested_read" && $0.message.contains("field 'consent.email' is missing (it held the text \"VERO\")") }, "\(held.errors)")
        // The next customer starts clean: nothing held from the one before.
        let after = try e.decide(["id": "3", "consent": ["email": true]])
        #expect(!after.errors.contains { $0.policy == "nested_read" }, "\(after.errors)")
    }

    @Test func anUnknownTypeIsALoadError() throws {
        let f = try Fixture(["a.lua": v2Catalog + "profile { revenue = \"nubmer\" }\npolicy \"p\" { action = \"reply\", priority = 1 }\n"])
        #expect(f.problems().contains { $0.contains("field 'revenue' has the type the text \"nubmer\" (did you mean 'number'?)") })
    }

    @Test func csvCellsAreTypedByTheSchema() throws {
        let dir = NSTemporaryDirectory() + "nextbest-csv-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/p.csv"
        try "\u{FEFF}id;annual_revenue;city;signup;consent.email;note\r\n0042;8.250,00;Milano;31/01/2026;VERO;1,5\r\n7;12;Roma;01/02/2026;falso;x\r\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let f = try Fixture(["a.lua": ProfileSchemaTests.set])
        let e = try f.engine()
        var it = try RecordIterator(path: path, format: .csv, schema: e.profileSchema, csv: CSVReading(decimalComma: true, dateFormat: "dd/mm/yyyy"))
        let first = try JSONValue(parsing: try #require(try it.next()?.bytes))
        #expect(first["id"] == "0042")
        #expect(first["annual_revenue"]?.doubleValue == 8250)
        #expect(first["signup"] == "2026-01-31")
        #expect(first["consent"]?["email"] == true)
        #expect(first["note"]?.doubleValue == 1.5)  // undeclared: read with the decimal comma too
        let second = try JSONValue(parsing: try #require(try it.next()?.bytes))
        #expect(second["consent"]?["email"] == false)
        var again = try RecordIterator(path: path, format: .csv, schema: e.profileSchema, csv: CSVReading(decimalComma: true, dateFormat: "dd/mm/yyyy"))
        let plan = try e.decide(json: try #require(try again.next()?.bytes))
        #expect(plan.customer == "0042" && plan.actionNames == ["mail", "reply"] && plan.errors.isEmpty)
    }
}

@Suite("v2 §6.1 strict names")
struct StrictNamesTests {
    static let base = v2Catalog + "segment \"tech_savvy\" { when = function(c) return true end }\n"

    @Test func anUndefinedGlobalAtRunTimeIsAPlanErrorWithDidYouMean() throws {
        let e = try Fixture(["a.lua": StrictNamesTests.base + """
            function is_milano(c) return c.city == "Milano" end
            policy "p" { when = function(c) return is_milan(c) end, action = "reply", priority = 1 }
            """]).engine()
        let plan = try e.decide(["id": "1"])
        #expect(plan.errors.first?.message.contains("global 'is_milan' is not defined (did you mean 'is_milano'?)") == true)
        #expect(plan.errors.first?.at?.hasSuffix("a.lua:11") == true)
    }

    @Test func anUndefinedGlobalAtLoadTimeSaysWhichLaterFileDefinesIt() throws {
        let f = try Fixture([
            "catalog.lua": StrictNamesTests.base + "action \"x\" { department = \"service\", channel = \"desk\", eligible = is_milano }\npolicy \"p\" { action = \"x\", priority = 1 }\n",
            "helpers.lua": "function is_milano(c) return c.city == \"Milano\" end\n",
        ])
        #expect(f.problems() == ["catalog.lua:10: 'is_milano' is not defined yet: helpers.lua defines it but loads after catalog.lua (files load in sorted order: rename one, or move the definition)"])
    }

    @Test func anUndeclaredSegmentInCtxIsAnError() throws {
        let e = try Fixture(["a.lua": StrictNamesTests.base + """
            policy "p" { when = function(c, ctx) return ctx.segments.tech_savy end, action = "reply", priority = 1 }
            policy "q" { when = function(c, ctx) return not ctx.segments.tech_savvy end, action = "call", priority = 1 }
            """]).engine()
        let plan = try e.decide(["id": "1"])
        #expect(plan.errors.first?.message.contains("there is no segment 'tech_savy' (did you mean 'tech_savvy'?)") == true)
        #expect(plan.actions.isEmpty)
    }

    @Test func aFunctionWithoutReturnIsALoadError() throws {
        let f = try Fixture(["a.lua": StrictNamesTests.base + """
            segment "s" { when = function(c) c.x = 1 end }
            policy "p" { when = function(c) if c.x then return true end end, action = "reply", priority = 1 }
            policy "q" { when = function(c) local function inner() return 1 end inner() end, action = "reply", priority = 2 }
            """])
        let ps = f.problems()
        #expect(ps.contains("a.lua:10: segment 's': its 'when' function has no 'return' (it would always say no): write 'return' before the answer"))
        #expect(ps.contains { $0.hasPrefix("a.lua:12: policy 'q'") })
        #expect(!ps.contains { $0.contains("policy 'p'") })  // falling through is an ordinary no
    }

    @Test func aProposalKeyItMayNotHaveIsAnErrorAtTheLineThatWritesIt() throws {
        let e = try Fixture(["a.lua": StrictNamesTests.base + """
            policy "p" { propose = function(c)
              return { action = "reply", priority = 1,
                       reasn = "typo" }
            end }
            """]).engine()
        let plan = try e.decide(["id": "1"])
        let err = try #require(plan.errors.first)
        #expect(err.message.contains("has a key 'reasn' it may not have (did you mean 'reason'?)"))
        #expect(err.message.contains("action, priority, reason, params, department, channel"))
        #expect(err.at?.hasSuffix("a.lua:12") == true)
    }

    @Test func aProposalErrorPointsAtTheReturnThatMadeIt() throws {
        let e = try Fixture(["a.lua": StrictNamesTests.base + """
            policy "p" { propose = function(c)
              if c.a then
                return { action = "reply", priority = 1 }
              elseif c.b then
                return { action = "replly", priority = 1 }
              elseif c.c then
                return { action = "reply",
                         priority = "high" }
              end
              return { action = "reply", priority = 1, channel = "fax" }
            end }
            """]).engine()
        func error(_ field: String) throws -> PolicyError {
            try #require(try e.decide(["id": "1", field: true]).errors.first, "\(field)")
        }
        let unknown = try error("b")
        #expect(unknown.message.contains(#"names an unknown action the text "replly" (did you mean 'reply'?)"#), "\(unknown)")
        #expect(unknown.at?.hasSuffix("a.lua:14") == true, "\(unknown)")
        let priority = try error("c")
        #expect(priority.message.contains("for 'reply' has priority"), "\(priority)")
        #expect(priority.at?.hasSuffix("a.lua:17") == true, "\(priority)")
        let channel = try error("d")
        #expect(channel.message.contains("names an unknown channel 'fax'"), "\(channel)")
        #expect(channel.at?.hasSuffix("a.lua:19") == true, "\(channel)")
    }

    @Test func aBrokenTestFileNeverStopsDecisions() throws {
        let f = try Fixture([
            "a.lua": StrictNamesTests.base + "policy \"p\" { action = \"reply\", priority = 1 }\n",
            "tests/a_test.lua": "test \"broken\" { customer = { id = \"1\" }, expect = { actions = { \"nope\" } } }\nthis is not lua\n",
        ])
        let e = try f.engine()
        #expect(try e.decide(["id": "1"]).actionNames == ["reply"])
        #expect(throws: DecisionError.self) { try e.runTests() }
        #expect(try !PolicySet(directory: f.directory).check().problems.isEmpty)
    }
}
