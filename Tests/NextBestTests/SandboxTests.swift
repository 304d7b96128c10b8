// Hostile policies (policy-language.md §6): each escape or abuse ends as a load error or as an
// error of that one policy, with a clear message; the other policies and customers are unaffected.
import Testing
@testable import NextBest

/// One hostile policy file and the error it must end with.
struct Hostile: CustomTestStringConvertible, Sendable {
    enum Outcome: Sendable {
        /// The policy `mmm-evil` fails for every customer with a message containing this.
        case policyError(String)
        /// The segment `evil-seg` fails for every customer.
        case segmentError(String)
        /// The action `evil_check`'s eligible check fails for every customer.
        case actionError(String)
        /// The set does not load; a problem placed in evil.lua contains this.
        case loadError(String)
    }

    let name: String
    let file: String
    let outcome: Outcome
    var limits = Limits(memoryBytes: 32 << 20, instructionsPerCall: 200_000)

    var testDescription: String { name }

    /// A policy whose `propose` runs `body` (from line 2 of evil.lua), then proposes evil_action.
    static func propose(_ name: String, _ body: String, _ outcome: Outcome, prefix: String = "",
                        limits: Limits? = nil) -> Hostile {
        var h = Hostile(name: name, file: prefix + """
            policy "mmm-evil" { propose = function(c, ctx)
            \(body)
              return { action = "evil_action", priority = 1 }
            end }
            """, outcome: outcome)
        if let limits { h.limits = limits }
        return h
    }

    /// The whole of evil.lua.
    static func file(_ name: String, _ text: String, _ outcome: Outcome) -> Hostile {
        Hostile(name: name, file: text, outcome: outcome)
    }
}

/// Two well-behaved policies around the hostile one (name order: aaa, mmm, zzz). Both put
/// what they read from the profile into their reasons, so a changed profile would show.
private let goodPolicies = """
    action "first"       { department = "sales", channel = "email" }
    action "last"        { department = "marketing", channel = "sms" }
    action "evil_action" { department = "sales", channel = "phone" }
    local function seen(c) return c.tier .. "/" .. tostring(c.consent.email) .. "/" .. #c.contacts end
    policy "aaa-first" { action = "first", priority = 10, reason = function(c) return seen(c) end }
    policy "zzz-last" { propose = function(c) return { action = "last", priority = 20, reason = seen(c) } end }
    """

private let gold: Profile = ["id": "C1", "tier": "gold", "consent": ["email": true], "contacts": [["action": "first", "days_ago": 400]]]
private let silver: Profile = ["id": "C2", "tier": "silver", "consent": ["email": true], "contacts": []]

