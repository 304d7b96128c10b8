// A state keeps a profile's nested tables from one customer to the next and refills them
// (json_in.c, "places"): whatever came before, a record must decide exactly as it does alone.
import Testing
@testable import NextBest

@Suite("Nested profile tables refilled from one customer to the next")
struct KeptTablesTests {
    /// Echoes what a policy sees of the nested tables: every field (through pairs, and the
    /// tables themselves in params), lengths, and a field read by name.
    static let policies = catalog + """

        local function names(t)
          if type(t) ~= "table" then return tostring(t) end
          local out = {}
          for k, v in pairs(t) do out[#out + 1] = tostring(k) .. "=" .. (type(v) == "table" and "{" .. names(v) .. "}" or tostring(v)) end
          table.sort(out)
          return table.concat(out, ",")
        end

        policy "echo" {
          propose = function(c)
            local list = c.interactions
            return { action = "webinar", priority = 1, reason = names(c.consent) .. " | " .. names(list) .. " | " .. names(c.meta)
                                                                 .. " | " .. names(c.contacts),
                     params = { consent = c.consent, interactions = list, meta = c.meta,
                                n = type(list) == "table" and #list or -1,
                                email = type(c.consent) == "table" and tostring(c.consent.email) or "-",
                                first = type(list) == "table" and type(list[1]) == "table" and tostring(list[1].channel) or "-" } }
          end,
        }
        """

    static func fields(_ prefix: String, _ count: Int) -> String {
        (1...count).map { "\"\(prefix)\($0)\":\($0)" }.joined(separator: ",")
    }

    /// Records whose nested tables change shape every way: fewer, more, reordered and repeated
    /// names, lists that shrink, grow and hold nulls, kinds that swap, big objects, a broken
    /// record part-way, names that are escaped or long (and alike but for their last byte).
    static let records: [String] = [
        #"{"id":"A","consent":{"email":true,"phone":false},"interactions":[{"channel":"social","sentiment":-0.5},{"channel":"web"}],"meta":{"a":{"b":1}}}"#,
        #"{"id":"B","consent":{"email":true},"interactions":[{"channel":"web"}]}"#,
        #"{"id":"C","consent":{"phone":true,"email":false},"interactions":[{"sentiment":0.1,"channel":"social"},{"channel":"x","extra":"y"},{"channel":"z"}],"meta":{"a":{"c":2}}}"#,
        #"{"id":"D","consent":{"email":true,"email":false},"interactions":[null,{"channel":"q"}]}"#,
        #"{"id":"E","consent":[true,false],"interactions":{"channel":"not a list"},"meta":[]}"#,
        #"{"id":"A2","consent":{"email":true,"phone":false},"interactions":[{"channel":"social","sentiment":-0.5},{"channel":"web"}],"meta":{"a":{"b":1}}}"#,
        "{\"id\":\"F\",\"consent\":{\(fields("k", 20))},\"interactions\":[{\(fields("f", 18))}]}",
        "{\"id\":\"G\",\"consent\":{\(fields("k", 70))},\"interactions\":[{\(fields("f", 3))}]}",
        #"{"id":"H","consent":{"email":true,"phone":false,"sms":true},"interactions":[{"channel":"social","sentiment":-0.5},{"channel":"web","days_ago":3}]"#,
        #"{"id":"I","consent":{"email":true},"interactions":[{"channel":"web","sentiment":1}]}"#,
        #"{"id":"J","consent":{},"interactions":[],"meta":{}}"#,
        #"{"id":"K","consent":{"a\u00e9":1,"a_name_longer_than_forty_bytes_is_not_interned_by_lua":2,"email":null},"interactions":[{"channel":"w1"},{"channel":"w2"},{"channel":"w3"},{"channel":"w4"},{"channel":"w5"},null]}"#,
        #"{"id":"C2","consent":{"phone":true,"email":false},"interactions":[{"sentiment":0.1,"channel":"social"},{"channel":"x","extra":"y"},{"channel":"z"}],"meta":{"a":{"c":2}}}"#,
        #"{"id":"L","consent":{"email":true,"phone":false},"interactions":[{"channel":"social","sentiment":-0.5},{"channel":"web"}],"meta":{"a":{"b":1,"c":[1,2,{"d":null}]}}}"#,
        #"{"id":"M","consent":{"email":true,"phone":false},"interactions":[{"channel":"social","sentiment":-0.5},{"channel":"web"}],"meta":{"a":{"b":1,"c":[1]}}}"#,
        #"{"id":"N","consent":{"email":true},"meta":[[1,2],[3],[4,5,6]]}"#,
        #"{"id":"O","consent":{"email":true},"meta":[[1],null,[null,7],[8]]}"#,
        // Names of 16 to 33 bytes (the key cache keeps up to 32), alike up to their last byte.
        #"{"id":"P","consent":{"abcdefghijklmnop":1,"abcdefghijklmnopq":2,"abcdefghijklmnopqrstuvwx":3,"abcdefghijklmnopqrstuvwxyz01234":4,"abcdefghijklmnopqrstuvwxyz012345":5,"abcdefghijklmnopqrstuvwxyz0123456":6,"abcdefghijklmnopqrstuvwxyz01234X":7},"interactions":[{"channel":"a_channel_name_of_28_bytes_"},{"channel":"a_channel_name_of_28_bytes!"}],"meta":{"abcdefghijklmnopqrstuvwxyz012345":{"b":1},"abcdefghijklmnopqrstuvwxyz01234X":[1,2]}}"#,
        #"{"id":"Q","consent":{"abcdefghijklmnopqrstuvwxyz01234X":1,"abcdefghijklmnopq":2,"abcdefghijklmnopqrstuvwxyz0123456":3,"abcdefghijklmnop":4},"interactions":[{"channel":"a_channel_name_of_28_bytes!"}],"meta":{"abcdefghijklmnopqrstuvwxyz01234X":{"b":2},"abcdefghijklmnopqrstuvwxyz012345":[3]}}"#,
    ]

