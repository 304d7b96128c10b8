// The fast path's parts in C — eligibility and arbitration for common sets (choose.c), the
// proposals (propose.c) — and their Lua counterparts in pipeline.lua (the reference) must make
// the same plans, whichever of them decided the customers before.
import Foundation
import Testing
@testable import NextBest

@Suite("The fast path in C decides as the Lua pipeline does")
struct NativeChooseTests {
    /// Actions on four channels with cooldowns (whole, fractional, none), a declared channel
    /// whose consent has another name and one that needs none; policies proposing several
    /// actions each, ties, and the same action from two policies.
    static func policies(contact: String) -> String {
        """
        channel "email" {}
        channel "phone" { consent = "calls" }
        channel "social" {}
        channel "post" { requires_consent = false }
        contact_policy { \(contact) }
        action "webinar"   { department = "marketing", channel = "email", cooldown_days = 30 }
        action "newsletter" { department = "marketing", channel = "email" }
        action "call"      { department = "sales", channel = "phone", cooldown_days = 7.5 }
        action "recovery"  { department = "care", channel = "phone", cooldown_days = 0 }
        action "reply"     { department = "care", channel = "social", cooldown_days = 14 }
        action "letter"    { department = "marketing", channel = "post", cooldown_days = 60 }
        policy "many" {
          propose = function(c)
            local out = {}
            for _, a in ipairs(c.want or {}) do out[#out + 1] = { action = a.action, priority = a.priority } end
            return out
          end,
        }
        policy "also" { when = function(c) return c.also == true end, action = "webinar", priority = 50 }
        policy "static" { action = "letter", priority = 10 }
        """
    }

    /// The same set with one more action that has an eligible check: no action of that set is
    /// chosen in C, so every plan comes from the Lua choose.
    static func reference(contact: String) -> String {
        policies(contact: contact) + """

        action "unused" { department = "marketing", channel = "email", eligible = function() return true end }
        """
    }

    static let want = #""want":[{"action":"webinar","priority":50},{"action":"newsletter","priority":50},{"action":"call","priority":70},{"action":"recovery","priority":70.5},{"action":"reply","priority":20},{"action":"call","priority":40}]"#

    /// Consent given every way (true, false, missing, null, text, a list, not a table) and
    /// contact histories every way (recent, old, in the future, fractional, dated by `at`,
    /// undated, holding a non-table, not a list).
    static let records: [String] = [
        #"{"id":"1",\#(want),"consent":{"email":true,"calls":true,"social":true}}"#,
        #"{"id":"2",\#(want),"consent":{"email":false,"calls":true,"social":false},"contacts":[{"action":"call","days_ago":3}]}"#,
        #"{"id":"3",\#(want),"consent":{"email":true,"calls":true,"social":true},"contacts":[{"action":"webinar","days_ago":29.9},{"action":"webinar","days_ago":45},{"action":"reply","days_ago":14}]}"#,
        #"{"id":"4",\#(want),"consent":{"email":true,"calls":true},"contacts":[{"action":"call","days_ago":7.5},{"action":"recovery","days_ago":0},{"action":"letter","days_ago":-2}]}"#,
        #"{"id":"5",\#(want),"consent":{"email":null,"calls":true,"social":true}}"#,
        #"{"id":"6",\#(want),"consent":{"email":"yes","calls":1,"social":true}}"#,
        #"{"id":"7",\#(want),"consent":[true,false]}"#,
        #"{"id":"8",\#(want),"consent":"all"}"#,
        #"{"id":"9",\#(want)}"#,
        #"{"id":"10",\#(want),"consent":{"email":true,"calls":true,"social":true},"contacts":[{"action":"call","at":"2026-10-30"}]}"#,
        #"{"id":"11",\#(want),"consent":{"email":true,"calls":true,"social":true},"contacts":[{"action":"call"}]}"#,
        #"{"id":"12",\#(want),"consent":{"email":true,"calls":true,"social":true},"contacts":[7,{"action":"reply","days_ago":1},"x"]}"#,
        #"{"id":"13",\#(want),"consent":{"email":true,"calls":true,"social":true},"contacts":{"action":"call","days_ago":1}}"#,
        #"{"id":"14","also":true,"want":[{"action":"webinar","priority":50}],"consent":{"email":true},"contacts":[{"action":"webinar","days_ago":-0.5}]}"#,
        #"{"id":"15","consent":{"email":true,"calls":true},"contacts":[{"action":"call","days_ago":1},{"action":"call"}]}"#,
        #"{"id":"16","also":true,"consent":{"email":true,"social":true,"calls":false}}"#,
        #"{"id":"17",\#(want),"consent":{"email":true,"calls":true,"social":true},"contacts":[{"action":"letter","days_ago":59},{"action":"letter","days_ago":1e-7}]}"#,
        #"{"id":"18","want":[],"consent":{},"contacts":[]}"#,
        #"{"id":"19","want":[],"contacts":[{"action":"call"}]}"#,
    ]