private let hostile: [Hostile] = [
    // Globals that are not there.
    .propose("io is not available", #"local f = io.open("/etc/passwd")"#, .policyError("global 'io'")),
    .propose("os is not available", "os.exit(3)", .policyError("global 'os'")),
    .propose("debug is not available", "debug.sethook()", .policyError("global 'debug'")),
    .propose("package is not available", "local l = package.loaded", .policyError("global 'package'")),
    .propose("require is not available", #"local io = require("io")"#, .policyError("global 'require'")),
    .propose("load is not available (no bytecode through load)", #"load("\27Lua")()"#, .policyError("global 'load'")),
    .propose("loadstring is not available", #"loadstring("return 1")()"#, .policyError("global 'loadstring'")),
    .propose("loadfile is not available", #"loadfile("/etc/passwd")()"#, .policyError("global 'loadfile'")),
    .propose("dofile is not available", #"dofile("/etc/passwd")"#, .policyError("global 'dofile'")),
    .propose("collectgarbage is not available", #"collectgarbage("stop")"#, .policyError("global 'collectgarbage'")),
    .propose("rawset is not available", #"rawset(_ENV, "tostring", nil)"#, .policyError("global 'rawset'")),
    .propose("_G is not available", "_G.tostring = nil", .policyError("global '_G'")),
    .propose("coroutines are not available (no coroutine loops)",
             "coroutine.wrap(function() while true do coroutine.yield() end end)()", .policyError("global 'coroutine'")),
    // The string library and its metatable.
    .propose("string.dump is gone", "string.dump(function() end)", .policyError("field 'dump'")),
    .propose("string.dump is gone from string methods too", "local b = (\"x\"):dump()", .policyError("method 'dump'")),
    .propose("the string metatable is hidden", "getmetatable(\"\").__index.upper = nil",
             .policyError("attempt to index a boolean value")),
    .propose("the string library is read-only", "string.upper = function() return 'x' end",
             .policyError("string is read-only: cannot set 'upper'")),
    .file("a bytecode file is refused", "\u{1B}LuaT\u{0}\u{19}\u{93}\r\n\u{1A}\n", .loadError("binary chunk")),
    // Time.
    .propose("an endless loop is stopped by the budget", "while true do end", .policyError("instruction budget exceeded")),
    .propose("pcall cannot catch the budget error and go on",
             "while true do pcall(function() while true do end end) end", .policyError("instruction budget exceeded")),
    .propose("xpcall with an endless handler is stopped",
             "xpcall(function() while true do end end, function() while true do end end) while true do end",
             .policyError("instruction budget exceeded")),
    .file("an endless loop in a segment is stopped", """
        segment "evil-seg" { when = function(c) while true do end return false end }
        """, .segmentError("instruction budget exceeded")),
    .file("an endless loop in an eligible check is stopped", """
        action "evil_check" { department = "sales", channel = "social", eligible = function(c) while true do end return false end }
        policy "mmm-evil" { action = "evil_check", priority = 5 }
        """, .actionError("instruction budget exceeded")),
    .file("an endless loop while the file loads is a load error", "while true do end", .loadError("instruction budget exceeded")),
    .propose("a backtracking pattern is refused before it starts",
             #"local s = ("a"):rep(3000); s:find(("a*"):rep(12) .. "b")"#, .policyError("could run too long")),
    .propose("a plain search that would take too long is refused",
             #"local s = ("a"):rep(1 << 20); s:find(("a"):rep(1 << 19) .. "b", 1, true)"#, .policyError("could run too long")),
    .propose("table.move of many elements is refused", "table.move({}, 1, math.maxinteger - 1, 2)",
             .policyError("too many elements to move")),
    // Memory and the stack.
    // Each 1 MiB string.rep is charged 10,000 instructions: a budget of 2,000,000 lets the memory limit come first.
    .propose("a memory bomb stops at the memory limit", #"local t = {} while true do t[#t + 1] = ("x"):rep(1 << 20) .. #t end"#,
             .policyError("memory limit exceeded"), limits: Limits(memoryBytes: 32 << 20, instructionsPerCall: 2_000_000)),
    .propose("a string.rep bomb stops at the memory limit", #"local s = ("x"):rep(1 << 30)"#,
             .policyError("memory limit exceeded")),
    .propose("deep recursion is a stack overflow", "local function f(n) return f(n + 1) + 1 end f(1)",
             .policyError("stack overflow"), limits: Limits(memoryBytes: 64 << 20, instructionsPerCall: 20_000_000)),
    .propose("recursion through a metamethod is a C stack overflow",
             "local t = setmetatable({}, { __index = function(t, k) return t[k] end }) local v = t.x",
             .policyError("stack overflow")),
    // The profile, ctx and the environment are read-only.
    .propose("writing a profile field is an error", #"c.tier = "platinum""#,
             .policyError("the customer profile is read-only: cannot set 'tier'")),
    .propose("writing a nested profile field is an error", "c.consent.email = false",
             .policyError("the customer profile is read-only: cannot set 'email'")),
    .propose("adding to a list in the profile is an error", #"table.insert(c.contacts, { action = "x" })"#,
             .policyError("the customer profile is read-only")),
    .propose("the profile's metatable cannot be replaced", "setmetatable(c, {})", .policyError("cannot change a protected metatable")),
    .propose("the profile's metatable cannot be reached", "getmetatable(c).__newindex = nil",
             .policyError("attempt to index a string value")),
    .propose("ctx is read-only", #"ctx.now = "1999-01-01""#, .policyError("ctx is read-only: cannot set 'now'")),
    .propose("a global cannot be set at run time", "LEAK = c.id", .policyError("cannot set global 'LEAK'")),
    .propose("a global cannot be replaced through _ENV", "_ENV.tostring = nil", .policyError("cannot set global 'tostring'")),
    .propose("a global table made at load is read-only", "LIMITS.gold = 0",
             .policyError("tables made when the policy set loads are read-only"), prefix: "LIMITS = { gold = 5 }\n"),
    .propose("a file-local table is read-only at run time", "seen_ids[#seen_ids + 1] = c.id",
             .policyError("tables made when the policy set loads are read-only"), prefix: "local seen_ids = {}\n"),
    .file("a counter kept outside the function is a load error", """
        local count = 0
        policy "mmm-evil" { propose = function(c)
          count = count + 1
          return { action = "evil_action", priority = count }
        end }
        """, .loadError("carry state from one customer to the next")),
    .propose("declaring at run time is an error", #"policy "late" { action = "first", priority = 99 }"#,
             .policyError("only allowed while the policy set loads")),
    // Metamethod tricks.
    .propose("__gc finalizers are refused", "setmetatable({}, { __gc = function() while true do end end })",
             .policyError("__gc metamethods are not allowed")),
    .propose("an endless __close handler is stopped",
             "local x <close> = setmetatable({}, { __close = function() while true do end end })",
             .policyError("instruction budget exceeded")),
    .propose("a proposal with a metatable is refused, its metamethods never run",
             "do return setmetatable({}, { __index = function() while true do end end }) end",
             .policyError("a table with a metatable")),
    .propose("params with a metatable are refused, their metamethods never run",
             "do return { action = 'evil_action', priority = 1, params = setmetatable({}, { __pairs = function() while true do end end }) } end",
             .policyError("params with a metatable")),
    // Errors that are not messages.
    .propose("an error that is a table", "error({ code = 42 })", .policyError("error() was called with a table instead of a message")),
    .propose("an error table whose __tostring never ends",
             "error(setmetatable({}, { __tostring = function() while true do end end }))",
             .policyError("error() was called with a table instead of a message")),
    .propose("an error that is nil", "error(nil)", .policyError("error() was called with nothing (nil) instead of a message")),
    .propose("a huge error message is cut", #"error(("x"):rep(1 << 20))"#, .policyError("more bytes)")),
]

@Suite("§6 The sandbox: hostile policies")
struct SandboxTests {
    @Test("hostile policy", arguments: hostile)
    func hostilePolicyEndsAsAClearErrorAndHarmsNoOne(_ h: Hostile) throws {
        let f = try Fixture(["a_good.lua": goodPolicies, "evil.lua": h.file])
        if case .loadError(let expected) = h.outcome {
            let problems = f.problems()
            #expect(problems.contains { $0.hasPrefix("evil.lua:") && $0.contains(expected) }, "\(problems)")
            return
        }
        let engine = try f.engine(limits: h.limits)
        // Twice the first customer: nothing the hostile policy did may carry over.
        for (profile, seen) in [(gold, "gold/true/1"), (silver, "silver/true/0"), (gold, "gold/true/1")] {
            let plan = try engine.decide(profile)
            #expect(plan.actionNames == ["last", "first"], "\(plan)")
            #expect(plan.actions.map(\.reason) == [seen, seen])
            #expect(plan.errors.count == 1, "\(plan.errors)")
            guard let error = plan.errors.first else { continue }
            #expect(error.at?.contains("evil.lua:") == true, "\(error)")
            switch h.outcome {
            case .policyError(let expected):
                #expect(error.policy == "mmm-evil")
                #expect(error.message.contains(expected), "\(error.message)")
            case .segmentError(let expected):
                #expect(error.segment == "evil-seg")
                #expect(error.message.contains(expected), "\(error.message)")
                #expect(plan.segments.isEmpty)
            case .actionError(let expected):
                #expect(error.action == "evil_check")
                #expect(error.message.contains(expected), "\(error.message)")
            case .loadError:
                Issue.record("unreachable")
            }
        }
    }

    @Test func aFinalizerAddedAfterSetmetatableNeverRuns() throws {
        // Lua marks an object for finalization only when its metatable has __gc at setmetatable.
        let f = try Fixture(["a_good.lua": goodPolicies, "evil.lua": """
            policy "mmm-evil" { propose = function(c)
              local mt = {}
              local t = setmetatable({}, mt)
              mt.__gc = function() while true do end end
              return { action = "evil_action", priority = 1 }
            end }
            """])
        let engine = try f.engine(limits: Limits(memoryBytes: 32 << 20, instructionsPerCall: 200_000))
        for _ in 0..<3 {
            let plan = try engine.decide(gold)
            #expect(plan.errors.isEmpty)
            #expect(plan.actionNames == ["last", "first", "evil_action"])
        }
    }

    @Test func stateHiddenBehindAMetatableCannotCarryOverEither() throws {
        let f = try Fixture(["a.lua": catalog + """

            local store = setmetatable({}, { __index = { box = {} } })
            policy "keeper" { propose = function(c)
              local previous = store.box.last
              store.box.last = c.id
              return { action = "care", priority = 1, params = { previous = previous } }
            end }
            """])
        let e = try f.engine()
        for id in ["A", "B"] {
            let plan = try e.decide(["id": .string(id)])
            #expect(plan.actions.isEmpty)
            #expect(plan.errors.first?.message.contains("tables made when the policy set loads are read-only") == true)
        }
        let counter = try Fixture(["a.lua": catalog + """

            local n = 0
            local counted = setmetatable({}, { __index = function() n = n + 1; return n end })
            policy "counter" { propose = function(c) return { action = "care", priority = counted.x } end }
            """])
        #expect(counter.problems().first?.contains("this function assigns 'n', a variable declared outside it") == true)
    }

    @Test func aMissingFieldIsNamedInTheError() throws {
        let f = try Fixture(["a_good.lua": goodPolicies, "evil.lua": """
            policy "mmm-evil" { propose = function(c)
              if c.churn_risk > 0.5 then return { action = "evil_action", priority = 1 } end
            end }
            """])
        let plan = try f.engine().decide(gold)
        #expect(plan.errors.map(\.description) == [
            "policy 'mmm-evil' (\(f.directory)/evil.lua:2): attempt to compare number with nil (field 'churn_risk' is missing)",
        ])
        #expect(plan.actionNames == ["last", "first"])
    }

    @Test func frozenTablesStillReadLikeTablesAndTravelAsParams() throws {
        let f = try Fixture(["a_good.lua": goodPolicies, "evil.lua": """
            local CITIES = { "Oslo", "Lima", "Pune" }
            PARAMS = { city = "Oslo", tags = { "a", "b" } }
            policy "mmm-evil" { propose = function(c)
              local n = 0
              for _ in pairs(CITIES) do n = n + 1 end
              for _, v in ipairs(CITIES) do n = n + #v end
              assert(#CITIES == 3 and n == 15 and table.concat(CITIES, ",") == "Oslo,Lima,Pune")
              return { action = "evil_action", priority = 1, params = PARAMS }
            end }
            """])
        let plan = try f.engine().decide(gold)
        #expect(plan.errors.isEmpty, "\(plan.errors)")
        #expect(plan.actions.last?.params == ["city": "Oslo", "tags": ["a", "b"]])
    }

    @Test func aLocalCounterInsideTheFunctionIsFine() throws {
        let f = try Fixture(["a_good.lua": goodPolicies, "evil.lua": """
            policy "mmm-evil" { propose = function(c)
              local n = 0
              any({ 1, 2, 3 }, function(x) n = n + x; return false end)
              return { action = "evil_action", priority = n }
            end }
            """])
        let plan = try f.engine().decide(gold)
        #expect(plan.actions.last?.priority == 6)
    }
}
