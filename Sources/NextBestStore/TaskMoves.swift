// Task moves described once for both backends: which statuses a move leaves, what it writes, what a refusal says.
import Foundation

/// One move of one task, carried out the same way by both backends, in one transaction:
/// 1. `expiry`: the task is written `expired` if it is open past its due time;
/// 2. `update`: the move itself, compare-and-set on the task's status (one row or none);
/// 3. the task is read back and `verdict` says what the move came to (or throws why not);
/// 4. `outcomeInsert`: a `done` also records its outcome (key `task:<id>`).
/// Only the SQL placeholders differ between the backends (`?` or `$n`).
struct TaskMoveSpec: Sendable {
    /// What the move does.
    enum Kind: Sendable {
        case assign(to: String)
        case done(outcome: String, note: String?)
        case cancel
    }

    let id: String
    let kind: Kind
    /// The move's time as stored text.
    let now: String

    init(_ id: String, _ kind: Kind, at: Date) {
        self.id = id
        self.kind = kind
        self.now = StoreTime.text(at)
    }

    /// The status the move leads to.
    var target: TaskStatus {
        switch kind {
        case .assign: return .assigned
        case .done: return .done
        case .cancel: return .cancelled
        }
    }

    /// The statuses a task may be in for the move to go through.
    var allowedFrom: [TaskStatus] {
        switch kind {
        case .assign: return [.open]
        case .done, .cancel: return [.open, .assigned]
        }
    }

    /// The move in words, for a refusal ("cannot assign task ...").
    var verb: String {
        switch kind {
        case .assign: return "assign"
        case .done: return "mark done"
        case .cancel: return "cancel"
        }
    }

    /// The columns the move writes besides `status` and `status_at`.
    private var columns: [(String, String?)] {
        switch kind {
        case .assign(let who): return [("assignee", who), ("assigned_at", now)]
        case .done(let outcome, let note): return [("outcome", outcome), ("note", note), ("done_at", now)]
        case .cancel: return []
        }
    }

    /// The statement that expires this task when it is open past its due time, and its values.
    func expiry(_ placeholder: (Int) -> String) -> (sql: String, values: [String?]) {
        ("UPDATE tasks SET status = 'expired', status_at = due_at WHERE id = \(placeholder(1)) AND status = 'open' "
            + "AND due_at < \(placeholder(2))", [id, now])
    }

    /// The compare-and-set update (changes one row when the task's status allows the move), and its values.
    func update(_ placeholder: (Int) -> String) -> (sql: String, values: [String?]) {
        var values: [String?] = [now]
        var sets = "status = '\(target.rawValue)', status_at = \(placeholder(1))"
        for (column, value) in columns {
            values.append(value)
            sets += ", \(column) = \(placeholder(values.count))"
        }
        values.append(id)
        let from = allowedFrom.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        return ("UPDATE tasks SET \(sets) WHERE id = \(placeholder(values.count)) AND status IN (\(from))", values)
    }

    /// What the move came to, from whether the update changed the row and the task read back.
    /// Assigning a task again to the person who has it goes through without changing anything.
    func verdict(changed: Bool, task: TaskRecord?) throws(TaskMoveError) -> TaskMove {
        guard let task else { throw .unknownTask(id) }
        if changed { return TaskMove(task: task, changed: true) }
        if case .assign(let who) = kind, task.status == .assigned, task.assignee == who {
            return TaskMove(task: task, changed: false)
        }
        throw .invalid(move: verb, task: task)
    }

    /// For a `done` that went through: the statement recording its outcome, and its values.
    func outcomeInsert(_ task: TaskRecord, _ placeholder: (Int) -> String) -> (sql: String, values: [String?])? {
        guard case .done(let outcome, _) = kind else { return nil }
        let values: [String?] = ["task:" + id, id, task.customer, task.action, task.channel, outcome, now]
        let marks = (1...values.count).map(placeholder).joined(separator: ", ")
        return ("INSERT INTO outcomes (id, task, customer, action, channel, outcome, at, value) VALUES (\(marks), NULL) "
            + "ON CONFLICT DO NOTHING", values)
    }
}

extension TaskRecord {
    /// The task as it stands at `now`: an open task past its due time is `expired` (since its due
    /// time), whether or not a move or a sweep has written that into the store yet.
    public func asOf(_ now: Date) -> TaskRecord {
        guard status == .open, let due = dueAt, due < now else { return self }
        var t = self
        t.status = .expired
        t.statusAt = due
        return t
    }
}

extension Schema {
    /// The condition selecting tasks of `status` as they stand at a time (its placeholder is the
    /// time's text): open tasks past their due time count as `expired`, not `open`.
    static func statusCondition(_ status: TaskStatus, now placeholder: String) -> String {
        switch status {
        case .open: return "status = 'open' AND (due_at IS NULL OR due_at >= \(placeholder))"
        case .expired: return "(status = 'expired' OR (status = 'open' AND due_at < \(placeholder)))"
        default: return "status = '\(status.rawValue)'"
        }
    }
}
