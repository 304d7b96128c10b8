// policy-language.md §8.1 (value × propensity × context × levers), §8.5 (fallback, holdouts) and §8.6 (campaign dates).
import Foundation
import Testing
@testable import NextBest

/// A pcvl set: a retention group worth +30%, a call with value and propensity, an email, a web banner.
let pcvlSet = """
    channel "phone" {}
    channel "email" {}
    channel "web" { requires_consent = false }
    department "service" {}
    department "marketing" {}
    group "retention" { weight = 30 }
    action "call" { department = "service", channel = "phone", group = "retention",
                    value = 120, propensity = function(c) return c.churn_risk end, weight = 10 }
    action "mail" { department = "marketing", channel = "email", value = function(c) return c.revenue / 1000 end }
    action "banner" { department = "marketing", channel = "web" }
    contact_policy { arbitration = "pcvl", max_actions = 3,
                     context_weights = { channel = { web = 1.5, call_center = 0.8 } } }

    """

@Suite("§8.1 arbitration by value and levers")
struct PCVLTests {
    @Test func theScoreIsPropensityTimesContextTimesValueTimesLevers() throws {
        let f = try Fixture(["a.lua": pcvlSet + """
            policy "retain" { when = function(c) return c.churn_risk > 0.5 end, action = "call" }
            policy "sell" { propose = function(c) return { action = "mail", propensity = 0.5, reason = "revenue" } end }
            """])
        let plan = try f.engine().decide(["id": "1", "churn_risk": 0.8, "revenue": 50_000,
                                          "consent": ["phone": true, "email": true]])
        #expect(plan.actionNames == ["call", "mail"])
        let call = try #require(plan.actions.first)
        let factors = try #require(call.factors)
        #expect(factors.p == 0.8 && factors.c == 1 && factors.v == 120 && abs(factors.l - 1.4) < 1e-12)
        #expect(abs(call.priority - 0.8 * 120 * 1.4) < 1e-9)
        #expect(plan.actions[1].factors == ScoreFactors(p: 0.5, c: 1, v: 50, l: 1))
        #expect(plan.actions[1].priority == 25)
    }

