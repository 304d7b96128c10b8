// A profile built in Swift goes into Lua as values (ValueTape), not as JSON text: it must decide exactly like its JSON.
import Testing
@testable import NextBest

@Suite("Profiles pushed as Swift values")
struct ValuePushTests {
    static let policies = catalog + """

        segment "gold" { when = function(c) return c.tier == "gold" and c.scores.nps >= 9 end }
        policy "nested" {
          segments = { "gold" },
          propose = function(c)
            return { action = "webinar", priority = #c.tags + (c.missing == nil and 1 or 0),
                     reason = c.tags[2] .. "/" .. tostring(c.flag), params = { first = c.tags[1], ratio = c.scores.ratio } }
          end,
        }
        """

    @Test func aNestedSwiftProfileDecidesLikeItsJSON() throws {
        let engine = try Fixture(["a.lua": Self.policies]).engine()
        let profile: Profile = ["id": "C1", "tier": "gold", "flag": true, "missing": nil,
                                "scores": ["nps": 10, "ratio": 0.25], "tags": ["vip", "é ✓", "x"]]
        let fromValue = try engine.decide(profile)
        let fromJSON = try engine.decide(json: Array(profile.jsonText.utf8), now: nil)  // through JSON text
        #expect(fromValue == fromJSON)
        #expect(try engine.decide(json: Array(profile.jsonText.utf8)) == fromJSON)
        #expect(fromValue.actionNames == ["webinar"])
        #expect(fromValue.actions.first?.reason == "é ✓/true")
        #expect(fromValue.actions.first?.priority == 4)
    }

    /// Params of every kind, suppressions and policy errors: the plan read back as values (no
    /// JSON text) equals the plan the JSON text gives, number kinds included.
    @Test func aPlanComesBackAsValuesEqualToItsJSON() throws {
        let engine = try Fixture(["a.lua": catalog + """

            policy "all" {
              propose = function(c)
                return {
                  { action = "webinar", priority = 2.0, reason = "whole float",
                    params = { n = 3, half = 2.5, whole = 80.0, big = 1e15, neg = -7, yes = true, no = false,
                               list = { 1, "two", { three = 3 } }, empty = {}, nested = { a = { b = { c = "d" } } },
                               [1.5] = "a float key", ["é ✓"] = "text" } },
                  { action = "cross_sell", priority = 1 },
                }
              end,
            }
            policy "broken" { when = function(c) return c.nothing.here end, action = "event", priority = 3 }
            """]).engine()
        let profile: Profile = ["id": 42, "tier": "gold"]
        let fromValue = try engine.decide(profile)
        // decide(json:now:) reads the plan back from its JSON text; decide(json:) takes it as values.
        let fromJSON = try engine.decide(json: Array(profile.jsonText.utf8), now: nil)
        #expect(fromValue == fromJSON)
        #expect(try engine.decide(json: Array(profile.jsonText.utf8)) == fromJSON)
        #expect(fromValue.customer == .string("42"))  // ids are text (§3)
        #expect(!fromValue.errors.isEmpty && fromValue.errors.first?.policy == "broken")
        let params = try #require(fromValue.actions.first { $0.action == "webinar" }?.params)
        #expect(params["whole"] == .int(80) && params["half"] == .double(2.5) && params["big"] == .double(1e15))
        #expect(params["list"] == .array([.int(1), .string("two"), .object(["three": .int(3)])]))
        #expect(params["1.5"] == .string("a float key") && params["é ✓"] == .string("text"))
    }

    @Test func anArrayIsABadRecordFromSwiftToo() throws {
        let engine = try Fixture(["a.lua": Self.policies]).engine()
        #expect(throws: DecisionError.badRecord(message: "the record is a JSON array, not an object (one profile per record)", customer: nil)) {
            try engine.decide(["a", "b"] as Profile)
        }
    }

    @Test func aProfileNestedTooDeeplyIsABadRecord() throws {
        let engine = try Fixture(["a.lua": Self.policies]).engine()
        var deep: Profile = 1
        for _ in 0..<70 { deep = ["x": deep] }
        let profile: Profile = ["id": "C2", "deep": deep]
        do {
            _ = try engine.decide(profile)
            Issue.record("a profile nested 70 levels deep was decided")
        } catch {
            guard case .badRecord = error else { Issue.record("expected a bad record, got \(error)"); return }
        }
    }
}
