// Engine: the public entry point — load a policy set once, decide for many customers.
import Foundation

/// Settings for an ``Engine``.
public struct EngineOptions: Sendable {
    /// Memory and instruction limits for each Lua state.
    public var limits: Limits
    /// The evaluation time policies see as `ctx.now` (ISO-8601); `nil` means the current time.
    public var now: String?
    /// How many Lua states (concurrent evaluations) at most; default: the number of cores.
    public var concurrency: Int
    /// The request context policies see as `ctx.context` (policy-language.md §8.1: `context_weights`
    /// match it), for every decision unless a call gives its own; `--context k=v` on the command line.
    public var context: [String: String]

    /// Options with the given values.
    public init(limits: Limits = Limits(), now: String? = nil,
                concurrency: Int = ProcessInfo.processInfo.activeProcessorCount, context: [String: String] = [:]) {
        self.limits = limits
        self.now = now
        self.concurrency = max(1, concurrency)
        self.context = context
    }
}

/// A loaded policy set, ready to decide. Safe to share between tasks and threads: each
/// concurrent `decide` borrows its own Lua state from a pool sized to the cores.
///
/// ```swift
/// let engine = try Engine(policies: "policies", options: EngineOptions(now: "2026-11-01"))
/// let plan = try engine.decide(["id": "C1", "annual_revenue": 82_000, "tech_affinity": 0.8])
/// for action in plan.actions { print(action.department, action.action) }
/// ```
public final class Engine: Sendable {
    /// The policy set this engine runs.
    public let policySet: PolicySet
    /// The options it was created with.
    public let options: EngineOptions
    /// Load-time warnings (declared but unused segments or actions).
    public let warnings: [PolicyProblem]
    /// Every department an action of the set is routed to, sorted.
    public let departments: [String]
    /// The profile fields each department's work queue carries (its declared `fields`).
    public let departmentFields: [String: [String]]
    let pool: StatePool
    let description: SetDescription

    /// The declared segments' names, in declaration order.
    public var segmentNames: [String] { description.segments.map(\.name) }
    /// The declared actions' names, in declaration order.
    public var actionNames: [String] { description.actions.map(\.name) }
    /// The declared actions, in declaration order (department, channel, cooldown, group, `sla_days`).
    public var actionInfo: [ActionInfo] { description.actions }
    /// The set's channels (policy-language.md §2.1): declared ones, or in a v1 set those its actions name.
    public var channels: [ChannelInfo] { description.channels }
    /// The set's departments (§2.1) with the profile `fields` each copies into its work queue and its capacity.
    public var departmentInfo: [DepartmentInfo] { description.departments }
    /// The set's profile schema (§3.1), if it declares one.
    public var profileSchema: ProfileSchema? { description.profile }

    /// Loads the policy set in `directory`; throws ``PolicySetError`` when it does not load.
    public convenience init(policies directory: String, options: EngineOptions = EngineOptions()) throws(PolicySetError) {
        try self.init(policySet: PolicySet(directory: directory), options: options)
    }

    /// Loads an already-read policy set.
    public init(policySet: PolicySet, options: EngineOptions = EngineOptions()) throws(PolicySetError) {
        self.policySet = policySet
        self.options = options
        let (first, report) = try policySet.openState(limits: options.limits)
        let now = options.now
        if let now {
            let unreadable: String?
            do { unreadable = try first.setNow(now) } catch { throw .unreadable("cannot set the time: \(error)") }
            if let unreadable { throw .unreadable(unreadable) }
        }
        let context = options.context
        if !context.isEmpty {
            do { try first.setContext(context) } catch { throw .unreadable("cannot set the context: \(error)") }
        }
        warnings = report.warnings
        do { description = try first.describe() } catch { throw .unreadable("cannot describe the policy set \(policySet.directory): \(error)") }
        departments = Array(Set(description.actions.map(\.department))).sorted()
        departmentFields = description.departmentFields
        let limits = options.limits
        pool = StatePool(capacity: options.concurrency, first: first) {
            let (state, _) = try policySet.openState(limits: limits)
            if let now { _ = try state.setNow(now) }
            if !context.isEmpty { try state.setContext(context) }
            return state
        }
    }

    /// Decides one profile built in Swift: its values are pushed into Lua as they are, without JSON text.
    public func decide(_ profile: Profile) throws(DecisionError) -> Plan {
        try decide(profile, context: nil)
    }

    /// Decides one profile built in Swift in `context`: what policies see as `ctx.context`
    /// (policy-language.md §8.1, e.g. `["channel": "web"]`); `nil` keeps ``EngineOptions/context``.
    public func decide(_ profile: Profile, context: [String: String]?) throws(DecisionError) -> Plan {
        try decide(now: nil, context: context, { state, _ in state.decide(profile) }, read: Self.typedPlan)
    }

    /// The plan a state made for a profile built in Swift, read from the bridge's typed nodes.
    static func typedPlan(_ state: LuaState, _: NativeBuffer) throws(DecisionError) -> Plan {
        guard let value = state.plan() else {
            throw .failed(message: "the engine wrote a plan it cannot read back (a bug in NextBest)", customer: nil)
        }
        return try Plan(json: value)
    }

    /// Decides one profile given as JSON bytes (one object).
    public func decide(json: some Collection<UInt8>) throws(DecisionError) -> Plan {
        let bytes = Array(json)  // the plan comes back as values: no JSON text written and read again
        return try decide(now: nil, context: nil, { state, _ in bytes.withUnsafeBytes { state.decideToValues($0) } },
                          read: Self.typedPlan)
    }

    /// Decides one profile with a state from the pool, as of `now` (`nil`: the engine's own
    /// time) in `context` (`nil`: the engine's own), and reads the plan the bridge wrote with `read`.
    func decide<T>(now: String?, context: [String: String]?, _ push: (LuaState, NativeBuffer) -> DecideOutcome,
                   read: (LuaState, NativeBuffer) throws -> T) throws(DecisionError) -> T {
        let result: Result<T, DecisionError>
        do {
            result = try pool.withState { state in
                try self.setClock(state, now: now)
                if let context { try state.setContext(context) }
                defer { if context != nil { try? state.setContext(self.options.context) } }
                let out = NativeBuffer()
                switch push(state, out) {
                case .plan:
                    return .success(try read(state, out))
                case .badRecord(let m, let c, _):
                    return .failure(.badRecord(message: m, customer: c.flatMap { try? JSONValue(parsing: $0) }))
                case .failed(let m, let c):
                    return .failure(.failed(message: m, customer: c.flatMap { try? JSONValue(parsing: $0) }))
                }
            }
        } catch let e as DecisionError {
            throw e
        } catch {
            throw .failed(message: "\(error)", customer: nil)
        }
        return try result.get()
    }

    /// Decides many profiles, in order; each gives a plan or an error.
    public func decide<S: Sequence>(_ profiles: S) -> [Result<Plan, DecisionError>] where S.Element == Profile {
        profiles.map { p in Result { () throws(DecisionError) -> Plan in try decide(p) } }
    }

    /// Sets the state's clock to the engine's time: its fixed `now`, or the current second of the
    /// wall clock. Nothing is set when the state already has that time.
    func refreshClock(_ state: LuaState) throws {
        if let fixed = options.now {
            if state.clock != .fixed(fixed) { _ = try state.setNow(fixed) }
            return
        }
        let second = Int(Date().timeIntervalSince1970)
        if state.clock != .wall(second) { try state.setNow(epoch: second) }
    }
}
