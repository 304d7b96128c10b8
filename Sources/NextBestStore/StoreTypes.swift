// What goes into and comes out of a store: recorded decisions and tasks, outcomes, history.
import Foundation

/// A plan made with `--record`: one `decisions` row and one `tasks` row per action taken.
public struct RecordedDecision: Sendable, Hashable {
    /// The decision's id (time-ordered, unique; `DecisionIDGenerator`).
    public var id: String
    /// The run it belongs to (`--run-id`); with `customer`, unique: a resumed run skips it.
    public var run: String
    /// The customer's id text.
    public var customer: String
    /// The policy set's revision.
    public var revision: String
    /// When the plan was made; its tasks are created at this time.
    public var at: Date
    /// The plan as JSON text.
    public var plan: String
    /// What holdouts kept from the customer, as JSON text (`[{"action","policy","holdout"}]`), if any.
    public var heldOut: String?
    /// The actions taken, in plan order; task `i` (from 1) gets the id `"<decision id>-<i>"`.
    public var tasks: [RecordedTask]

    /// A recorded decision from its parts.
    public init(id: String, run: String, customer: String, revision: String, at: Date, plan: String,
                heldOut: String? = nil, tasks: [RecordedTask]) {
        self.id = id
        self.run = run
        self.customer = customer
        self.revision = revision
        self.at = at
        self.plan = plan
        self.heldOut = heldOut
        self.tasks = tasks
    }

    /// The id of this decision's task at a 0-based position in `tasks`.
    public func taskID(at index: Int) -> String { "\(id)-\(index + 1)" }
}

/// An action taken in a recorded plan: work for a department, status `open` when recorded.
public struct RecordedTask: Sendable, Hashable {
    /// The action's name.
    public var action: String
    /// The department that carries it out.
    public var department: String
    /// How the customer is reached.
    public var channel: String
    /// Its priority (or score) in the plan.
    public var priority: Double
    /// When it is due (from the action's `sla_days`), if ever.
    public var dueAt: Date?
    /// The policy that proposed it.
    public var policy: String?
    /// The customer's segments when it was decided.
    public var segments: [String]
    /// The department's `fields` copied from the profile, as a JSON object text.
    public var fields: String?

    /// A task from its parts.
    public init(action: String, department: String, channel: String, priority: Double, dueAt: Date? = nil,
                policy: String? = nil, segments: [String] = [], fields: String? = nil) {
        self.action = action
        self.department = department
        self.channel = channel
        self.priority = priority
        self.dueAt = dueAt
        self.policy = policy
        self.segments = segments
        self.fields = fields
    }
}

/// What `record` wrote.
public struct RecordResult: Sendable, Hashable {
    /// Decisions written now.
    public var decisions = 0
    /// Tasks written now.
    public var tasks = 0
    /// Decisions already in the store (same id, or same run and customer): skipped with their tasks.
    public var skipped = 0
    /// For each skipped decision, the id the store holds for its run and customer (by customer):
    /// the plan that was recorded first, which a resumed run or a customer met twice keeps.
    public var kept: [String: String] = [:]
    /// An empty result.
    public init() {}
}

/// A customer's response, ready for the store (already checked; see `OutcomeImporter`).
public struct OutcomeRow: Sendable, Hashable {
    /// The row's key: its `id` when given, else `OutcomeRow.contentKey`.
    public var id: String
    /// The task it answers, if any.
    public var task: String?
    /// The customer's id text.
    public var customer: String
    /// The action it answers.
    public var action: String
    /// The channel, if known (taken from the task when the row has none).
    public var channel: String?
    /// The outcome (`accepted`, `declined`, ...).
    public var outcome: String
    /// When it happened.
    public var at: Date
    /// A value it brought (revenue, say), if any.
    public var value: Double?

    /// An outcome row; `id: nil` gives it its content key.
    public init(id: String?, task: String? = nil, customer: String, action: String, channel: String? = nil,
                outcome: String, at: Date, value: Double? = nil) {
        self.task = task
        self.customer = customer
        self.action = action
        self.channel = channel
        self.outcome = outcome
        self.at = at
        self.value = value
        self.id = ""
        self.id = id ?? contentKey
    }

    /// The key of a row that has no `id`: `~` and 32 hex digits of a SHA-256 over its task,
    /// customer, action, channel, outcome, time (to the second, UTC) and value. The same row
    /// imported twice gets the same key, so it is a duplicate the second time.
    public var contentKey: String {
        var parts: [String] = [task ?? "", customer, action, channel ?? "", outcome, StoreTime.text(at)]
        parts.append(value.map { String($0) } ?? "")
        return "~" + SHA256Hex.of(parts.joined(separator: "\u{1F}"), hexDigits: 32)
    }
}

