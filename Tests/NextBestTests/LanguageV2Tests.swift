// policy-language.md v2: declared channels and departments (§2.1), ids as text and undated contacts (§3), opt-in consent (§3.2), eligible reasons (§5).
import Foundation
import Testing
@testable import NextBest

/// A v2 catalog: two channels needing consent, one that does not, two departments.
let v2Catalog = """
    channel "email" {}
    channel "phone" { consent = "calls" }
    channel "desk" { requires_consent = false }
    department "marketing" { fields = { "name", "email" } }
    department "service" { capacity = 20 }
    action "mail" { department = "marketing", channel = "email" }
    action "call" { department = "service", channel = "phone" }
    action "reply" { department = "service", channel = "desk" }

    """

@Suite("v2 §2.1 declared channels and departments")
struct DeclarationTests {
    @Test func anUndeclaredChannelOrDepartmentIsALoadErrorWithDidYouMean() throws {
        let f = try Fixture(["a.lua": v2Catalog + """
            action "typo" { department = "marketting", channel = "emial" }
            policy "p" { action = "typo", priority = 1 }
            """])
        #expect(f.problems().contains { $0.hasPrefix("a.lua:9: action 'typo': unknown channel 'emial' (did you mean 'email'?)") })
        #expect(f.problems().contains { $0.hasPrefix("a.lua:9: action 'typo': unknown department 'marketting' (did you mean 'marketing'?)") })
    }

    @Test func aV1SetThatDeclaresNoneLoadsWithAWarning() throws {
        let f = try Fixture(["a.lua": """
            action "mail" { department = "marketing", channel = "email" }
            policy "p" { action = "mail", priority = 1 }
            """])
        let e = try f.engine()
        #expect(e.warnings.contains { $0.message.hasPrefix("no channel is declared") && $0.message.contains("typo") })
        #expect(e.warnings.contains { $0.message.hasPrefix("no department is declared") })
        #expect(e.channels.map(\.name) == ["email"] && e.channels.allSatisfy { !$0.declared })
        #expect(e.departmentInfo.map(\.name) == ["marketing"])
    }

    @Test func aProposalOverrideMustNameADeclaredChannel() throws {
        let f = try Fixture(["a.lua": v2Catalog + """
            policy "p" { propose = function(c) return { action = "reply", priority = 1, channel = "sms" } end }
            """])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actions.isEmpty)
        #expect(plan.errors.first?.message.contains("unknown channel 'sms'") == true)
    }

    @Test func theDescriptionHoldsTheDeclarations() throws {
        let f = try Fixture(["a.lua": v2Catalog + """
            channel "sms" { max = 2, per_days = 7, suppress = { after = 2, outcome = "declined", within_days = 30, for_days = 60 } }
            policy "p" { action = "reply", priority = 1 }
            """])
        let e = try f.engine()
        #expect(e.departmentInfo.first { $0.name == "marketing" }?.fields == ["name", "email"])
        #expect(e.departmentInfo.first { $0.name == "service" }?.capacity == 20)
        let sms = try #require(e.channels.first { $0.name == "sms" })
        #expect(sms.max == 2 && sms.perDays == 7 && sms.suppress?.forDays == 60 && sms.declared)
        #expect(e.channels.first { $0.name == "phone" }?.consent == "calls")
        #expect(e.channels.first { $0.name == "desk" }?.requiresConsent == false)
        #expect(try PolicySet(directory: f.directory).check().departments.count == 2)
    }

    @Test func capsOutcomeRulesAndCapacityAreValidated() throws {
        let f = try Fixture(["a.lua": """
            channel "email" { max = 2 }
            channel "sms" { suppress = { after = 2, outcome = "declined", within_days = 30, for_days = 0 } }
            channel "fax" { suppress = { aftr = 2 } }
            department "sales" { capacity = -1, fields = { 3 } }
            department "ops" { capacty = 5 }
            action "a" { department = "sales", channel = "email" }
            policy "p" { action = "a", priority = 1 }
            """])
        let ps = f.problems()
        #expect(ps.contains { $0.hasPrefix("a.lua:1:") && $0.contains("needs both 'max'") })
        #expect(ps.contains { $0.hasPrefix("a.lua:2:") && $0.contains("for_days") && $0.contains("forever") })
        #expect(ps.contains { $0.hasPrefix("a.lua:3:") && $0.contains("unknown field 'aftr' (did you mean 'after'?)") })
        #expect(ps.contains { $0.hasPrefix("a.lua:4:") && $0.contains("capacity must be a whole number") })
        #expect(ps.contains { $0.hasPrefix("a.lua:4:") && $0.contains("fields[1]") })
        #expect(ps.contains { $0.hasPrefix("a.lua:5:") && $0.contains("unknown field 'capacty' (did you mean 'capacity'?)") })
    }
}

