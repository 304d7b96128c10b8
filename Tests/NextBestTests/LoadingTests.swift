// Loading a policy set: every problem named with file:line; a set loads whole or not at all.
import Testing
@testable import NextBest

@Suite("Loading and validation")
struct LoadingTests {
    @Test func anUnknownActionIsNamedWithItsPlaceAndASuggestion() throws {
        let f = try Fixture(["a.lua": catalog + "\n\npolicy \"p\" { action = \"retenton\", priority = 1 }"])
        #expect(f.problems() == ["a.lua:7: policy 'p': unknown action 'retenton' (did you mean 'retention'?)"])
    }

    @Test func anUnknownSegmentIsNamedWithItsPlace() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { segments = { \"vip\" }, action = \"care\", priority = 1 }"])
        #expect(f.problems() == ["a.lua:6: policy 'p': unknown segment 'vip'"])
    }

    @Test func aDuplicateNameNamesBothPlaces() throws {
        let f = try Fixture(["a.lua": catalog, "b.lua": "\naction \"care\" { department = \"x\", channel = \"y\" }"])
        #expect(f.problems() == ["b.lua:2: action 'care' is declared twice: here and at a.lua:5"])
    }

    @Test func missingDepartmentAndChannelAreProblems() throws {
        let f = try Fixture(["a.lua": "action \"x\" { channel = \"email\" }\naction \"y\" { department = \"sales\" }\npolicy \"p\" { action = \"x\", priority = 1 }\npolicy \"q\" { action = \"y\", priority = 1 }"])
        let ps = f.problems()
        #expect(ps.count == 2)
        #expect(ps[0].hasPrefix("a.lua:1: action 'x': missing 'department'"))
        #expect(ps[1].hasPrefix("a.lua:2: action 'y': missing 'channel'"))
    }

    @Test func aPolicyWithNeitherFormIsAProblem() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { when = function(c) return true end }"])
        let ps = f.problems()
        #expect(ps.first?.hasPrefix("a.lua:6: policy 'p': has neither 'propose") == true, "\(ps)")
    }

    @Test func aPriorityOfTheWrongTypeIsAProblem() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"care\", priority = \"high\" }"])
        #expect(f.problems() == ["a.lua:6: policy 'p': 'priority' must be a number or a function, not the text \"high\""])
    }

    @Test func aSecondContactPolicyIsAProblem() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"care\", priority = 1 }\ncontact_policy { max_actions = 1 }",
                             "b.lua": "contact_policy { max_actions = 2 }"])
        #expect(f.problems() == ["b.lua:1: contact_policy appears twice: here and at a.lua:7 (a set has at most one)"])
    }

    @Test func aSyntaxErrorIsPlaced() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"care\" priority = 1 }"])
        #expect(f.problems().first?.hasPrefix("a.lua:6:") == true)
    }

    @Test func anUnknownFieldSuggestsTheIntendedOne() throws {
        let f = try Fixture(["a.lua": catalog + "\nsegment \"s\" { when = function() return true end }\npolicy \"p\" { segmnets = { \"s\" }, action = \"care\", priority = 1 }"])
        #expect(f.problems() == ["a.lua:7: policy 'p': unknown field 'segmnets' (did you mean 'segments'?)"])
    }

    @Test func everyProblemIsReportedNotJustTheFirst() throws {
        let f = try Fixture(["a.lua": "action \"x\" { channel = \"e\" }", "b.lua": "policy \"p\" { action = \"nope\", priority = 1 }"])
        #expect(f.problems().count == 2)
    }

    @Test func testFilesAndTestFoldersAreNotLoadedAsPolicies() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"care\", priority = 1 }",
                             "tests/a_test.lua": "test \"t\" { customer = { id = 1 }, expect = { actions = { \"care\" } } }",
                             "b_test.lua": "test \"u\" { customer = { id = 1 }, expect = { actions = { \"care\" } } }"])
        let e = try f.engine()
        #expect(e.policySet.files.filter(\.isTest).count == 2)
        #expect(try e.decide(["id": 1]).actionNames == ["care"])
    }

    @Test func aMissingFolderIsUnreadable() {
        #expect(throws: PolicySetError.self) { try Engine(policies: "/nonexistent/policies") }
    }

    @Test func globalsCannotBeAssignedOnceLoaded() throws {
        let f = try Fixture(["a.lua": catalog + """

            threshold = 10
            policy "p" { propose = function(c) counter = 1; return { action = "care", priority = threshold } end }
            """])
        let plan = try f.engine().decide(["id": "1"])
        #expect(plan.actions.isEmpty)
        #expect(plan.errors.first?.message.contains("cannot set global 'counter'") == true)
    }

    @Test func unusedSegmentsAndActionsAreWarnings() throws {
        let f = try Fixture(["a.lua": catalog + "\nsegment \"lonely\" { when = function() return true end }\npolicy \"p\" { action = \"care\", priority = 1 }"])
        let warnings = try f.engine().warnings.map(\.message)
        #expect(warnings.contains { $0.hasPrefix("segment 'lonely' gates no policy") })
        #expect(warnings.contains("action 'webinar' is not proposed by any policy"))
        #expect(!warnings.contains("action 'care' is not proposed by any policy"))
    }
}

