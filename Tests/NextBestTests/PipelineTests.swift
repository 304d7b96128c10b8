// One test per rule of policy-language.md §5: segments, proposals, eligibility, arbitration, plan.
import Testing
@testable import NextBest

@Suite("§5 How a plan is made")
struct PipelineTests {
    // 1. Segments
    @Test func segmentsAreListedInDeclarationOrderWhenTheyMatch() throws {
        let f = try Fixture([
            "a.lua": catalog + """

                segment "zeta" { when = function(c) return c.x > 1 end }
                segment "alpha" { when = function(c) return c.x > 5 end }
                segment "mid" { when = function(c) return c.x > 2 end }
                policy "p" { action = "care", priority = 1 }
                """,
        ])
        let plan = try f.engine().decide(["id": "1", "x": 3])
        #expect(plan.segments == ["zeta", "mid"])
    }

    // 2. Proposals: gates
    @Test func policyRunsOnlyWhenEverySegmentMatches() throws {
        let f = try Fixture([
            "a.lua": catalog + """

                segment "rich" { when = function(c) return c.revenue >= 50000 end }
                segment "techy" { when = function(c) return c.tech >= 0.6 end }
                policy "both" { segments = { "rich", "techy" }, action = "webinar", priority = 10 }
                policy "rich-only" { segments = { "rich" }, action = "care", priority = 5 }
                """,
        ])
        let e = try f.engine()
        #expect(try e.decide(["id": "1", "revenue": 60000, "tech": 0.7]).actionNames == ["webinar", "care"])
        #expect(try e.decide(["id": "2", "revenue": 60000, "tech": 0.1]).actionNames == ["care"])
        #expect(try e.decide(["id": "3", "revenue": 100, "tech": 0.9]).actionNames == [])
    }

    @Test func whenReturningFalseSkipsThePolicy() throws {
        let f = try Fixture([
            "a.lua": catalog + """

                policy "p" { when = function(c) return c.tickets >= 2 end, action = "care", priority = 1 }
                """,
        ])
        let e = try f.engine()
        #expect(try e.decide(["id": "1", "tickets": 1]).actions.isEmpty)
        #expect(try e.decide(["id": "1", "tickets": 2]).actionNames == ["care"])
    }

