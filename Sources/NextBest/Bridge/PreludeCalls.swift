// The typed entry points into the prelude (Prelude/api.lua): one Swift method per entry, results decoded strictly.
import Foundation

/// The prelude's entry points, by the name `api.lua` gives them: the one place that spells them.
enum PreludeEntry: String {
    case load, finish, describe, explain, counters
    case setNow = "set_now"
    case setNowEpoch = "set_now_epoch"
    case setContext = "set_context"
    case resetCounters = "reset_counters"
    case runTests = "run_tests"
    case setBlocked = "set_blocked"
    case setSpeculate = "set_speculate"
    case recount
    case nowEpoch = "now_epoch"
}

/// What `finish` reports: the problems that stop the set from loading, and warnings.
struct LoadReport: Sendable, Decodable {
    /// Problems, sorted by place.
    var problems: [PolicyProblem]
    /// Warnings, sorted by place.
    var warnings: [PolicyProblem]
}

/// What `describe` reports: the loaded set's declarations.
struct SetDescription: Sendable, Decodable {
    /// Segments, in declaration order.
    var segments: [SegmentInfo]
    /// Actions, in declaration order.
    var actions: [ActionInfo]
    /// Policies, in name order.
    var policies: [PolicyInfo]
    /// How many tests the set holds.
    var tests: Int
    /// Channels: declared ones, then (when none is declared) those the actions name.
    var channels: [ChannelInfo]
    /// Departments: declared ones, then (when none is declared) those the actions name.
    var departments: [DepartmentInfo]
    /// The profile schema, if the set declares one.
    var profile: ProfileSchema?
    /// The contact policy, as far as the host reads it.
    var contactPolicy: ContactPolicyInfo?
    /// The most days back a contact can matter to the set's cooldowns, caps and outcome rules.
    var historyDays: Double?

    /// `contact_policy` fields the host reads.
    struct ContactPolicyInfo: Sendable, Decodable {
        /// The outcomes a store accepts, when the set lists them.
        var outcomes: [String]?
    }

    enum CodingKeys: String, CodingKey {
        case segments, actions, policies, tests, channels, departments, profile
        case contactPolicy = "contact_policy"
        case historyDays = "history_days"
    }
}

/// What `counters` reports: the state's run statistics since the last reset.
struct RunCounters: Sendable, Decodable {
    /// Plans made, and of those the ones with policy errors.
    var plans: Int, withErrors: Int
    /// Plans without any action.
    var noAction: Int
    /// Actions chosen per action, department and channel; customers per segment.
    var actions: [String: Int], departments: [String: Int], channels: [String: Int], segments: [String: Int]
    /// Actions chosen per department, then per channel.
    var departmentChannels: [String: [String: Int]]
    /// Suppressions per action, then per reason.
    var suppressed: [String: [String: Int]]
    /// Policy errors per distinct error text.
    var errors: [String: Int]
    /// Data problems (a value of the wrong type, a consent value that is not a boolean) per
    /// field, and the first message for each field.
    var fieldErrors: [String: Int], fieldExamples: [String: String]
    /// Each policy's funnel.
    var policies: [String: Funnel]
    /// The evaluation time (ISO-8601) the state used last.
    var now: String

    /// One policy's counts: customers it ran for, proposals, taken, suppressed by reason.
    struct Funnel: Sendable, Decodable {
        var ran: Int, proposals: Int, taken: Int
        var suppressed: [String: Int]
    }

    enum CodingKeys: String, CodingKey {
        case plans, actions, departments, channels, segments, suppressed, errors, policies, now
        case withErrors = "with_errors", noAction = "no_action", departmentChannels = "department_channels"
        case fieldErrors = "field_errors", fieldExamples = "field_examples"
    }
}

/// What `explain` reports: a bad record, or the plan and the trace (kept as data as well, for `--format json`).
struct ExplainReply: Sendable, Decodable {
    /// Why the record got no plan, and its customer id when known.
    var error: String?, customer: JSONValue?
    /// The plan and the trace, as data.
    var plan: JSONValue?, trace: JSONValue?
}

