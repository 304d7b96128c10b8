// The instruction budget (policy-language.md §6) on the fast path, where a customer's segment
// and policy conditions run as one batch, and on the careful path that takes over on failure.
import Testing
@testable import NextBest

@Suite("Instruction budget")
struct BudgetTests {
    @Test func aRunawayConditionFailsOnlyItsPolicy() throws {
        let f = try Fixture([
            "a.lua": catalog + """

                policy "loops" { when = function(c) while true do end return false end, action = "webinar", priority = 9 }
                policy "fine" { when = function(c) return c.x > 1 end, action = "care", priority = 5 }
                """,
        ])
        let plan = try f.engine(limits: Limits(instructionsPerCall: 10_000)).decide(["id": "1", "x": 3])
        #expect(plan.actionNames == ["care"])
        #expect(plan.errors.count == 1)
        #expect(plan.errors.first?.policy == "loops")
        #expect(plan.errors.first?.message.contains("instruction budget") == true)
    }

    @Test func aRunawaySegmentFailsOnlyThatSegment() throws {
        let f = try Fixture([
            "a.lua": catalog + """

                segment "stuck" { when = function(c) while true do end return false end }
                segment "big" { when = function(c) return c.x > 1 end }
                policy "p" { segments = { "big" }, action = "care", priority = 5 }
                """,
        ])
        let plan = try f.engine(limits: Limits(instructionsPerCall: 10_000)).decide(["id": "1", "x": 3])
        #expect(plan.segments == ["big"])
        #expect(plan.actionNames == ["care"])
        #expect(plan.errors.first?.segment == "stuck")
    }

    @Test func eachCallHasItsOwnBudgetEvenWhenTogetherTheyUseMore() throws {
        // Each check runs some 6,000 instructions: under the budget one by one, over it together.
        var segments = ""
        for i in 0..<8 {
            segments += "segment \"s\(i)\" { when = function(c) local n = 0; for k = 1, 1500 do n = n + k end; return n > 0 end }\n"
        }
        let f = try Fixture([
            "a.lua": catalog + "\n" + segments + """
                policy "p" { segments = { "s7" }, when = function(c) local n = 0; for k = 1, 1500 do n = n + k end; return n > 0 end,
                             action = "care", priority = 5 }
                """,
        ])
        let plan = try f.engine(limits: Limits(instructionsPerCall: 20_000)).decide(["id": "1"])
        #expect(plan.errors.isEmpty)
        #expect(plan.segments.count == 8)
        #expect(plan.actionNames == ["care"])
    }
}