    @Test func sameActionKeepsItsHighestPriorityProposalAndDropsTheOthersSilently() throws {
        let f = try Fixture([
            "a.lua": catalog + """

                policy "low" { action = "cross_sell", priority = 10, reason = "low" }
                policy "high" { action = "cross_sell", priority = 20, reason = "high" }
                """,
        ])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actions.count == 1)
        #expect(plan.actions[0].reason == "high")
        #expect(plan.actions[0].policy == "high")
        #expect(plan.suppressed.isEmpty)
    }

    @Test func aTieForTheSameActionGoesToThePolicyFirstInNameOrder() throws {
        // Declared in the opposite order: name order decides, not file order.
        let f = try Fixture([
            "a.lua": catalog + """

                policy "zebra" { action = "cross_sell", priority = 10, reason = "from zebra" }
                policy "apple" { action = "cross_sell", priority = 10, reason = "from apple" }
                """,
        ])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actions.map(\.policy) == ["apple"])
    }

    @Test func proposeMayReturnNilOneOrAList() throws {
        let f = try Fixture([
            "a.lua": catalog + """

                policy "none" { propose = function(c) return nil end }
                policy "one" { propose = function(c) return { action = "care", priority = 3 } end }
                policy "many" { propose = function(c)
                  return { { action = "webinar", priority = 9 }, { action = "retention", priority = 8 } }
                end }
                """,
        ])
        #expect(try f.engine().decide(["id": "1"]).actionNames == ["webinar", "retention", "care"])
    }

    // 3. Eligibility
    @Test func aChannelWithoutConsentSuppresses() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"retention\", priority = 1 }"])
        let plan = try f.engine().decide(["id": "1", "consent": ["phone": false, "email": true]])
        #expect(plan.actions.isEmpty)
        #expect(plan.suppressedReasons["retention"] == "no consent for phone")
    }

    @Test func aChannelWithNoConsentEntryCountsAsConsented() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"retention\", priority = 1 }"])
        #expect(try f.engine().decide(["id": "1", "consent": ["email": false]]).actionNames == ["retention"])
    }

    @Test func respectConsentFalseIgnoresConsent() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { action = "retention", priority = 1 }
            contact_policy { respect_consent = false }
            """])
        #expect(try f.engine().decide(["id": "1", "consent": ["phone": false]]).actionNames == ["retention"])
    }

    @Test func cooldownSuppressesARecentContactGivenInDaysAgo() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"retention\", priority = 1 }"])
        let e = try f.engine()
        let recent = try e.decide(["id": "1", "contacts": [["action": "retention", "channel": "phone", "days_ago": 29]]])
        #expect(recent.actions.isEmpty)
        #expect(recent.suppressedReasons["retention"]?.hasPrefix("cooldown") == true)
        let old = try e.decide(["id": "1", "contacts": [["action": "retention", "channel": "phone", "days_ago": 30]]])
        #expect(old.actionNames == ["retention"])
    }

    @Test func cooldownReadsAtDatesAndDateTimesAgainstNow() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"retention\", priority = 1 }"])
        let e = try f.engine(now: "2026-11-01")
        // 2026-10-03 is 29 days before 2026-11-01; 2026-10-02 is 30.
        #expect(try e.decide(["id": "1", "contacts": [["action": "retention", "at": "2026-10-03"]]]).actions.isEmpty)
        #expect(try e.decide(["id": "1", "contacts": [["action": "retention", "at": "2026-10-02"]]]).actionNames == ["retention"])
        #expect(try e.decide(["id": "1", "contacts": [["action": "retention", "at": "2026-10-02T12:00:00Z"]]]).actions.isEmpty)
        #expect(try e.decide(["id": "1", "contacts": [["action": "retention", "at": "2026-10-02T12:00:00+14:00"]]]).actionNames == ["retention"])
    }

    @Test func aContactDatedAfterNowStillCoolsDownAndSaysSo() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"retention\", priority = 1 }\n"])
        let plan = try f.engine().decide(["id": "1", "contacts": [["action": "retention", "at": "2026-11-04"]]])
        #expect(plan.suppressedReasons["retention"] == "cooldown: a contact is dated 3 days after now, cooldown is 30 days")
    }

    @Test func cooldownUsesTheMostRecentContactWithThatActionOnly() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"retention\", priority = 1 }"])
        let e = try f.engine()
        let plan = try e.decide(["id": "1", "contacts": [
            ["action": "retention", "days_ago": 90], ["action": "care", "days_ago": 1], ["action": "retention", "days_ago": 3],
        ]])
        #expect(plan.actions.isEmpty)
        #expect(try e.decide(["id": "1", "contacts": [["action": "care", "days_ago": 1]]]).actionNames == ["retention"])
    }

    @Test func historyFieldComesFromTheContactPolicy() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { action = "retention", priority = 1 }
            contact_policy { history = "past", consent = "opt_out" }
            """])
        let e = try f.engine()
        #expect(try e.decide(["id": "1", "past": [["action": "retention", "days_ago": 1]]]).actions.isEmpty)
        #expect(try e.decide(["id": "1", "contacts": [["action": "retention", "days_ago": 1]]]).actionNames == ["retention"])
    }

    @Test func eligibleReturningFalseSuppresses() throws {
        let f = try Fixture(["a.lua": """
            action "event" { department = "sales", channel = "in_person", eligible = function(c) return c.region ~= "islands" end }
            policy "p" { action = "event", priority = 1 }
            """])
        let e = try f.engine()
        let plan = try e.decide(["id": "1", "region": "islands"])
        #expect(plan.actions.isEmpty)
        #expect(plan.suppressedReasons["event"]?.contains("not eligible") == true)
        #expect(try e.decide(["id": "1", "region": "north"]).actionNames == ["event"])
    }

    // 4. Arbitration
    @Test func actionsAreOrderedByPriorityThenByName() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return {
              { action = "care", priority = 5 }, { action = "webinar", priority = 7 }, { action = "cross_sell", priority = 7 } } end }
            contact_policy { max_actions = 5, max_per_channel = 5, consent = "opt_out" }
            """])
        #expect(try f.engine().decide(["id": "1"]).actionNames == ["cross_sell", "webinar", "care"])
    }

    @Test func aGroupTakesAtMostOneAction() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return { { action = "webinar", priority = 5 }, { action = "event", priority = 6 } } end }
            """])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actionNames == ["event"])
        #expect(plan.suppressedReasons["webinar"] == "group 'invitations' already has event")
    }

    @Test func aFullChannelSuppressesTheLowerPriority() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return { { action = "webinar", priority = 5 }, { action = "cross_sell", priority = 6 } } end }
            """])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actionNames == ["cross_sell"])
        #expect(plan.suppressedReasons["webinar"]?.hasPrefix("channel email is full") == true)
    }

    @Test func maxPerChannelAllowsMoreWhenRaised() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return { { action = "webinar", priority = 5 }, { action = "cross_sell", priority = 6 } } end }
            contact_policy { max_per_channel = 2, consent = "opt_out" }
            """])
        #expect(try f.engine().decide(["id": "1"]).actionNames == ["cross_sell", "webinar"])
    }

    @Test func aFullPlanSuppressesTheRest() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return {
              { action = "webinar", priority = 5 }, { action = "retention", priority = 6 }, { action = "care", priority = 4 } } end }
            contact_policy { max_actions = 2, consent = "opt_out" }
            """])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actionNames == ["retention", "webinar"])
        #expect(plan.suppressedReasons["care"] == "plan is full (at most 2 actions)")
    }

    @Test func theDefaultPlanHoldsThreeActions() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return {
              { action = "webinar", priority = 5 }, { action = "retention", priority = 6 }, { action = "care", priority = 4 },
              { action = "cross_sell", priority = 1 } } end }
            """])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actionNames == ["retention", "webinar", "care"])
        #expect(plan.suppressedReasons["cross_sell"]?.hasPrefix("channel email is full") == true)
    }

    @Test func suppressedProposalsDoNotUseUpTheLimits() throws {
        // The higher-priority email action has no consent, so the lower one still gets the email slot.
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return { { action = "webinar", priority = 9 }, { action = "cross_sell", priority = 1 } } end }
            """])
        let plan = try f.engine().decide(["id": "1", "consent": ["email": false]])
        #expect(plan.actions.isEmpty)
        let f2 = try Fixture(["a.lua": catalog + """

            action "mail" { department = "marketing", channel = "email", eligible = function(c) return false end }
            policy "p" { propose = function(c) return { { action = "mail", priority = 9 }, { action = "cross_sell", priority = 1 } } end }
            """])
        #expect(try f2.engine().decide(["id": "1"]).actionNames == ["cross_sell"])
    }

    // 5. Plan
    @Test func planActionsCarryDepartmentChannelPriorityReasonParamsAndPolicy() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "invite" { propose = function(c)
              return { action = "webinar", priority = 50 + 40 * c.g, reason = "tech-savvy", params = { city = c.city, seats = 2 } }
            end }
            """])
        let plan = try f.engine().decide(["id": "C9", "g": 0.5, "city": "Lyon"])
        #expect(plan.customer == "C9")
        let a = try #require(plan.actions.first)
        #expect(a.action == "webinar")
        #expect(a.department == "marketing")
        #expect(a.channel == "email")
        #expect(a.priority == 70)
        #expect(a.reason == "tech-savvy")
        #expect(a.policy == "invite")
        #expect(a.params == ["city": "Lyon", "seats": 2])
    }

    @Test func aProposalMayOverrideDepartmentAndChannel() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return { action = "care", priority = 1, department = "sales", channel = "sms" } end }
            """])
        let a = try #require(try f.engine().decide(["id": "1"]).actions.first)
        #expect(a.department == "sales")
        #expect(a.channel == "sms")
    }

    @Test func shortFormPriorityReasonAndParamsMayBeFunctions() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { action = "care", priority = function(c) return c.n * 2 end,
                         reason = function(c) return "n is " .. c.n end, params = function(c) return { n = c.n } end }
            """])
        let a = try #require(try f.engine().decide(["id": "1", "n": 21]).actions.first)
        #expect(a.priority == 42)
        #expect(a.reason == "n is 21")
        #expect(a.params == ["n": 21])
    }

    /// "(field 'x' is missing)" is said when the line the error is at reads the missing field —
    /// told from the policy's line, not from the words of Lua's message.
    @Test func aMissingFieldIsNamedOnlyWhenTheFailingLineReadsIt() throws {
        let f = try Fixture(["catalog.lua": catalog, "a.lua": """
            policy "same_line" { when = function(c) return c.score > 3 end, action = "webinar", priority = 1 }
            policy "other_line" {
              when = function(c)
                local bonus = c.bonus or 0
                return c.tier > 3
              end,
              action = "event", priority = 2,
            }
            policy "quoted" { when = function(c) return c["spend"] * 2 > 1 end, action = "care", priority = 3 }
            """])
        let plan = try f.engine().decide(["id": "1", "tier": "gold"])
        let byPolicy = Dictionary(plan.errors.map { ($0.policy ?? "", $0.message) }, uniquingKeysWith: { a, _ in a })
        #expect(byPolicy["same_line"] == "attempt to compare number with nil (field 'score' is missing)")
        #expect(byPolicy["other_line"] == "attempt to compare number with string")  // bonus was missing, on another line
        #expect(byPolicy["quoted"]?.hasSuffix("(field 'spend' is missing)") == true, "\(byPolicy)")
    }

    @Test func aPolicyErrorIsReportedWithItsPlaceAndTheOtherPoliciesStillRun() throws {
        let f = try Fixture(["catalog.lua": catalog, "retention.lua": """
            policy "retention" {
              when = function(c)
                return c.churn_risk >= 0.7
              end,
              action = "retention", priority = 80,
            }
            """, "care.lua": "policy \"care\" { action = \"care\", priority = 1 }"])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actionNames == ["care"])
        let err = try #require(plan.errors.first)
        #expect(err.policy == "retention")
        #expect(err.at == f.directory + "/retention.lua:3")
        #expect(err.message == "attempt to compare number with nil (field 'churn_risk' is missing)")
    }

    @Test func aProposalOfAnUnknownActionIsThatPolicysError() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "typo" { propose = function(c) return { action = "retenton", priority = 1 } end }
            policy "ok" { action = "care", priority = 1 }
            """])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actionNames == ["care"])
        #expect(plan.errors.first?.message.contains("unknown action") == true)
        #expect(plan.errors.first?.message.contains("did you mean 'retention'") == true)
    }

    @Test func theSamePlanComesOutEveryTimeAndFromEveryState() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return { action = "webinar", priority = 1, params = { z = 1, a = { 3, 2 }, m = "x" } } end }
            policy "q" { action = "care", priority = 1 }
            """])
        let e = try f.engine()
        let first = try e.decide(["id": "1"])
        let results = e.decide(Array(repeating: ["id": "1"] as Profile, count: 50))
        for r in results { #expect(try r.get() == first) }
    }

    @Test func contextCarriesNowTodayAndSegments() throws {
        let f = try Fixture(["a.lua": catalog + """

            segment "s" { when = function(c) return true end }
            policy "p" { propose = function(c, ctx)
              return { action = "care", priority = 1, params = { now = ctx.now, today = ctx.today, s = ctx.segments.s } }
            end }
            """])
        let a = try #require(try f.engine(now: "2026-11-01T09:30:00Z").decide(["id": "1"]).actions.first)
        #expect(a.params == ["now": "2026-11-01T09:30:00Z", "today": "2026-11-01", "s": true])
    }
}