@Suite("Helpers (§4)")
struct HelperTests {
    func eval(_ expr: String, _ profile: Profile = ["id": "1"], now: String = "2026-11-01") throws -> JSONValue? {
        let f = try Fixture(["a.lua": """
            action "a" { department = "d", channel = "c" }
            policy "p" { propose = function(c, ctx) return { action = "a", priority = 1, params = { v = \(expr) } } end }
            """])
        let plan = try f.engine(now: now).decide(profile)
        if let e = plan.errors.first { Issue.record("\(e)") }
        return plan.actions.first?.params["v"]
    }

    @Test func daysSinceCountsDaysToNow() throws {
        #expect(try eval("days_since(\"2026-10-30\")") == 2)
        #expect(try eval("days_since(\"2026-10-31T12:00:00Z\")") == 0.5)
    }

    @Test func anyAllCountSum() throws {
        let p: Profile = ["id": "1", "xs": [1, 5, 9]]
        #expect(try eval("any(c.xs, function(x) return x > 8 end)", p) == true)
        #expect(try eval("all(c.xs, function(x) return x > 1 end)", p) == false)
        #expect(try eval("count(c.xs, function(x) return x > 1 end)", p) == 2)
        #expect(try eval("sum(c.xs)", p) == 15)
        #expect(try eval("sum(c.xs, function(x) return x * 2 end)", p) == 30)
        #expect(try eval("any(c.missing, function(x) return true end)", p) == false)
    }

    @Test func clampBetweenOneOf() throws {
        #expect(try eval("clamp(12, 0, 10)") == 10)
        #expect(try eval("between(5, 1, 5)") == true)
        #expect(try eval("one_of(\"b\", { \"a\", \"b\" })") == true)
        #expect(try eval("one_of(\"z\", { \"a\", \"b\" })") == false)
    }

    @Test func bucketIsStableAndInRange() throws {
        let a = try #require(try eval("bucket(c.id, \"spring-test\")", ["id": "C42"])?.doubleValue)
        let b = try #require(try eval("bucket(c.id, \"spring-test\")", ["id": "C42"])?.doubleValue)
        let other = try #require(try eval("bucket(c.id, \"other-salt\")", ["id": "C42"])?.doubleValue)
        #expect(a == b)
        #expect(a >= 0 && a < 1)
        #expect(a != other)
    }
}

@Suite("Records without a plan")
struct BadRecordTests {
    @Test func aProfileWithoutIdIsABadRecord() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"care\", priority = 1 }"])
        #expect(throws: DecisionError.badRecord(message: "the profile has no \"id\"", customer: nil)) {
            try f.engine().decide(["name": "x"])
        }
    }

    @Test func aRecordThatIsNotAnObjectIsABadRecord() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { action = \"care\", priority = 1 }"])
        #expect(throws: DecisionError.self) { try f.engine().decide(Profile.array([1, 2])) }
        #expect(throws: DecisionError.self) { try f.engine().decide(json: Array("{\"id\": 1,".utf8)) }
    }

    @Test func jsonBytesDecideLikeSwiftValues() throws {
        let f = try Fixture(["a.lua": catalog + "\npolicy \"p\" { when = function(c) return c.consent.phone end, action = \"retention\", priority = 1 }"])
        let e = try f.engine()
        let fromBytes = try e.decide(json: Array(#"{"id":"A","consent":{"phone":true}}"#.utf8))
        let fromValue = try e.decide(["id": "A", "consent": ["phone": true]])
        #expect(fromBytes == fromValue)
        #expect(fromBytes.actionNames == ["retention"])
    }
}
