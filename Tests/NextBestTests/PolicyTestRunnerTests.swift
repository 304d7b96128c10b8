// The set's own tests (policy-language.md §7): expectations, check functions, with(), now.
import Testing
@testable import NextBest

@Suite("Policy tests (§7)")
struct PolicyTestRunnerTests {
    let policies = catalog + """

        segment "rich" { when = function(c) return c.revenue >= 50000 end }
        policy "invite" { segments = { "rich" }, action = "webinar", priority = 50, reason = "rich" }
        policy "retain" { when = function(c) return c.risk >= 0.7 end, action = "retention", priority = 80 }
        policy "care" { when = function(c) return days_since(c.mention) <= 3 end, action = "care", priority = 60 }
        """

    func results(_ tests: String, filter: String? = nil) throws -> [String: PolicyTestResult] {
        let f = try Fixture(["a.lua": policies, "tests/t_test.lua": tests])
        let rs = try f.engine().runTests(filter: filter)
        return Dictionary(rs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func expectationsThatHoldPass() throws {
        let r = try results("""
            test "rich and at risk" {
              customer = { id = "T1", revenue = 60000, risk = 0.9, mention = "2026-10-01" },
              expect = { actions = { "retention", "webinar" }, includes = { "webinar" }, excludes = { "care" },
                         segments = { "rich" }, departments = { "marketing", "customer_service" } },
            }
            """)
        #expect(r["rich and at risk"]?.passed == true)
        #expect(r["rich and at risk"]?.failures.isEmpty == true)
    }

    @Test func eachExpectationThatFailsIsReportedWithExpectedAndActual() throws {
        let r = try results("""
            test "wrong" {
              customer = { id = "T1", revenue = 60000, risk = 0.1, mention = "2026-10-01" },
              expect = { actions = { "retention" }, includes = { "care" }, excludes = { "webinar" },
                         segments = { }, departments = { "sales" } },
            }
            """)
        let t = try #require(r["wrong"])
        #expect(!t.passed)
        #expect(t.failures.map(\.field) == ["actions", "includes", "excludes", "segments", "departments"])
        let actions = try #require(t.failures.first)
        #expect(actions.expected == ["retention"])
        #expect(actions.actual == ["webinar"])
        #expect(t.at.hasSuffix("tests/t_test.lua:1"))
        #expect(t.plan?.actionNames == ["webinar"])
    }

    @Test func suppressedMatchesAReasonSubstring() throws {
        let r = try results("""
            test "no phone" {
              customer = { id = "T1", revenue = 1, risk = 0.9, mention = "2026-01-01", consent = { phone = false } },
              expect = { suppressed = { retention = "no consent for phone" } },
            }
            test "wrong reason" {
              customer = { id = "T1", revenue = 1, risk = 0.9, mention = "2026-01-01", consent = { phone = false } },
              expect = { suppressed = { retention = "cooldown" } },
            }
            """)
        #expect(r["no phone"]?.passed == true)
        #expect(r["wrong reason"]?.passed == false)
        #expect(r["wrong reason"]?.failures.first?.actual == "no consent for phone")
    }

    @Test func aTestRunsAtItsOwnNow() throws {
        let r = try results("""
            test "recent mention" {
              customer = { id = "T1", revenue = 1, risk = 0, mention = "2026-12-30" },
              now = "2027-01-01",
              expect = { actions = { "care" } },
            }
            test "old mention at the engine's now" {
              customer = { id = "T1", revenue = 1, risk = 0, mention = "2026-12-30" },
              expect = { actions = { "care" } },
            }
            """)
        #expect(r["recent mention"]?.passed == true)
        #expect(r["recent mention"]?.now == "2027-01-01T00:00:00Z")
        // At the engine's now (2026-11-01) the mention is in the future: days_since is negative, so care is chosen too.
        #expect(r["old mention at the engine's now"]?.passed == true)
    }

    @Test func checkFunctionsFailWithTheAssertsPlace() throws {
        let r = try results("""
            test "check ok" {
              customer = { id = "T1", revenue = 60000, risk = 0, mention = "2026-01-01" },
              check = function(plan)
                assert(plan.actions[1].action == "webinar")
                assert(plan.actions[1].department == "marketing")
              end,
            }
            test "check fails" {
              customer = { id = "T1", revenue = 60000, risk = 0, mention = "2026-01-01" },
              check = function(plan)
                assert(#plan.actions == 2, "expected two actions")
              end,
            }
            """)
        #expect(r["check ok"]?.passed == true)
        let failure = try #require(r["check fails"]?.failures.first)
        #expect(failure.field == "check")
        #expect(failure.message.contains("expected two actions"))
        #expect(failure.at?.hasSuffix("tests/t_test.lua:11") == true)
    }

    @Test func withCopiesABaseAndAppliesChanges() throws {
        let r = try results("""
            local gold = { id = "G", revenue = 60000, risk = 0.1, mention = "2026-01-01", consent = { email = true, phone = true } }
            test "base" { customer = gold, expect = { actions = { "webinar" } } }
            test "at risk, no phone" {
              customer = with(gold, { risk = 0.9, consent = { phone = false } }),
              expect = { actions = { "webinar" }, suppressed = { retention = "no consent for phone" } },
            }
            test "revenue removed" {
              customer = with(gold, { revenue = absent }),
              expect = { errors = { "field 'revenue' is missing" } },
            }
            test "base is unchanged" { customer = gold, check = function(plan) assert(plan.actions[1].action == "webinar") end }
            """)
        for name in ["base", "at risk, no phone", "revenue removed", "base is unchanged"] {
            #expect(r[name]?.passed == true, "\(name): \(r[name]?.failures.map(\.message) ?? [])")
        }
    }

    @Test func absentInsideANewNestedTableLeavesTheFieldOut() throws {
        let r = try results("""
            test "nested absent" {
              customer = with({ id = "T1", revenue = 1, risk = 0, mention = "2026-01-01" }, { address = { city = "Oslo", zip = absent } }),
              check = function(plan) assert(plan.customer == "T1") end,
              expect = { actions = {} },
            }
            """)
        #expect(r["nested absent"]?.passed == true)
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return { action = "care", priority = 1, params = { zip = c.address.zip, city = c.address.city } } end }
            """, "tests/t_test.lua": """
            test "zip left out" {
              customer = with({ id = "1" }, { address = { city = "Oslo", zip = absent } }),
              check = function(plan) assert(plan.actions[1].params.zip == nil, "zip should be absent") end,
            }
            """])
        #expect(try f.engine().runTests().first?.passed == true)
    }

    @Test func suppressedMayAlsoListActionsForAnyReason() throws {
        let r = try results("""
            test "listed" {
              customer = { id = "T1", revenue = 1, risk = 0.9, mention = "2026-01-01", consent = { phone = false } },
              expect = { suppressed = { "retention" } },
            }
            """)
        #expect(r["listed"]?.passed == true, "\(r["listed"]?.failures.map(\.message) ?? [])")
    }

    @Test func aPolicyErrorFailsATestThatDoesNotExpectIt() throws {
        let r = try results("""
            test "no revenue" { customer = { id = "T1", risk = 0, mention = "2026-01-01" }, expect = { actions = { } } }
            """)
        let t = try #require(r["no revenue"])
        #expect(!t.passed)
        #expect(t.failures.first?.field == "errors")
    }

    @Test func planParamsTakenFromTheProfileStayWithTheirCustomer() throws {
        let f = try Fixture(["a.lua": catalog + """

            policy "p" { propose = function(c) return { action = "care", priority = 1, params = { consent = c.consent, tags = c.tags } } end }
            """, "tests/t_test.lua": """
            test "first" { customer = { id = "1", consent = { email = true }, tags = { "a" } }, expect = { actions = { "care" } } }
            test "second" { customer = { id = "2", consent = { email = false }, tags = { "b", "c" } }, expect = { actions = { "care" } } }
            """])
        let rs = try f.engine().runTests()
        #expect(rs.map { $0.plan?.actions.first?.params["consent"] } == [["email": true], ["email": false]])
        #expect(rs.map { $0.plan?.actions.first?.params["tags"] } == [["a"], ["b", "c"]])
    }

    @Test func theFilterPicksTestsByName() throws {
        let r = try results("""
            test "alpha" { customer = { id = "1", revenue = 1, risk = 0, mention = "2026-01-01" }, expect = { actions = {} } }
            test "beta" { customer = { id = "2", revenue = 1, risk = 0, mention = "2026-01-01" }, expect = { actions = {} } }
            """, filter: "alp")
        #expect(Array(r.keys) == ["alpha"])
    }

    @Test func twoTestsWithTheSameNameAreALoadProblem() throws {
        let f = try Fixture(["a.lua": policies, "tests/t_test.lua": """
            test "same" { customer = { id = "1" }, expect = { actions = {} } }
            test "same" { customer = { id = "2" }, expect = { actions = {} } }
            """])
        #expect(f.problems() == ["tests/t_test.lua:2: test 'same' is declared twice: here and at tests/t_test.lua:1"])
    }

    @Test func anUnknownExpectFieldIsALoadProblem() throws {
        let f = try Fixture(["a.lua": policies, "tests/t_test.lua": """
            test "typo" { customer = { id = "1" }, expect = { action = { "webinar" } } }
            """])
        #expect(f.problems() == ["tests/t_test.lua:1: test 'typo': expect has an unknown field 'action' (did you mean 'actions'?)"])
    }
}

@Suite("check")
struct CheckTests {
    @Test func listsDeclarationsWithTheirPlaces() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"care\", priority = 1 }\n",
                             "tests/t_test.lua": "test \"t\" { customer = { id = \"1\" }, expect = { actions = { \"care\" } } }\n"])
        let report = try PolicySet(directory: f.directory).check()
        #expect(report.actions.map(\.name) == ["webinar", "event", "retention", "cross_sell", "care"])
        #expect(report.actions[2].cooldownDays == 30)
        #expect(report.actions[0].group == "invitations")
        #expect(report.policies.map(\.name) == ["p"])
        #expect(report.policies[0].at == f.directory + "/a.lua:6")
        #expect(report.tests == 1)
        #expect(report.problems.isEmpty)
    }

    @Test func segmentsThatCannotAllMatchAreAWarning() throws {
        let f = try Fixture(["a.lua": catalog + """

            segment "small" { when = function(c) return c.revenue < 10000 end }
            segment "big" { when = function(c) return c.revenue >= 50000 and c.tier == "gold" end }
            segment "gold" { when = function(c) return c.tier == "gold" end }
            segment "silver" { when = function(c) return c.tier == 'silver' end }
            policy "never" { segments = { "small", "big" }, action = "care", priority = 1 }
            policy "never-either" { segments = { "gold", "silver" }, action = "webinar", priority = 1 }
            policy "fine" { segments = { "big", "gold" }, action = "cross_sell", priority = 1 }
            """])
        let warnings = try PolicySet(directory: f.directory).check().warnings.map(\.message)
        #expect(warnings.contains("policy 'never' can never run: its segments cannot all match ('small' needs revenue < 10000, 'big' needs revenue >= 50000)"))
        #expect(warnings.contains("policy 'never-either' can never run: its segments cannot all match ('gold' needs tier == gold, 'silver' needs tier == silver)"))
        #expect(!warnings.contains { $0.contains("'fine'") })
    }

    @Test func aLongPolicyFileWithGatedPoliciesLoads() throws {
        let long = String(repeating: "-- a long comment line, as in a generated or well-documented policy file\n", count: 400)
        let f = try Fixture(["a.lua": catalog + "\n" + long + """
            segment "small" { when = function(c) return c.revenue < 10000 end }
            segment "new" { when = function(c) return c.tenure < 3 end }
            policy "p" { segments = { "small", "new" }, action = "care", priority = 1 }
            """])
        #expect(f.problems() == [])
        #expect(try f.engine().decide(["id": "1", "revenue": 5, "tenure": 1]).actionNames == ["care"])
    }

    @Test func conditionsItCannotReadAreNotGuessedAt() throws {
        let f = try Fixture(["a.lua": catalog + """

            segment "senior" { when = function(c) return c.age >= 65 -- the old rule also had: and c.age < 18
            end }
            segment "adult" { when = function(c) return c.age >= 18 end }
            policy "seniors" { segments = { "senior", "adult" }, action = "webinar", priority = 1 }
            segment "small" { when = function(c) return c.revenue < 10000 or c.vip end }
            segment "big" { when = function(c) return (c.revenue or 0) >= 50000 end }
            policy "maybe" { segments = { "small", "big" }, action = "care", priority = 1 }
            """])
        let warnings = try PolicySet(directory: f.directory).check().warnings.map(\.message)
        #expect(!warnings.contains { $0.contains("'maybe'") })
        #expect(!warnings.contains { $0.contains("'seniors'") })
    }
}

@Suite("explain")
struct ExplainTests {
    @Test func explainsEachStep() throws {
        let f = try Fixture(["a.lua": catalog + """

            segment "rich" { when = function(c) return c.revenue >= 50000 end }
            segment "techy" { when = function(c) return c.tech >= 0.6 end }
            policy "a-invite" { segments = { "rich" }, action = "webinar", priority = 50 }
            policy "b-invite" { segments = { "rich" }, action = "webinar", priority = 40 }
            policy "event" { segments = { "rich" }, action = "event", priority = 45 }
            policy "geek" { segments = { "techy" }, action = "cross_sell", priority = 10 }
            policy "retain" { when = function(c) return c.risk > 0.5 end, action = "retention", priority = 90 }
            """])
        let x = try f.engine().explain(["id": "C1", "revenue": 60000, "tech": 0.1, "risk": 0.9, "consent": ["phone": false]])
        #expect(x.segments.map { "\($0.segment):\($0.matched)" } == ["rich:true", "techy:false"])
        #expect(x.policies.map(\.policy) == ["a-invite", "b-invite", "event", "geek", "retain"])
        #expect(x.policies[3].ran == false && x.policies[3].skippedBecause == "not in segment techy")
        #expect(x.policies[0].proposed.map(\.action) == ["webinar"])
        #expect(x.dropped.count == 1 && x.dropped[0].policy == "b-invite" && x.dropped[0].keptFrom == "a-invite")
        #expect(x.plan.actionNames == ["webinar"])
        #expect(x.plan.suppressedReasons == ["retention": "no consent for phone", "event": "no consent for phone"])
        #expect(x.now == "2026-11-01T00:00:00Z")
        #expect(x.json["plan"]?["actions"]?.arrayValue?.count == 1)
    }

    @Test func aBadProfileIsABadRecord() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"care\", priority = 1 }\n"])
        #expect(throws: DecisionError.self) { try f.engine().explain(["name": "no id"]) }
        #expect(throws: DecisionError.self) { try f.engine().explain(json: Array("{\"id\": ".utf8)) }
    }
}