    /// The plan, or the error, of one record.
    enum Outcome: Equatable {
        case plan(Plan)
        case error(String)
    }

    static func outcome(_ engine: Engine, _ record: String) -> Outcome {
        do { return try .plan(engine.decide(json: Array(record.utf8))) }
        catch { return .error("\(error)") }
    }

    @Test func aRecordDecidesAsItDoesAloneWhateverCameBefore() throws {
        let fixture = try Fixture(["a.lua": Self.policies])
        let alone = try Self.records.map { record -> Outcome in
            let engine = try Engine(policies: fixture.directory, options: EngineOptions(now: "2026-11-01", concurrency: 1))
            return Self.outcome(engine, record)
        }
        guard case .error = alone[8] else { Issue.record("the broken record decided"); return }
        guard case .plan(let first) = alone[0], case .plan(let second) = alone[1] else { Issue.record("no plan: \(alone)"); return }
        #expect(first.actions.first?.reason == "email=true,phone=false | 1={channel=social,sentiment=-0.5},2={channel=web} | a={b=1} | nil")
        #expect(second.actions.first?.reason == "email=true | 1={channel=web} | nil | nil")
        // Names around the key cache's longest (32 bytes) read whole, each with its own value.
        guard case .plan(let long) = alone[17] else { Issue.record("record P: \(alone[17])"); return }
        #expect(long.actions.first?.reason == "abcdefghijklmnop=1,abcdefghijklmnopq=2,abcdefghijklmnopqrstuvwx=3,"
            + "abcdefghijklmnopqrstuvwxyz0123456=6,abcdefghijklmnopqrstuvwxyz012345=5,abcdefghijklmnopqrstuvwxyz01234=4,"
            + "abcdefghijklmnopqrstuvwxyz01234X=7 | 1={channel=a_channel_name_of_28_bytes_},2={channel=a_channel_name_of_28_bytes!} | "
            + "abcdefghijklmnopqrstuvwxyz012345={b=1},abcdefghijklmnopqrstuvwxyz01234X={1=1,2=2} | nil")
        // One state, the records in order, then backwards, then twice each: the same outcomes.
        let engine = try Engine(policies: fixture.directory, options: EngineOptions(now: "2026-11-01", concurrency: 1))
        let orders = [Array(Self.records.indices), Array(Self.records.indices.reversed()),
                      Self.records.indices.flatMap { [$0, $0] }, Self.records.indices.map { ($0 * 7) % Self.records.count }]
        for order in orders {
            for i in order {
                let got = Self.outcome(engine, Self.records[i])
                #expect(got == alone[i], "record \(i) after others")
            }
        }
    }

    /// The host's contacts join a profile that has none: the engine adds the field to the kept
    /// profile table, and the next customers decided in that table must not see it.
    @Test func contactsTheHostAddedStayWithTheirCustomer() throws {
        let fixture = try Fixture(["a.lua": Self.policies])
        let engine = try Engine(policies: fixture.directory, options: EngineOptions(now: "2026-11-01", concurrency: 1))
        let past = [PastContact(action: "webinar", channel: "email", at: "2026-10-01")]
        let record = { (id: String) in Array(#"{"id":"\#(id)","consent":{"email":true}}"#.utf8) }
        let with = try engine.decide(json: record("P1"), history: past)
        #expect(with.actions.first?.reason.hasSuffix("| 1={action=webinar,at=2026-10-01,channel=email}") == true)
        for id in ["P2", "P3", "P4"] {
            let plan = try engine.decide(json: record(id))
            #expect(plan.actions.first?.reason == "email=true | nil | nil | nil", "\(id)")
        }
    }
}