/// What one batch of `importOutcomes` did.
public struct OutcomeImportResult: Sendable, Hashable {
    /// Rows written now.
    public var imported = 0
    /// Rows whose key was already in the store (or earlier in the same batch).
    public var duplicates = 0
    /// Rows refused, by index in the batch, with why (a task that does not exist, say).
    public var rejected: [(index: Int, reason: String)] = []

    /// An empty result.
    public init() {}

    /// Equal when the counts and the rejected rows are.
    public static func == (a: Self, b: Self) -> Bool {
        a.imported == b.imported && a.duplicates == b.duplicates
            && a.rejected.map(\.index) == b.rejected.map(\.index) && a.rejected.map(\.reason) == b.rejected.map(\.reason)
    }

    /// Hashes the counts.
    public func hash(into h: inout Hasher) {
        h.combine(imported)
        h.combine(duplicates)
        h.combine(rejected.map(\.index))
    }
}

/// One entry of a customer's contact history (`policy-language.md` §3): a recorded task
/// that is not cancelled (a contact from its `created_at`), or an outcome.
public struct HistoryEntry: Sendable, Hashable, Codable {
    /// The action.
    public var action: String
    /// The channel, if known.
    public var channel: String?
    /// When: the task's creation, or the outcome's time.
    public var at: Date
    /// The outcome, for outcome entries; `nil` for contacts.
    public var outcome: String?
    /// The task: the contact's own id, or the task an outcome answers.
    public var task: String?
    /// The value an outcome brought, if any.
    public var value: Double?

    /// An entry from its parts.
    public init(action: String, channel: String?, at: Date, outcome: String? = nil, task: String? = nil, value: Double? = nil) {
        self.action = action
        self.channel = channel
        self.at = at
        self.outcome = outcome
        self.task = task
        self.value = value
    }
}

/// A task's status: `open → assigned → done`, or `cancelled`, or `expired` past its due time.
public enum TaskStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// Waiting for someone.
    case open
    /// Someone has it.
    case assigned
    /// Handled; its outcome is recorded.
    case done
    /// Called off; it no longer counts as a contact.
    case cancelled
    /// Nobody took it before its due time.
    case expired
}

/// A task as the store holds it.
public struct TaskRecord: Sendable, Hashable, Codable {
    /// Its id (`<decision id>-<position>`).
    public var id: String
    /// The decision that made it.
    public var decision: String
    /// The customer's id text.
    public var customer: String
    /// The action.
    public var action: String
    /// The department that carries it out.
    public var department: String
    /// The channel.
    public var channel: String
    /// Its priority in the plan.
    public var priority: Double
    /// When it was made.
    public var createdAt: Date
    /// Where it stands.
    public var status: TaskStatus
    /// Who has it (from `assign`).
    public var assignee: String?
    /// When its status last changed.
    public var statusAt: Date
    /// When it is due, if ever.
    public var dueAt: Date?
    /// The outcome given with `done`.
    public var outcome: String?
    /// The note given with `done`.
    public var note: String?
    /// When it was (last) assigned.
    public var assignedAt: Date?
    /// When it was done.
    public var doneAt: Date?
    /// The policy that proposed it.
    public var policy: String?
    /// The customer's segments when it was decided.
    public var segments: [String]
    /// The department's profile fields, as a JSON object text.
    public var fields: String?
}

/// A task move that was refused: the task is unknown, or its status does not allow the move.
public enum TaskMoveError: Error, Sendable, CustomStringConvertible, Equatable {
    /// No task has this id.
    case unknownTask(String)
    /// The move does not fit the task's status; `task` is how it stands now.
    case invalid(move: String, task: TaskRecord)

    /// The message, in plain words: who holds the task when someone does.
    public var description: String {
        switch self {
        case .unknownTask(let id):
            return "there is no task \(id)"
        case .invalid(let move, let t):
            let since = StoreTime.text(t.statusAt)
            let why: String
            switch t.status {
            case .assigned: why = "it is assigned to \(t.assignee ?? "someone") (since \(since))"
            case .done: why = "it is already done" + (t.assignee.map { " by \($0)" } ?? "")
                + (t.outcome.map { " (\($0))" } ?? "") + " on \(since)"
            case .cancelled: why = "it was cancelled on \(since)"
            case .expired: why = "it expired on \(since)" + (t.dueAt.map { " (due \(StoreTime.text($0)))" } ?? "")
            case .open: why = "it is open"
            }
            return "cannot \(move) task \(t.id): \(why)"
        }
    }
}

/// A task move that went through: the task as it stands now, and whether anything changed.
public struct TaskMove: Sendable, Hashable {
    /// The task after the move.
    public var task: TaskRecord
    /// `false` when the task already stood as asked (assigned again to the same person).
    public var changed: Bool
}
