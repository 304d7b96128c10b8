// The rows the report reads: plain mirrors of the store's `decisions`, `tasks` and `outcomes` tables.
import Foundation

/// One action a holdout kept from a customer: what the plan's `held_out` list names.
public struct ReportHeldOut: Sendable, Hashable, Codable {
    /// The action the customer would have received.
    public var action: String
    /// The policy that proposed it.
    public var policy: String
    /// The holdout that kept it back (`universal`, or the policy's name for a policy holdout).
    public var holdout: String

    /// Makes a held-out entry.
    public init(action: String, policy: String, holdout: String) {
        self.action = action
        self.policy = policy
        self.holdout = holdout
    }
}

/// One recorded plan (a row of `decisions`), with what the report needs from its JSON.
public struct ReportDecision: Sendable {
    /// The decision id (time-ordered, unique).
    public var id: String
    /// The run that recorded it, when there was one.
    public var run: String?
    /// The customer decided for.
    public var customer: String
    /// The policy set's revision.
    public var revision: String
    /// When it was decided.
    public var at: Date
    /// The customer's segments at that decision.
    public var segments: [String]
    /// The universal holdout the customer is in (`"holdout"` in the plan), if any.
    public var holdout: String?
    /// What holdouts kept from the customer (`"held_out"` in the plan).
    public var heldOut: [ReportHeldOut]

    /// Makes a decision row.
    public init(id: String, run: String? = nil, customer: String, revision: String, at: Date,
                segments: [String] = [], holdout: String? = nil, heldOut: [ReportHeldOut] = []) {
        self.id = id
        self.run = run
        self.customer = customer
        self.revision = revision
        self.at = at
        self.segments = segments
        self.holdout = holdout
        self.heldOut = heldOut
    }
}

/// Where a task stands in its department's queue.
public enum ReportTaskStatus: String, Sendable, Codable, CaseIterable {
    /// Waiting for someone to take it.
    case open
    /// Someone has it.
    case assigned
    /// Handled, with an outcome.
    case done
    /// Called off.
    case cancelled
    /// Its deadline (`due_at`) passed before it was done.
    case expired
}

/// One action taken in a recorded plan (a row of `tasks`).
public struct ReportTask: Sendable {
    /// The task id.
    public var id: String
    /// The decision it came from.
    public var decision: String
    /// The customer it is for.
    public var customer: String
    /// The action.
    public var action: String
    /// The department whose queue it is in.
    public var department: String
    /// The channel it goes out on.
    public var channel: String
    /// Its priority in the plan.
    public var priority: Double
    /// When it was created (recorded).
    public var createdAt: Date
    /// Where it stands now.
    public var status: ReportTaskStatus
    /// Who has it, once assigned.
    public var assignee: String?
    /// When the status last changed (for `done`: when it was done).
    public var statusAt: Date?
    /// When it was assigned, when the store knows (for status `assigned`, `statusAt` is used).
    public var assignedAt: Date?
    /// Its deadline, from the action's `sla_days`.
    public var dueAt: Date?
    /// The outcome recorded when it was done.
    public var outcome: String?
    /// The policy that proposed the action.
    public var policy: String
    /// The customer's segments at the decision.
    public var segments: [String]

    /// Makes a task row.
    public init(id: String, decision: String, customer: String, action: String, department: String,
                channel: String, priority: Double = 0, createdAt: Date, status: ReportTaskStatus,
                assignee: String? = nil, statusAt: Date? = nil, assignedAt: Date? = nil,
                dueAt: Date? = nil, outcome: String? = nil, policy: String, segments: [String] = []) {
        self.id = id
        self.decision = decision
        self.customer = customer
        self.action = action
        self.department = department
        self.channel = channel
        self.priority = priority
        self.createdAt = createdAt
        self.status = status
        self.assignee = assignee
        self.statusAt = statusAt
        self.assignedAt = assignedAt
        self.dueAt = dueAt
        self.outcome = outcome
        self.policy = policy
        self.segments = segments
    }
}

/// One customer response (a row of `outcomes`).
public struct ReportOutcome: Sendable {
    /// The task it answers, when known.
    public var task: String?
    /// The customer who responded.
    public var customer: String
    /// The action responded to.
    public var action: String
    /// The channel, when given.
    public var channel: String?
    /// The outcome (`accepted`, `declined`, `ignored`, `converted`, `bounced`, or the set's own).
    public var outcome: String
    /// When it happened.
    public var at: Date
    /// The value it brought, when given.
    public var value: Double?

    /// Makes an outcome row.
    public init(task: String? = nil, customer: String, action: String, channel: String? = nil,
                outcome: String, at: Date, value: Double? = nil) {
        self.task = task
        self.customer = customer
        self.action = action
        self.channel = channel
        self.outcome = outcome
        self.at = at
        self.value = value
    }
}