    @Test func contextWeightsMatchCtxContextFromTheOptionsOrTheCall() throws {
        let f = try Fixture(["a.lua": pcvlSet + """
            policy "web" { propose = function(c, ctx) return { action = "banner", value = 10, reason = "seen on " .. tostring(ctx.context.channel) } end }
            """])
        let plain = try f.engine().decide(["id": "1"])
        #expect(plain.actions.first?.priority == 10 && plain.actions.first?.reason == "seen on nil")
        let web = try Engine(policies: f.directory, options: EngineOptions(now: "2026-11-01", context: ["channel": "web"]))
        let onWeb = try web.decide(["id": "1"])
        #expect(onWeb.actions.first?.priority == 15 && onWeb.actions.first?.factors?.c == 1.5)
        #expect(onWeb.actions.first?.reason == "seen on web")
        let called = try web.decide(["id": "1"], context: ["channel": "call_center"])
        #expect(called.actions.first?.factors?.c == 0.8)
        #expect(try web.decide(["id": "1"]).actions.first?.factors?.c == 1.5, "a call's context lasts for that call only")
        let json = try web.decidePlanJSON(json: Array(#"{"id":"2"}"#.utf8), now: nil, context: ["channel": "other"])
        #expect(String(decoding: json, as: UTF8.self).contains(#""factors":{"p":1,"c":1,"v":10,"l":1}"#))
    }

    @Test func aProposalThatGivesAPriorityUnderPCVLIsThatPolicysError() throws {
        let f = try Fixture(["a.lua": pcvlSet + """
            policy "old" { propose = function(c) return { action = "banner", priority = 50 } end }
            policy "ok" { propose = function(c) return { action = "mail", value = 3 } end }
            """])
        let plan = try f.engine().decide(["id": "1", "revenue": 1, "consent": ["email": true]])
        #expect(plan.actionNames == ["mail"])
        let e = try #require(plan.errors.first)
        #expect(e.policy == "old" && e.message.contains("gives a priority") && e.message.contains("value and propensity"))
    }

    @Test func theShortFormGivesNoPriorityUnderPCVLAndNeedsOneOtherwise() throws {
        let pcvl = try Fixture(["a.lua": pcvlSet + """
            policy "old" { action = "banner", priority = 5 }
            """])
        #expect(pcvl.problems().contains { $0.hasPrefix("a.lua:") && $0.contains("policy 'old'") && $0.contains("gives no priority") })
        let v1 = try Fixture(["a.lua": """
            action "a" { department = "d", channel = "c" }
            policy "p" { action = "a" }
            """])
        #expect(v1.problems().contains { $0.contains("policy 'p': the short form needs a 'priority'") })
    }

    @Test func aPropensityOutsideZeroToOneOrANonFiniteValueIsThePolicysError() throws {
        let f = try Fixture(["a.lua": pcvlSet + """
            policy "high" { propose = function(c) return { action = "banner", propensity = 1.2 } end }
            policy "nan" { propose = function(c) return { action = "mail", value = 0/0 } end }
            policy "fine" { action = "call" }
            """])
        let plan = try f.engine().decide(["id": "1", "churn_risk": 0.5, "consent": ["phone": true, "email": true]])
        #expect(plan.actionNames == ["call"])
        #expect(plan.errors.contains { $0.policy == "high" && $0.message.contains("propensity of 1.2") })
        #expect(plan.errors.contains { $0.policy == "nan" && $0.message.contains("value that is") })
        let bad = try Fixture(["a.lua": pcvlSet.replacingOccurrences(of: "weight = 10 }", with: "weight = 10 }\naction \"x\" { department = \"service\", channel = \"web\", propensity = 3 }")
                                + "policy \"p\" { action = \"banner\" }\n"])
        #expect(bad.problems().contains { $0.contains("action 'x': propensity must be a number from 0 to 1") })
    }

    @Test func anActionsValueFunctionThatFailsIsThePolicysErrorAtItsLine() throws {
        let f = try Fixture(["a.lua": pcvlSet + """
            policy "sell" { action = "mail" }
            """])
        let plan = try f.engine().decide(["id": "1", "consent": ["email": true]])  // no revenue
        #expect(plan.actions.isEmpty)
        let e = try #require(plan.errors.first)
        #expect(e.policy == "sell" && e.at == "\(f.directory)/a.lua:9")
    }

    @Test func thePriorityModeIsUnchangedAndWarnsAboutLevers() throws {
        let f = try Fixture(["a.lua": """
            action "a" { department = "d", channel = "c", value = 3 }
            policy "p" { action = "a", priority = 7 }
            """])
        let e = try f.engine()
        #expect(e.warnings.contains { $0.message.contains("value, propensity and weight count only with") })
        let json = String(decoding: try e.decidePlanJSON(json: Array(#"{"id":"1"}"#.utf8)), as: UTF8.self)
        #expect(json == #"{"customer":"1","segments":[],"actions":[{"action":"a","department":"d","channel":"c","priority":7,"policy":"p","reason":"policy p","params":{}}],"suppressed":[],"errors":[]}"#)
        let p = try Fixture(["a.lua": """
            action "a" { department = "d", channel = "c" }
            policy "p" { propose = function(c) return { action = "a", priority = 1, value = 2 } end }
            """])
        #expect(try p.engine().decide(["id": "1"]).errors.first?.message.contains("counts only with contact_policy") == true)
    }
}

@Suite("§8.6 campaign dates")
struct CampaignDateTests {
    let set = """
        action "invite" { department = "sales", channel = "phone", starts = "2026-11-01", ends = "2026-11-26" }
        action "late" { department = "sales", channel = "mail", starts = "2026-12-01T09:00:00Z" }
        policy "p" { propose = function(c) return { { action = "invite", priority = 2 }, { action = "late", priority = 1 } } end }
        """

    @Test func outsideItsDatesAProposalIsSuppressed() throws {
        let f = try Fixture(["a.lua": set])
        let before = try f.engine(now: "2026-10-31T23:59:59Z").decide(["id": "1"])
        #expect(before.suppressed.first { $0.action == "invite" }?.reason == "outside its dates (starts 2026-11-01)")
        let lastDay = try f.engine(now: "2026-11-26T23:30:00Z").decide(["id": "1"])
        #expect(lastDay.actionNames == ["invite"], "ends is inclusive: the whole last day")
        #expect(lastDay.suppressed.first { $0.action == "late" }?.reason == "outside its dates (starts 2026-12-01T09:00:00Z)")
        let after = try f.engine(now: "2026-12-01T09:00:00Z").decide(["id": "1"])
        #expect(after.suppressed.first { $0.action == "invite" }?.reason == "outside its dates (ended 2026-11-26)")
        #expect(after.actionNames == ["late"])
    }

    @Test func badDatesAreLoadErrorsWithFileAndLine() throws {
        let f = try Fixture(["a.lua": """
            action "a" { department = "d", channel = "c", starts = "1 Nov 2026" }
            action "b" { department = "d", channel = "c", starts = "2026-12-01", ends = "2026-11-01" }
            policy "p" { action = "a", priority = 1 }
            """])
        let ps = f.problems()
        #expect(ps.contains { $0.hasPrefix("a.lua:1:") && $0.contains("starts must be a date like \"2026-11-01\"") })
        #expect(ps.contains { $0.hasPrefix("a.lua:2:") && $0.contains("ends (2026-11-01) is before starts (2026-12-01)") })
    }
}

@Suite("§8.5 fallback")
struct FallbackTests {
    let set = """
        channel "email" {}
        channel "post" { requires_consent = false }
        department "marketing" {}
        action "offer" { department = "marketing", channel = "email", cooldown_days = 30 }
        action "newsletter" { department = "marketing", channel = "email", ends = "2026-11-30" }
        action "letter" { department = "marketing", channel = "post", eligible = function(c) return c.address ~= nil, "no address" end }
        policy "p" { when = function(c) return c.wants_offer end, action = "offer", priority = 5 }
        contact_policy { fallback = { "newsletter", "letter" } }
        """

    @Test func anEmptyPlanGetsTheFirstFallbackThatPassesEligibility() throws {
        let f = try Fixture(["a.lua": set])
        let e = try f.engine()
        let mail = try e.decide(["id": "1", "consent": ["email": true]])
        #expect(mail.actionNames == ["newsletter"])
        #expect(mail.actions.first?.reason == "fallback: no other action" && mail.actions.first?.policy == "fallback")
        #expect(mail.actions.first?.priority == 0)
        let noConsent = try e.decide(["id": "2", "address": "Via Roma 1"])
        #expect(noConsent.actionNames == ["letter"], "no email consent: the next fallback")
        #expect(try e.decide(["id": "3"]).actions.isEmpty, "no consent and no address: no fallback")
        let december = try f.engine(now: "2026-12-01").decide(["id": "4", "consent": ["email": true], "address": "x"])
        #expect(december.actionNames == ["letter"], "a fallback outside its dates is passed over")
    }

    @Test func aFallbackNeverDisplacesAnotherAction() throws {
        let f = try Fixture(["a.lua": set])
        let plan = try f.engine().decide(["id": "1", "wants_offer": true, "consent": ["email": true], "address": "x"])
        #expect(plan.actionNames == ["offer"])
        let cooled = try f.engine().decide(["id": "1", "wants_offer": true, "consent": ["email": true],
                                            "contacts": [["action": "offer", "channel": "email", "days_ago": 2]]])
        #expect(cooled.actionNames == ["newsletter"], "the offer is in its cooldown: the plan would be empty")
        #expect(cooled.suppressed.map(\.action) == ["offer"])
    }

    @Test func anUnknownFallbackActionIsALoadError() throws {
        let f = try Fixture(["a.lua": set.replacingOccurrences(of: #"{ "newsletter", "letter" }"#, with: #"{ "newsleter" }"#)])
        #expect(f.problems().contains { $0.hasPrefix("a.lua:8:") && $0.contains("unknown action 'newsleter' (did you mean 'newsletter'?)") })
    }
}

/// The documented holdout hash: 32-bit FNV-1a of the id's bytes, a zero byte and the salt, over 2^32.
func documentedBucket(_ id: String, _ salt: String) -> Double {
    var h: UInt32 = 2_166_136_261
    for b in Array(id.utf8) + [0] + Array(salt.utf8) { h = (h ^ UInt32(b)) &* 16_777_619 }
    return Double(h) / 4_294_967_296
}

@Suite("§8.5 holdouts")
struct HoldoutTests {
    let set = """
        action "a" { department = "d", channel = "c" }
        action "b" { department = "d", channel = "e" }
        holdout "universal" { share = 0.05, salt = "2026" }
        policy "p" { action = "a", priority = 2 }
        policy "q" { action = "b", priority = 1, holdout = 0.10 }
        """

    /// `n` profiles `C00001`... as JSON lines, from `first`.
    func profiles(_ range: ClosedRange<Int>) -> [String] { range.map { String(format: #"{"id":"C%05d"}"#, $0) } }

    @Test func universalMembershipIsTheDocumentedHashAndItsShareHoldsOn20000Customers() throws {
        let e = try Fixture(["a.lua": set]).engine()
        var held = 0
        for line in profiles(1...20_000) {
            let plan = try e.decide(json: Array(line.utf8))
            let id = plan.customer.stringValue!
            let member = documentedBucket(id, "2026") < 0.05
            #expect((plan.holdout == "universal") == member)
            if member {
                held += 1
                #expect(plan.actions.isEmpty && plan.suppressed.isEmpty)
                #expect(plan.heldOut.contains(HeldOutAction(action: "a", policy: "p", holdout: "universal")))
            }
        }
        #expect(abs(Double(held) / 20_000 - 0.05) <= 0.01, "held out: \(held) of 20,000")
    }

    @Test func membershipIsStableAsThePopulationGrows() throws {
        let e = try Fixture(["a.lua": set]).engine()
        func members(_ lines: [String]) throws -> [String: Bool] {
            var out: [String: Bool] = [:]
            for line in lines {
                let plan = try e.decide(json: Array(line.utf8))
                out[plan.customer.stringValue!] = plan.holdout != nil
            }
            return out
        }
        let small = try members(profiles(1...2_000))
        let grown = try members((profiles(1...2_000) + profiles(2_001...6_000)).shuffled())
        for (id, member) in small { #expect(grown[id] == member, "\(id) moved") }
        #expect(small.values.contains(true) && small.values.contains(false))
    }

    @Test func aPolicysHoldoutGetsThePlanWithoutItsProposals() throws {
        let e = try Fixture(["a.lua": set]).engine()
        var inQ = 0, total = 0
        for line in profiles(1...20_000) {
            let plan = try e.decide(json: Array(line.utf8))
            guard plan.holdout == nil else { continue }
            total += 1
            let member = documentedBucket(plan.customer.stringValue!, "q") < 0.10
            if member {
                inQ += 1
                #expect(plan.actionNames == ["a"])
                #expect(plan.heldOut == [HeldOutAction(action: "b", policy: "q", holdout: "q")])
            } else {
                #expect(plan.actionNames == ["a", "b"] && plan.heldOut.isEmpty)
            }
        }
        #expect(abs(Double(inQ) / Double(total) - 0.10) <= 0.01)
    }

    @Test func aHeldOutActionFreesItsPlaceForTheNextProposal() throws {
        let f = try Fixture(["a.lua": """
            action "call" { department = "d", channel = "phone", group = "g" }
            action "mail" { department = "d", channel = "email", group = "g" }
            policy "p" { action = "call", priority = 9, holdout = { share = 1, salt = "all" } }
            policy "q" { action = "mail", priority = 1 }
            """])
        let plan = try f.engine().decide(["id": "7"])
        #expect(plan.actionNames == ["mail"] && plan.suppressed.isEmpty)
        #expect(plan.heldOut == [HeldOutAction(action: "call", policy: "p", holdout: "p")])
        let json = String(decoding: try f.engine().decidePlanJSON(json: Array(#"{"id":"7"}"#.utf8)), as: UTF8.self)
        #expect(json.hasSuffix(#""errors":[],"held_out":[{"action":"call","policy":"p","holdout":"p"}]}"#))
    }

    @Test func holdoutSharesAreValidated() throws {
        let f = try Fixture(["a.lua": """
            action "a" { department = "d", channel = "c" }
            holdout "h" { share = 5 }
            policy "p" { action = "a", priority = 1, holdout = "half" }
            """])
        let ps = f.problems()
        #expect(ps.contains { $0.hasPrefix("a.lua:2:") && $0.contains("needs share, a number from 0 to 1") })
        #expect(ps.contains { $0.hasPrefix("a.lua:3:") && $0.contains("holdout") })
    }
}