    static let contactPolicies = [
        #"history = "contacts""#,
        #"consent = "opt_out""#,
        #"max_actions = 2, max_per_channel = 2"#,
        #"max_actions = 1"#,
        #"respect_consent = false"#,
        #"history = "past""#,
    ]

    /// The plan, or the error, of one record.
    enum Outcome: Equatable {
        case plan(Plan)
        case error(String)
    }

    static func outcome(_ engine: Engine, _ record: String, history: [PastContact] = []) -> Outcome {
        do { return try .plan(engine.decide(json: Array(record.utf8), history: history)) }
        catch { return .error("\(error)") }
    }

    /// A run's summary without its time.
    static func counted(_ summary: BatchSummary) -> JSONValue {
        guard case .object(var fields) = summary.json else { return summary.json }
        fields["seconds"] = nil
        return .object(fields)
    }

    @Test(arguments: contactPolicies)
    func theSamePlansEitherWay(contact: String) throws {
        let native = try Fixture(["a.lua": Self.policies(contact: contact)]).engine()
        let lua = try Fixture(["a.lua": Self.reference(contact: contact)]).engine()
        var chosen = 0, suppressed = 0
        for (i, record) in Self.records.enumerated() {
            let got = Self.outcome(native, record), want = Self.outcome(lua, record)
            #expect(got == want, "record \(i + 1) under contact_policy { \(contact) }")
            if case .plan(let plan) = got { chosen += plan.actions.count; suppressed += plan.suppressed.count }
        }
        #expect(chosen > 0 && suppressed > 0)
        // The host's contacts, dated: they join the profile's.
        let past = [PastContact(action: "call", channel: "phone", at: "2026-10-29"),
                    PastContact(action: "webinar", channel: "email", at: "2026-09-01")]
        for record in Self.records.prefix(4) {
            #expect(Self.outcome(native, record, history: past) == Self.outcome(lua, record, history: past))
        }
        // A run: the same output and the same summary (what each choice counted).
        let path = NSTemporaryDirectory() + "nextbest-choose-\(UUID().uuidString).jsonl"
        try (Self.records.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let nativeOut = LockedBytes(), luaOut = LockedBytes()
        let nativeSummary = try native.run(profiles: path, options: BatchOptions(jobs: 1), output: { nativeOut.append($0) })
        let luaSummary = try lua.run(profiles: path, options: BatchOptions(jobs: 1), output: { luaOut.append($0) })
        #expect(nativeOut.text == luaOut.text)
        #expect(Self.counted(nativeSummary) == Self.counted(luaSummary))
    }

    /// A customer decided carefully (a policy error) leaves the Lua pipeline's best-per-action
    /// map filled; the next customer's proposals made in C replace its candidates, and a
    /// candidate made once (a policy without functions) must not be taken for the one kept
    /// from a customer before: each record decides as it does alone.
    @Test func proposalsMadeInCAfterACarefulCustomerStartClean() throws {
        let fixture = try Fixture(["a.lua": """
            action "call" { department = "sales", channel = "phone" }
            action "mail" { department = "sales", channel = "email" }
            contact_policy { consent = "opt_out" }
            policy "fixed" { when = function(c) return c.call end, action = "call", priority = 50 }
            policy "fragile" { when = function(c) return c.score > 1 end, action = "mail", priority = 1 }
            """])
        let records = [#"{"id":"X","call":true}"#, #"{"id":"Y","call":false,"score":0}"#, #"{"id":"Z","call":true}"#,
                       #"{"id":"W","call":true,"score":2}"#, #"{"id":"V","call":true}"#]
        let options = EngineOptions(now: "2026-11-01", concurrency: 1)
        let alone = try records.map { Self.outcome(try Engine(policies: fixture.directory, options: options), $0) }
        guard case .plan(let z) = alone[2] else { Issue.record("no plan for Z: \(alone[2])"); return }
        #expect(z.actions.map(\.action) == ["call"] && !z.errors.isEmpty)
        let engine = try Engine(policies: fixture.directory, options: options)
        for (i, record) in records.enumerated() {
            #expect(Self.outcome(engine, record) == alone[i], "record \(i + 1) after the ones before")
        }
    }
}
