// A store's contact history as the engine takes it: rows with their stored time text, merged into contacts.
import Foundation

/// One row of a customer's history read for deciding: a recorded task that is not cancelled
/// (a contact at its `created_at`) or an outcome, its time as the store keeps it
/// (`2026-11-03T10:00:00Z`, no `Date` made per row).
public struct ContactRow: Sendable, Hashable {
    /// The action.
    public var action: String
    /// The channel, if known.
    public var channel: String?
    /// When, as stored text.
    public var at: String
    /// The outcome, for outcome rows; `nil` for contacts.
    public var outcome: String?
    /// The task: the contact's own id, or the task an outcome answers.
    public var task: String?

    /// A row from its parts.
    public init(action: String, channel: String?, at: String, outcome: String? = nil, task: String? = nil) {
        self.action = action
        self.channel = channel
        self.at = at
        self.outcome = outcome
        self.task = task
    }

    /// The row of a history entry.
    public init(_ e: HistoryEntry) {
        self.init(action: e.action, channel: e.channel, at: StoreTime.text(e.at), outcome: e.outcome, task: e.task)
    }
}

/// One contact of the merged history: what the engine adds to the profile's contacts.
public struct MergedContact: Sendable, Hashable {
    /// The action.
    public var action: String
    /// The channel, if known.
    public var channel: String?
    /// When, as stored text.
    public var at: String
    /// How the customer answered, if known.
    public var outcome: String?
}

extension ContactRow {
    /// One customer's rows (newest first, as the store reads them) merged into contacts, oldest
    /// first: each task carries the first outcome recorded for it; an outcome for no listed task
    /// (or a second outcome of one) is a contact of its own. Tasks of the decisions in `own` (a
    /// resumed run's own earlier decisions) and their outcomes are left out.
    public static func merge(_ rows: [ContactRow], skippingDecisions own: Set<String> = []) -> [MergedContact] {
        var contacts: [MergedContact] = []
        contacts.reserveCapacity(rows.count)
        var byTask: [String: Int] = [:]
        var skipped: Set<String> = []
        for e in rows.reversed() where e.outcome == nil {
            if let t = e.task, !own.isEmpty, let dash = t.lastIndex(of: "-"), own.contains(String(t[..<dash])) {
                skipped.insert(t)
                continue
            }
            if let t = e.task { byTask[t] = contacts.count }
            contacts.append(MergedContact(action: e.action, channel: e.channel, at: e.at))
        }
        for e in rows.reversed() {
            guard let outcome = e.outcome else { continue }
            if let t = e.task, skipped.contains(t) { continue }
            if let t = e.task, let i = byTask[t], contacts[i].outcome == nil {
                contacts[i].outcome = outcome
            } else {
                contacts.append(MergedContact(action: e.action, channel: e.channel, at: e.at, outcome: outcome))
            }
        }
        return contacts
    }
}

/// The SQL both backends run for `Store.contactRows` (`$LIST`: the customers, `$SINCE`: the
/// time text): tasks made at or after `since` that are not cancelled, and outcomes at or after
/// it — except an outcome of a task made before `since`, which counts at its task's time and so
/// is older than the window too. Ordered as `Store.history` orders entries.
enum ContactRowsSQL {
    static func query(list: String, since: String?, nullText: String = "NULL") -> String {
        let window = since.map { " AND created_at >= \($0)" } ?? ""
        let outcomeWindow = since.map {
            " AND o.at >= \($0) AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = o.task AND t.created_at < \($0) AND t.status <> 'cancelled')"
        } ?? ""
        return """
            SELECT customer, action, channel, created_at AS at, \(nullText) AS outcome, id AS task, 0 AS kind
              FROM tasks WHERE customer IN \(list) AND status <> 'cancelled'\(window)
            UNION ALL
            SELECT o.customer, o.action, o.channel, o.at, o.outcome, o.task, 1
              FROM outcomes o WHERE o.customer IN \(list)\(outcomeWindow)
            ORDER BY 1, 4 DESC, 7 DESC, 6
            """
    }
}