/// The trace part of an explain reply, typed.
struct TraceReply: Sendable, Decodable {
    /// A profile field a step read, and its value as text.
    struct Read: Sendable, Decodable { var field: String; var value: String }
    /// One segment's `when`.
    struct Segment: Sendable, Decodable { var segment: String; var matched: Bool; var error: String?; var read: [Read]? }
    /// One proposal.
    struct Proposal: Sendable, Decodable { var action: String; var priority: Double; var reason: String; var factors: ScoreFactors? }
    /// One policy considered or gated out.
    struct Policy: Sendable, Decodable {
        var policy: String, at: String, ran: Bool, why: String?, error: String?
        var proposed: [Proposal]?
        var read: [Read]?
    }
    /// One proposal that lost to another of the same action.
    struct Dropped: Sendable, Decodable { var action: String; var policy: String; var priority: Double; var kept: String }
    /// The evaluation time.
    var now: String
    /// The steps.
    var segments: [Segment], policies: [Policy], dropped: [Dropped]
    /// What the actions' `eligible` checks read.
    var eligibilityRead: [Read]?
    /// The past contacts that counted for each cooldown, cap and pause.
    var history: [Explanation.CountedContacts]?

    enum CodingKeys: String, CodingKey {
        case now, segments, policies, dropped, history
        case eligibilityRead = "eligibility_read"
    }
}

/// What `run_tests` reports for one test.
struct TestReply: Sendable, Decodable {
    /// One expectation that did not hold.
    struct Failure: Sendable, Decodable {
        var field: String, message: String, at: String?
        var expected: JSONValue?, actual: JSONValue?
    }
    /// The test's name, place and time.
    var name: String, at: String, now: String
    /// Whether it passed, and what failed.
    var passed: Bool, failures: [Failure]
    /// The plan its customer got (absent when the customer was not a valid profile).
    var plan: JSONValue?
}

extension LuaState {
    /// Loads one policy or test file into the state.
    func load(_ file: PolicyFile) throws(LuaError) {
        _ = try call(.load, [file.path, file.text, file.isTest ? "test" : "policy"])
    }

    /// Resolves, lints and seals the loaded set.
    func finish() throws(LuaError) -> LoadReport { try reply(.finish) }

    /// Sets the evaluation time (ISO-8601); returns why it cannot be read, or nil.
    func setNow(_ iso: String) throws(LuaError) -> String? {
        clock = nil
        let why: String? = try reply(.setNow, [iso])
        if why == nil { clock = .fixed(iso) }
        return why
    }

    /// Sets the evaluation time to a number of seconds since the epoch.
    func setNow(epoch: Int) throws(LuaError) {
        clock = nil
        _ = try call(.setNowEpoch, [String(epoch)])
        clock = .wall(epoch)
    }

    /// Sets the capacity blocks of the customers decided next (`CapacityKeys.blockedJSON`), or none ("").
    func setBlocked(_ json: String) throws(LuaError) { _ = try call(.setBlocked, [json]) }

    /// While `on`, plans of a set with capacities carry the plan the customer would get if
    /// they lost every capacity theirs claims (written aside by ``decide(_:line:column:out:routes:ifAllLost:)``).
    func setSpeculate(_ on: Bool) throws(LuaError) { _ = try call(.setSpeculate, [on ? "true" : "false"]) }

    /// Takes plans' choices into the counters (`PlanClaimScanner.choice`) `n` times each, from
    /// JSON text `[{"n":-2,"plan":{...}},...]`.
    func recount(_ json: String) throws(LuaError) { _ = try call(.recount, [json]) }

    /// Sets the request context policies read as `ctx.context` (policy-language.md §8.1); empty clears it.
    func setContext(_ context: [String: String]) throws(LuaError) {
        var args: [String] = []
        for (k, v) in context.sorted(by: { $0.key < $1.key }) { args += [k, v] }
        _ = try call(.setContext, args)
    }

    /// The loaded set's declarations.
    func describe() throws(LuaError) -> SetDescription { try reply(.describe) }

    /// One profile (JSON text), step by step.
    func explain(_ json: String) throws(LuaError) -> ExplainReply { try reply(.explain, [json]) }

    /// The run statistics since the state opened or was last reset.
    func counters() throws(LuaError) -> RunCounters { try reply(.counters) }

    /// Clears the run statistics.
    func resetCounters() throws(LuaError) { _ = try call(.resetCounters) }

    /// Runs the tests whose name or `file:line` contains `filter` ("" = all).
    func runTests(filter: String) throws(LuaError) -> [TestReply] { try reply(.runTests, [filter]) }

    /// Calls `entry` and decodes its result strictly: a missing field is an error.
    private func reply<T: Decodable>(_ entry: PreludeEntry, _ args: [String] = []) throws(LuaError) -> T {
        let bytes = try call(entry, args)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw LuaError(message: "the prelude's reply to \(entry.rawValue) does not have the expected shape (a bug in NextBest): \(error)")
        }
    }
}