@Suite("v2 §3.2 consent is opt-in")
struct ConsentTests {
    static let set = v2Catalog + """
        policy "p" { propose = function(c) return { { action = "mail", priority = 3 }, { action = "call", priority = 2 }, { action = "reply", priority = 1 } } end }
        contact_policy { max_actions = 3 }
        """

    @Test func onlyExactlyTrueIsConsent() throws {
        let e = try Fixture(["a.lua": ConsentTests.set]).engine()
        let missing = try e.decide(["id": "1"])
        #expect(missing.actionNames == ["reply"])
        #expect(missing.suppressedReasons == ["mail": "no consent recorded for email", "call": "no consent recorded for phone"])
        #expect(missing.errors.isEmpty)
        let yes = try e.decide(["id": "2", "consent": ["email": true, "calls": true]])
        #expect(yes.actionNames == ["mail", "call", "reply"])
        let no = try e.decide(["id": "3", "consent": ["email": false, "phone": true]])
        #expect(no.suppressedReasons == ["mail": "no consent for email", "call": "no consent recorded for phone"])
    }

    @Test func aValueThatIsNotABooleanSuppressesAndIsAPlanError() throws {
        let e = try Fixture(["a.lua": ConsentTests.set]).engine()
        let plan = try e.decide(["id": "1", "consent": ["email": "FALSE", "calls": 0]])
        #expect(plan.actionNames == ["reply"])
        #expect(plan.suppressedReasons["mail"] == "consent for email is the text \"FALSE\", not true or false")
        #expect(plan.suppressedReasons["call"] == "consent for phone is the number 0, not true or false")
        #expect(plan.errors.count == 2)
    }

