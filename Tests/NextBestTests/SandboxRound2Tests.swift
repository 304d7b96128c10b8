// The sandbox, second round (issue 16): each hostile policy or profile runs through the batch
// path with one and with two Lua states, ends as that policy's plain error (or does no harm),
// leaves every other policy and customer as they were, and gives the same bytes every run.
import Foundation
import Testing
@testable import NextBest

/// Two well-behaved policies around the hostile one (name order: aaa, mmm, zzz). Both put what
/// they read from the profile into their reasons, so a changed profile would show.
private let goodPolicies = """
    action "first"       { department = "sales", channel = "email" }
    action "last"        { department = "marketing", channel = "sms" }
    action "evil_action" { department = "sales", channel = "phone" }
    local function seen(c) return c.tier .. "/" .. tostring(c.consent.email) .. "/" .. #c.contacts end
    policy "aaa-first" { action = "first", priority = 10, reason = function(c) return seen(c) end }
    policy "zzz-last" { propose = function(c) return { action = "last", priority = 20, reason = seen(c) } end }
    """

/// Customers, alternating gold and silver: what each good policy must see.
private let customers: [(line: String, seen: String)] = (1...6).map { i in
    i % 2 == 1
        ? (#"{"id":"C\#(i)","tier":"gold","consent":{"email":true},"contacts":[{"action":"first","days_ago":400}],"prefs":{"a":{"b":{"c":1}}}}"#, "gold/true/1")
        : (#"{"id":"C\#(i)","tier":"silver","consent":{"email":true},"contacts":[],"prefs":{"a":{"b":{"c":2}}}}"#, "silver/true/0")
}

/// Runs every line of `profiles` through `engine` in a batch with `jobs` states, in small chunks
/// (so that two states share the customers): the output lines.
private func runBatch(_ engine: Engine, _ profiles: [String], jobs: Int) throws -> [String] {
    let path = NSTemporaryDirectory() + "nextbest-sandbox2-" + UUID().uuidString + ".jsonl"
    FileManager.default.createFile(atPath: path, contents: Data((profiles.joined(separator: "\n") + "\n").utf8))
    defer { try? FileManager.default.removeItem(atPath: path) }
    var out: [UInt8] = []
    var options = BatchOptions(jobs: jobs)
    options.chunkBytes = 256
    _ = try engine.run(profiles: path, options: options, output: { out += $0 })
    return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// One plan line, parsed.
private struct PlanLine {
    let customer: String?
    let actions: [(action: String, reason: String)]
    let errors: [[String: Any]]
    let isErrorRecord: Bool

    init(_ line: String) throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        customer = json["customer"] as? String
        isErrorRecord = json["error"] != nil
        actions = (json["actions"] as? [[String: Any]] ?? []).map { ($0["action"] as? String ?? "?", $0["reason"] as? String ?? "") }
        errors = json["errors"] as? [[String: Any]] ?? []
    }
}

/// Loads `evil` beside the good policies and runs the customers with one state, with two, and
/// with one again in a new engine (another string seed): the output, which must be the same
/// bytes each time. Every plan must have both good actions with what they should see.
private func runEverywhere(_ evil: String, limits: Limits = Limits(memoryBytes: 32 << 20, instructionsPerCall: 200_000),
                           profiles: [String] = customers.map(\.line)) throws -> [String] {
    var outputs: [[String]] = []
    let f = try Fixture(["a_good.lua": goodPolicies, "evil.lua": evil])
    for jobs in [1, 2, 1] {
        outputs.append(try runBatch(f.engine(limits: limits), profiles, jobs: jobs))
    }
    #expect(outputs[0] == outputs[1], "one state and two states differ: \(outputs[0].first ?? "") vs \(outputs[1].first ?? "")")
    #expect(outputs[0] == outputs[2], "two runs differ: \(outputs[0].first ?? "") vs \(outputs[2].first ?? "")")
    return outputs[0]
}

/// Checks that every customer got both good actions, seeing its own profile, and that the
/// hostile policy ended as one error whose message contains `expected`.
private func expectPolicyError(_ lines: [String], _ expected: String, policy: String = "mmm-evil") throws {
    #expect(lines.count == customers.count)
    for (line, customer) in zip(lines, customers) {
        let plan = try PlanLine(line)
        #expect(!plan.isErrorRecord, "\(line)")
        #expect(plan.actions.map(\.action) == ["last", "first"], "\(line)")
        #expect(plan.actions.map(\.reason) == [customer.seen, customer.seen], "\(line)")
        #expect(plan.errors.count == 1, "\(line)")
        #expect(plan.errors.first?["policy"] as? String == policy, "\(line)")
        #expect((plan.errors.first?["message"] as? String)?.contains(expected) == true, "\(line)")
    }
}

/// A policy whose `propose` runs `body`, then proposes evil_action; `prefix` goes before it.
private func propose(_ body: String, prefix: String = "") -> String {
    prefix + """
        policy "mmm-evil" { propose = function(c, ctx)
        \(body)
          return { action = "evil_action", priority = 1 }
        end }
        """
}

private let ranTooLong = "the code ran too long"

@Suite("§6 The sandbox, second round (issue 16)")
struct SandboxRound2Tests {
    // --- State carried from one customer to the next -----------------------------------

    @Test func pairsOnAFrozenTableHandsOutNoWritableTable() throws {
        let lines = try runEverywhere(propose("""
            local _, raw = pairs(LIMITS)
            raw.gold = (raw.gold or 0) + 1
            """, prefix: "LIMITS = { gold = 5 }\n"))
        try expectPolicyError(lines, "tables made when the policy set loads are read-only")
    }

    @Test func anIndexFunctionOfAFrozenTableSeesOnlyTheReadOnlyTable() throws {
        let lines = try runEverywhere(propose("local n = COUNTER.calls", prefix: """
            COUNTER = setmetatable({}, { __index = function(t, k) t.seen = (rawget(t, "seen") or 0) + 1; return t.seen end })

            """))
        try expectPolicyError(lines, "tables made when the policy set loads are read-only")
    }

    @Test func absentIsReadOnly() throws {
        let lines = try runEverywhere(propose("absent.leak = c.id"))
        try expectPolicyError(lines, "absent is a marker and cannot be changed")
    }

    @Test func aSegmentNameWithANULByteIsALoadError() throws {
        let f = try Fixture(["a_good.lua": goodPolicies, "evil.lua": """
            segment "vip\\0" { when = function(c) return true end }
            policy "mmm-evil" { action = "evil_action", priority = 1, segments = { "vip\\0" } }
            """])
        #expect(f.problems().contains { $0.hasPrefix("evil.lua:1:") && $0.contains("segment names may not contain a NUL byte") },
                "\(f.problems())")
    }

    // --- One policy changing what others see --------------------------------------------

    @Test func pairsOnTheProfileHandsOutNoWritableTable() throws {
        let lines = try runEverywhere(propose("""
            local _, raw = pairs(c.consent)
            raw.email = false
            """))
        try expectPolicyError(lines, "the customer profile is read-only: cannot set 'email'")
        let top = try runEverywhere(propose("""
            local _, raw = pairs(c)
            raw.tier = "platinum"
            """))
        try expectPolicyError(top, "the customer profile is read-only: cannot set 'tier'")
    }

    // --- One customer's data disturbing the next ----------------------------------------

    @Test func aHugeErrorTableIsKeptAsBoundedText() throws {
        let lines = try runEverywhere(propose(#"error({ message = ("x"):rep(20 << 20) })"#),
                                      limits: Limits(memoryBytes: 128 << 20, instructionsPerCall: 1_000_000))
        try expectPolicyError(lines, "more bytes)")
        #expect(lines.allSatisfy { $0.utf8.count < 10_000 })
    }

    @Test(arguments: [1, 2]) func oneRecordWithManyKeysDoesNotSizeTheNextOnes(jobs: Int) throws {
        // A field repeated a million times is one field, but the parser counted a million.
        let top = #"{"id":"H","tier":"gold","consent":{"email":true},"contacts":[]"# + String(repeating: #","x":1"#, count: 1_000_000) + "}"
        let deep = #"{"id":"D","tier":"gold","consent":{"email":true},"contacts":[],"prefs":{"a":{"b":{"#
            + (0..<300_000).map { _ in #""k":1"# }.joined(separator: ",") + "}}}}"
        let lines = customers.map(\.line)
        let f = try Fixture(["a_good.lua": goodPolicies])
        let engine = try f.engine(limits: Limits(memoryBytes: 16 << 20, instructionsPerCall: 200_000))
        let out = try runBatch(engine, [lines[0], top, lines[1], deep] + lines[2...], jobs: jobs)
        let plans = try out.map(PlanLine.init)
        #expect(plans.count == customers.count + 2)
        #expect(plans.filter(\.isErrorRecord).isEmpty, "\(out.map { $0.prefix(300) })")
        #expect(plans.map(\.customer) == ["C1", "H", "C2", "D", "C3", "C4", "C5", "C6"])
    }

    // --- Policies that would hang the host ----------------------------------------------

    @Test func stringRepOfNothingAHugeNumberOfTimesRunsOutOfBudget() throws {
        try expectPolicyError(try runEverywhere(propose(#"local s = string.rep("", math.maxinteger)"#)), ranTooLong)
        try expectPolicyError(try runEverywhere(propose(#"local s = (""):rep(math.maxinteger, "")"#)), ranTooLong)
    }

    @Test func tableMoveJustUnderItsBoundInALoopRunsOutOfBudget() throws {
        let lines = try runEverywhere(propose("local t = {} for i = 1, 1000000 do table.move(t, 1, 9999999, 2) end"))
        try expectPolicyError(lines, ranTooLong)
    }

    @Test func aPatternJustUnderItsBoundInALoopRunsOutOfBudget() throws {
        let lines = try runEverywhere(propose(#"local s = ("a"):rep(2500) for i = 1, 1000000 do s:find("a*b") end"#))
        try expectPolicyError(lines, ranTooLong)
    }

    @Test func largeTextWorkInALoopRunsOutOfBudget() throws {
        // Each call is one instruction of Lua and megabytes of work in C.
        let upper = try runEverywhere(propose(#"local s = ("x"):rep(1 << 22) for i = 1, 1000000 do s:upper() end"#))
        try expectPolicyError(upper, ranTooLong)
        let insert = try runEverywhere(propose("local t = {} for i = 1, 200000 do t[i] = i end for i = 1, 1000000 do table.insert(t, 1, i); table.remove(t, 1) end"))
        try expectPolicyError(insert, ranTooLong)
    }

    @Test func longIndexChainsAreRefusedHoweverTheyAreBuilt() throws {
        let tailFirst = try runEverywhere(propose("""
            local t = {}
            for i = 1, 1990 do t = setmetatable({}, { __index = t }) end
            for i = 1, 1000000 do local x = t.missing end
            """))
        try expectPolicyError(tailFirst, "chain of __index tables is too long")
        let headFirst = try runEverywhere(propose("""
            local head = {}
            local cur = head
            for i = 1, 1990 do local nxt = {} setmetatable(cur, { __index = nxt }) cur = nxt end
            for i = 1, 1000000 do local x = head.missing end
            """))
        try expectPolicyError(headFirst, "chain of __index tables is too long")
        // setmetatable still gives back the policy's own metatable, and changing it later changes nothing.
        let same = try runEverywhere(propose("""
            local mt = {}
            local t = setmetatable({}, mt)
            mt.__index = function() return "late" end
            error(getmetatable(t) == mt and t.x == nil and "kept, unchanged" or "changed")
            """))
        try expectPolicyError(same, "kept, unchanged")
        // A class-like metatable made while the set loads still works at run time.
        let classes = try runEverywhere(propose(#"error("length " .. setmetatable({ x = 3 }, Point):len())"#, prefix: """
            local Point = {}
            Point.__index = Point
            function Point.len(p) return p.x end

            """))
        try expectPolicyError(classes, "length 3")
    }

    @Test func engineCodeNeverRunsEqOnParams() throws {
        let lines = try runEverywhere(propose(
            "do return { action = 'evil_action', priority = 1, params = setmetatable({}, { __eq = function() while true do end end }) } end"))
        try expectPolicyError(lines, "params with a metatable")
    }

    @Test func paramsThatReferToThemselvesAreThatPolicysError() throws {
        let cycle = try runEverywhere(propose("local p = {} p.a = p p.b = p do return { action = 'evil_action', priority = 1, params = p } end"))
        try expectPolicyError(cycle, "params refer to themselves")
        let deep = try runEverywhere(propose("local p = { x = {} } p.x.y = { z = p } do return { action = 'evil_action', priority = 1, params = p } end"))
        try expectPolicyError(deep, "params refer to themselves")
    }

    @Test func paramsSharingOneTableManyTimesStopAtASizeBound() throws {
        let lines = try runEverywhere(propose("local p = {} for i = 1, 60 do p = { a = p, b = p } end do return { action = 'evil_action', priority = 1, params = p } end"))
        try expectPolicyError(lines, "params are too big")
    }

    @Test func explainNeverRunsPairsOfParams() throws {
        let f = try Fixture(["a_good.lua": goodPolicies, "evil.lua": propose(
            "do return { action = 'evil_action', priority = 1, params = { inner = setmetatable({ a = 1 }, { __pairs = function() while true do end end }) } } end")])
        let engine = try f.engine(limits: Limits(memoryBytes: 32 << 20, instructionsPerCall: 200_000))
        let explanation = try engine.explain(["id": "C1", "tier": "gold", "consent": ["email": true], "contacts": []])
        #expect(explanation.plan.actionNames == ["last", "first", "evil_action"])
        #expect(explanation.plan.actions.last?.params == ["inner": ["a": 1]])
    }

    @Test func aTestsExpectWithAnIndexFunctionIsReadRaw() throws {
        let f = try Fixture(["a_good.lua": goodPolicies, "tests/evil_test.lua": """
            test "evil" {
              customer = { id = "C1", tier = "gold", consent = { email = true }, contacts = {} },
              expect = setmetatable({ includes = { "first" } }, { __index = function() while true do end end }),
            }
            """])
        #expect(f.problems() == [])
    }

    @Test func theNeverMatchLintIsLinearInWhiteSpace() throws {
        let spaces = String(repeating: " ", count: 150_000)
        let f = try Fixture(["a_good.lua": goodPolicies, "evil.lua": """
            segment "gold" { when = function(c) return c.tier == "gold"\(spaces) end }
            segment "silver" { when = function(c) return c.tier == "silver"\(spaces)and c.tier ~= "x" end }
            policy "mmm-evil" { action = "evil_action", priority = 1, segments = { "gold", "silver" } }
            """])
        #expect(f.problems() == [])
    }

    @Test func aFinalizerAddedBeforeTheFreezeIsNeverArmed() throws {
        // Before: the freeze set the metatable (now with __gc) on the table's data, and the
        // finalizer looped with hooks off when the engine closed its states.
        let lines = try runEverywhere(propose("local x = T.y", prefix: """
            local mt = {}
            T = setmetatable({}, mt)
            mt.__gc = function() while true do end end

            """))
        #expect(lines.count == customers.count)
        for line in lines { #expect(try PlanLine(line).errors.isEmpty, "\(line)") }
    }

    // --- Deterministic output -------------------------------------------------------------

    @Test func paramsKeysThatReadAlikeAreThatPolicysError() throws {
        let lines = try runEverywhere(propose(#"do return { action = "evil_action", priority = 1, params = { [2] = "a", ["2"] = "b", [1] = "c" } } end"#))
        try expectPolicyError(lines, "params have two keys that read the same ('2')")
    }

    @Test func errorTextsCarryNoAddresses() throws {
        let own = try runEverywhere(propose(#"error("got " .. tostring(function() end) .. " and " .. tostring({}))"#))
        try expectPolicyError(own, "got a function and a table")
        let engines = try runEverywhere(propose("LIMITS[tostring] = 1", prefix: "LIMITS = {}\n"))
        try expectPolicyError(engines, "cannot change 'a function'")
        #expect(!(own + engines).contains { $0.contains("0x") })
    }

    // --- The host --------------------------------------------------------------------------

    @Test func aRunNeedingMoreStatesThanAreFreeRunsWithFewer() throws {
        let f = try Fixture(["a_good.lua": goodPolicies])
        let engine = try f.engine()  // two states
        // One state is busy (another caller's), the batch asks for two: it runs with one.
        let lines = try engine.pool.withState { _ in try runBatch(engine, customers.map(\.line), jobs: 2) }
        #expect(lines.count == customers.count)
        #expect(try lines.map { try PlanLine($0).actions.map(\.action) }.allSatisfy { $0 == ["last", "first"] })
        #expect(try engine.pool.withStates(2) { $0.count } == 2)
    }
}

/// Out of memory at any point of one customer's decision (engine code included) leaves nothing
/// behind for the next customer of the same state: every place in the first customer's
/// decision is made to fail in turn, by the state's memory limit, and the next customer's plan
/// must be the one a fresh state gives.
@Suite struct OutOfMemoryPartWayTests {
    /// A customer in many segments: listing them grows a table past what the decision held
    /// before, so that memory can run out between a segment's mark and its place in the list.
    static let set = """
        action "vip_call" { department = "sales", channel = "phone" }
        action "review"   { department = "sales", channel = "email" }
        action "plain"    { department = "marketing", channel = "email" }
        segment "gold" { when = function(c) return c.tier == "gold" end }
        for i = 1, 150 do segment("big" .. i) { when = function(c) return c.revenue > i end } end
        policy "vip" { action = "vip_call", priority = 30, when = function(c, ctx)
                         for i = 1, 150 do if ctx.segments["big" .. i] then return true end end
                         return false end }
        policy "review" { segments = { "gold", "big150" }, action = "review", priority = 20 }
        policy "plain"  { action = "plain", priority = 1, reason = function(c, ctx)
                            return (ctx.segments.gold and "gold" or "-") .. (ctx.segments.big1 and "big" or "-") .. c.id end }
        """
    /// In every segment; a new id and note each time, so that its decision needs new memory to
    /// its end (a state that saw the same customer already holds all of its strings).
    static func first(_ n: Int) -> String {
        #"{"id":"A\#(n)","tier":"gold","revenue":500,"note":"\#(String(repeating: "x", count: 300))\#(n)"}"#
    }
    /// In "gold" only: no "big" segment may leak into its plan from the first customer.
    static let next = #"{"id":"B","tier":"gold","revenue":0}"#

    private static func decide(_ state: LuaState, _ json: String) -> (outcome: String, bytes: String) {
        let out = NativeBuffer()
        let bytes = Array(json.utf8)
        let outcome = bytes.withUnsafeBytes { state.decide($0, line: 1, column: 1, out: out, routes: nil) }
        switch outcome {
        case .plan: return ("plan", out.string)
        case .badRecord(let m, _, _): return ("bad record", m)
        case .failed(let m, _): return ("failed", m)
        }
    }

    @Test func aDecisionStoppedByMemoryAnywhereLeavesTheNextCustomerAlone() throws {
        let f = try Fixture(["s.lua": Self.set])
        let expected = try f.engine().pool.withState { Self.decide($0, Self.next) }
        #expect(expected.outcome == "plan")
        #expect(expected.bytes.contains(#""reason":"gold-B""#), "\(expected.bytes)")
        #expect(!expected.bytes.contains("vip_call") && !expected.bytes.contains("review"), "\(expected.bytes)")
        try f.engine().pool.withState { state in
            let full = Self.decide(state, Self.first(-1))  // warms the state's caches, as a run would
            #expect(full.outcome == "plan" && full.bytes.contains("vip_call"), "\(full.bytes)")
            var stopped = 0, steps = 0
            var headroom = 0
            while steps < 4000 {
                steps += 1
                state.collectGarbage()
                let was = state.setMemoryLimit(state.memoryUsed + headroom)
                let first = Self.decide(state, Self.first(steps))
                state.setMemoryLimit(was)
                if first.outcome == "plan" && first.bytes.contains(#""errors":[]"#) { break }  // enough memory: every place was tried
                stopped += 1
                let next = Self.decide(state, Self.next)
                #expect(next.outcome == expected.outcome && next.bytes == expected.bytes,
                        "after the first customer stopped with \(headroom) bytes to spare (\(first.outcome): \(first.bytes.prefix(160))): \(next.bytes)")
                headroom += 8
            }
            #expect(stopped > 20, "memory never ran out part-way (\(stopped) tries)")
            #expect(steps < 4000, "the first customer never got a whole plan")
        }
    }
}

/// An output buffer that cannot grow gives the record that needed it an error (and the summary
/// names it) instead of stopping the process; the records before it keep their plans, and the
/// next chunk starts with room again. With one and with two states.
@Suite struct OutputThatCannotGrowTests {
    @Test(arguments: [1, 2]) func aRecordWhoseLineDoesNotFitBecomesAnErrorAndTheRunGoesOn(jobs: Int) throws {
        let f = try Fixture(["a_good.lua": goodPolicies])
        let engine = try f.engine()
        let path = NSTemporaryDirectory() + "nextbest-full-buffer-" + UUID().uuidString + ".jsonl"
        // 2,000 records of 128 bytes in chunks of 64 KiB: 4 chunks.
        let profiles = (1...2000).map { i in
            let line = #"{"id":"C\#(i)","tier":"gold","consent":{"email":true},"contacts":[]}"#
            return line + String(repeating: " ", count: 127 - line.utf8.count)
        }
        FileManager.default.createFile(atPath: path, contents: Data((profiles.joined(separator: "\n") + "\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let planBytes = try runBatch(engine, [profiles[0]], jobs: 1)[0].utf8.count + 1
        var options = BatchOptions(jobs: jobs)
        options.chunkBytes = 64 << 10
        options.outputLimit = 10 * planBytes + planBytes / 2  // room for 10 plans a chunk
        var out: [UInt8] = []
        let summary = try engine.run(profiles: path, options: options, output: { out += $0 })
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(summary.records == 2000)
        #expect(summary.plans + summary.errorRecords == 2000)
        #expect(summary.plans == 40, "10 plans in each of 4 chunks, not \(summary.plans)")
        var plans = 0, errors = 0, customers: [String] = []
        for line in lines {
            let plan = try PlanLine(line)  // whole lines only
            if plan.isErrorRecord {
                errors += 1
                #expect(line.contains("not enough memory for the output"), "\(line)")
            } else {
                plans += 1
                customers.append(plan.customer ?? "?")
                #expect(plan.actions.map(\.action) == ["last", "first"], "\(line)")
            }
        }
        #expect(plans == summary.plans)
        #expect(errors > 0 && errors < summary.errorRecords, "the error lines that fit are written, the others only counted")
        #expect(customers.contains("C11") == false && customers.contains { Int($0.dropFirst())! > 100 },
                "a later chunk has room again: \(customers.prefix(20))")
        #expect(summary.errorExamples.contains { $0.contains("no memory left to write this error") }, "\(summary.errorExamples)")
    }
}