@Suite("The evaluation time a state keeps")
struct ClockTests {
    let files = ["a.lua": """
        action "care" { department = "service", channel = "phone" }
        policy "p" { propose = function(c, ctx) return { action = "care", priority = 1, params = { now = ctx.now } } end }
        """]

    func now(_ e: Engine, _ given: String?) throws -> JSONValue? {
        let bytes = try e.decidePlanJSON(json: Array(#"{"id":"1"}"#.utf8), now: given)
        let plan = try JSONValue(parsing: bytes)
        return plan["actions"]?.arrayValue?.first?["params"]?["now"]
    }

    @Test func aCallsNowDoesNotStayForTheNextCallWithoutOne() throws {
        let e = try Fixture(files).engine(now: "2026-11-01T09:30:00Z")
        #expect(try now(e, "2020-01-02") == "2020-01-02T00:00:00Z")
        #expect(try now(e, nil) == "2026-11-01T09:30:00Z")
        #expect(try now(e, "2020-01-02") == "2020-01-02T00:00:00Z")
        #expect(e.checkTime("2021-05-05") == nil)
        #expect(try now(e, nil) == "2026-11-01T09:30:00Z")
        #expect(try e.decide(["id": "1"]).actions.first?.params["now"] == "2026-11-01T09:30:00Z")
    }

    @Test func anUnreadableNowIsRefusedAndTheEnginesTimeStays() throws {
        let e = try Fixture(files).engine(now: "2026-11-01T09:30:00Z")
        #expect(e.checkTime("yesterday") != nil)
        #expect(throws: DecisionError.self) { try now(e, "yesterday") }
        #expect(try now(e, nil) == "2026-11-01T09:30:00Z")
    }
}