    @Test func aNullEntryIsNamedNotReadAsMissing() throws {
        let e = try Fixture(["a.lua": ConsentTests.set]).engine()
        let plan = try e.decide(json: Array(#"{"id":"1","consent":{"email":null,"calls":true}}"#.utf8))
        #expect(plan.actionNames == ["call", "reply"])
        #expect(plan.suppressedReasons["mail"] == "consent for email is null, not true or false")
        #expect(plan.errors.map(\.message) == ["consent for email is null, not true or false: no action used it (write true or false)"])
        // the next customer is not touched by the previous one's null
        let next = try e.decide(json: Array(#"{"id":"2","consent":{"calls":true}}"#.utf8))
        #expect(next.suppressedReasons["mail"] == "no consent recorded for email")
        #expect(next.errors.isEmpty)
        // the same from a profile built in Swift, and under opt-out (a null is never consent)
        let fromValue = try e.decide(["id": "3", "consent": ["email": .null]])
        #expect(fromValue.suppressedReasons["mail"] == "consent for email is null, not true or false")
        let optOut = try Fixture(["a.lua": ConsentTests.set.replacingOccurrences(of: "max_actions = 3", with: "max_actions = 3, consent = \"opt_out\"")]).engine()
        let o = try optOut.decide(json: Array(#"{"id":"4","consent":{"email":null}}"#.utf8))
        #expect(o.actionNames == ["call", "reply"])
        #expect(o.errors.count == 1)
        // a null elsewhere is an absent field, as before
        #expect(try e.decide(json: Array(#"{"id":"5","prefs":{"consent":{"email":null}},"consent":{"email":true,"calls":true}}"#.utf8)).actionNames == ["mail", "call", "reply"])
    }

    @Test func optOutTakesAMissingEntryAsConsentButStillRefusesANonBoolean() throws {
        let e = try Fixture(["a.lua": ConsentTests.set.replacingOccurrences(of: "max_actions = 3", with: "max_actions = 3, consent = \"opt_out\"")]).engine()
        #expect(try e.decide(["id": "1"]).actionNames == ["mail", "call", "reply"])
        #expect(try e.decide(["id": "1", "consent": ["email": "no"]]).actionNames == ["call", "reply"])
    }

    @Test func respectConsentFalseStillLoadsWithAWarning() throws {
        let e = try Fixture(["a.lua": ConsentTests.set.replacingOccurrences(of: "max_actions = 3", with: "max_actions = 3, respect_consent = false")]).engine()
        #expect(e.warnings.contains { $0.message.contains("respect_consent = false turns consent checks off") })
        #expect(try e.decide(["id": "1"]).actionNames == ["mail", "call", "reply"])
    }
}

@Suite("v2 §3 ids and contacts, §5 eligible reasons")
struct IdsAndContactsTests {
    @Test func idsAreTheirTextAsWritten() throws {
        let e = try Fixture(["a.lua": v2Catalog + "policy \"p\" { action = \"reply\", priority = 1 }\n"]).engine()
        #expect(try e.decide(json: Array(#"{"id":"0042"}"#.utf8)).customer == "0042")
        #expect(try e.decide(json: Array(#"{"id":42}"#.utf8)).customer == "42")
        #expect(try e.decide(json: Array(#"{"id":12345678901234567890}"#.utf8)).customer == "12345678901234567890")
        #expect(try e.decide(["id": 7]).customer == "7")
        #expect(throws: DecisionError.self) { try e.decide(json: Array(#"{"id":4.5}"#.utf8)) }
    }

    @Test func aContactWithNoDateCountsAsTodayAndIsAPlanError() throws {
        let e = try Fixture(["a.lua": """
            action "reply" { department = "service", channel = "desk", cooldown_days = 10 }
            channel "desk" { requires_consent = false }
            department "service" {}
            policy "p" { action = "reply", priority = 1 }
            """]).engine()
        let plan = try e.decide(["id": "1", "contacts": [["action": "reply"]]])
        #expect(plan.actions.isEmpty)
        #expect(plan.suppressedReasons["reply"]?.hasPrefix("cooldown") == true)
        #expect(plan.errors.first?.message.contains("counts as made today") == true)
        #expect(try e.decide(["id": "1", "contacts": [["action": "reply", "days_ago": 20]]]).actionNames == ["reply"])
    }

    @Test func eligibleMayGiveItsReason() throws {
        let e = try Fixture(["a.lua": """
            channel "desk" { requires_consent = false }
            department "service" {}
            action "reply" { department = "service", channel = "desk", eligible = function(c) return c.region ~= "islands", "not on the islands" end }
            action "other" { department = "service", channel = "desk", eligible = function(c) return false end }
            policy "p" { propose = function(c) return { { action = "reply", priority = 1 }, { action = "other", priority = 2 } } end }
            """]).engine()
        let plan = try e.decide(["id": "1", "region": "islands"])
        #expect(plan.suppressedReasons["reply"] == "not eligible: not on the islands")
        #expect(plan.suppressedReasons["other"] == "not eligible (the action's eligible check said no)")
        #expect(try e.decide(["id": "1", "region": "north"]).actionNames == ["reply"])
    }
}
