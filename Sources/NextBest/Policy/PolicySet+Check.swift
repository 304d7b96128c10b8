// PolicySet+Check: what `nextbest check` reports — the set's declarations, problems and warnings.

/// A declared segment.
public struct SegmentInfo: Sendable, Hashable, Decodable {
    /// Its name.
    public var name: String
    /// Where it is declared (`file:line`).
    public var at: String
    /// Its description, if any.
    public var description: String?
}

/// A declared action.
public struct ActionInfo: Sendable, Hashable, Decodable {
    /// Its name.
    public var name: String
    /// Where it is declared (`file:line`).
    public var at: String
    /// The department that carries it out.
    public var department: String
    /// The channel it reaches the customer on.
    public var channel: String
    /// Days before it may be chosen again for the same customer, if set.
    public var cooldownDays: Double?
    /// Its group (at most one action of a group per plan), if any.
    public var group: String?
    /// Its description, if any.
    public var description: String?
    /// Days after it is made that its task is due (with a store), if set.
    public var slaDays: Double?
    /// At most this many of it per run (or per day with a store), if set (policy-language.md §8.4).
    public var capacity: Int?

    enum CodingKeys: String, CodingKey {
        case name, at, department, channel, group, description, capacity
        case cooldownDays = "cooldown_days"
        case slaDays = "sla_days"
    }
}

/// A declared policy.
public struct PolicyInfo: Sendable, Hashable, Decodable {
    /// Its name.
    public var name: String
    /// Where it is declared (`file:line`).
    public var at: String
    /// The segments a customer must all be in for it to run.
    public var segments: [String]
    /// The action of a short-form policy (`nil` for the full form with `propose`).
    public var action: String?
    /// Its description, if any.
    public var description: String?
}

/// What loading a policy set found: its declarations, the problems that stop it from
/// loading, and warnings (declared but unused, or a policy that can never run).
public struct PolicyCheck: Sendable {
    /// Segments, in declaration order.
    public var segments: [SegmentInfo]
    /// Actions, in declaration order.
    public var actions: [ActionInfo]
    /// Policies, in name order.
    public var policies: [PolicyInfo]
    /// How many tests the set holds.
    public var tests: Int
    /// Channels (policy-language.md §2.1); `declared` is false for those a v1 set only names.
    public var channels: [ChannelInfo] = []
    /// Departments (§2.1), with the profile fields each copies into its queue.
    public var departments: [DepartmentInfo] = []
    /// The profile schema (§3.1), if the set declares one.
    public var profile: ProfileSchema?
    /// Problems, each at `file:line`; the set loads only when there are none.
    public var problems: [PolicyProblem]
    /// Warnings, each at `file:line`; they do not stop the set from loading.
    public var warnings: [PolicyProblem]
    /// The outcomes `contact_policy { outcomes = {...} }` lists, if it does (a store accepts only these).
    public var outcomes: [String]?
}

extension PolicySet {
    /// Loads the set and reports every problem and warning, without stopping at the first.
    public func check(limits: Limits = Limits()) throws(PolicySetError) -> PolicyCheck {
        let (state, report) = try loadState(limits: limits)
        let d: SetDescription
        do { d = try state.describe() } catch { throw .unreadable("cannot describe the policy set \(directory): \(error)") }
        return PolicyCheck(segments: d.segments, actions: d.actions, policies: d.policies, tests: d.tests,
                           channels: d.channels, departments: d.departments, profile: d.profile,
                           problems: report.problems, warnings: report.warnings, outcomes: d.contactPolicy?.outcomes)
    }
}
