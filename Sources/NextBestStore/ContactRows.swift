// A store's contact history as the engine takes it: rows with their stored time text, merged into contacts.
import Foundation
import NextBest

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
        let order = mergeOrder(rows.count, isOutcome: { rows[$0].outcome != nil }, task: { rows[$0].task }, own: { i in
            !own.isEmpty && rows[i].task.flatMap { decision(ofTask: $0.utf8) }.map(own.contains) == true
        })
        return order.map { c in
            let r = rows[c.row]
            return MergedContact(action: r.action, channel: r.channel, at: r.at, outcome: c.outcome.flatMap { rows[$0].outcome })
        }
    }

    /// The decision a task id belongs to: the id before its last `-` (`taskID(at:)` writes
    /// `<decision>-<n>`); `nil` without one.
    static func decision<Bytes: BidirectionalCollection>(ofTask id: Bytes) -> String? where Bytes.Element == UInt8 {
        id.lastIndex(of: UInt8(ascii: "-")).map { String(decoding: id[..<$0], as: UTF8.self) }
    }

    /// How `n` rows of one customer (newest first) become contacts, oldest first, as
    /// ``merge(_:skippingDecisions:)`` says: each contact is a row (a task, or an outcome alone)
    /// and the row of its outcome. `task(i)` is row i's task (equal values: the same task);
    /// `own(i)`: row i is a task of a decision to leave out.
    static func mergeOrder<Task: Hashable>(_ n: Int, isOutcome: (Int) -> Bool, task: (Int) -> Task?,
                                           own: (Int) -> Bool) -> [(row: Int, outcome: Int?)] {
        var contacts: [(row: Int, outcome: Int?)] = []
        contacts.reserveCapacity(n)
        // Tasks by id: searched in place for a customer's usual few rows, hashed past that.
        var tasks: [(task: Task, contact: Int)] = [], skipped: [Task] = []
        var byTask: [Task: Int] = [:], skippedSet: Set<Task> = []
        let hashed = n > 16
        for i in stride(from: n - 1, through: 0, by: -1) where !isOutcome(i) {
            let t = task(i)
            if own(i) {
                if let t { if hashed { skippedSet.insert(t) } else { skipped.append(t) } }
                continue
            }
            if let t { if hashed { byTask[t] = contacts.count } else { tasks.append((t, contacts.count)) } }
            contacts.append((i, nil))
        }
        for i in stride(from: n - 1, through: 0, by: -1) where isOutcome(i) {
            let t = task(i)
            if let t, hashed ? skippedSet.contains(t) : skipped.contains(t) { continue }
            let k = t.flatMap { t in hashed ? byTask[t] : tasks.last(where: { $0.task == t })?.contact }
            if let k, contacts[k].outcome == nil {
                contacts[k].outcome = i
            } else {
                contacts.append((i, i))
            }
        }
        return contacts
    }
}

/// One customer's history rows as a store reads them, their texts copied into one buffer,
/// until the next customer's start: then merged into a `ContactBatch`.
struct ContactGroup {
    private var bytes: [UInt8] = []
    private var customer = 0..<0
    /// Each row's texts in `bytes` (`nil`: NULL).
    private var rows: [(action: Range<Int>, channel: Range<Int>?, at: Range<Int>, outcome: Range<Int>?, task: Range<Int>?)] = []

    /// Whether `id` is the customer whose rows are being gathered.
    func isCustomer(_ id: UnsafeRawBufferPointer) -> Bool {
        !rows.isEmpty && customer.count == id.count && bytes[customer].elementsEqual(id)
    }

    /// Starts the rows of customer `id`.
    mutating func start(_ id: UnsafeRawBufferPointer) {
        bytes.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
        customer = put(id)
    }

    /// Adds one row (newest first, as the store orders them).
    mutating func add(action: UnsafeRawBufferPointer, channel: UnsafeRawBufferPointer?, at: UnsafeRawBufferPointer,
                      outcome: UnsafeRawBufferPointer?, task: UnsafeRawBufferPointer?) {
        rows.append((put(action), channel.map { put($0) }, put(at), outcome.map { put($0) }, task.map { put($0) }))
    }

    /// Drops the outcome rows whose task is not among the rows gathered and for which `earlier`
    /// says yes (given the task's id): for rows read without the window's task check (see
    /// `ContactRowsSQL.outcomes(list:since:checkingTasks:)`), whose tasks are then asked about
    /// one by one; a customer's outcomes usually answer tasks that are listed, and ask nothing.
    mutating func dropOutcomes(ofUnlistedTasks earlier: (UnsafeRawBufferPointer) throws -> Bool) rethrows {
        guard rows.contains(where: { $0.outcome != nil && $0.task != nil }) else { return }
        let b = bytes
        var drop: [Int] = []
        for (i, r) in rows.enumerated() {
            guard r.outcome != nil, let t = r.task else { continue }
            let listed = rows.contains { $0.outcome == nil && $0.task.map { b[$0].elementsEqual(b[t]) } == true }
            if !listed, try b.withUnsafeBytes({ try earlier(UnsafeRawBufferPointer(rebasing: $0[t])) }) { drop.append(i) }
        }
        for i in drop.reversed() { rows.remove(at: i) }
    }

    /// Merges the rows gathered (``ContactRow/merge(_:skippingDecisions:)``) into `batch`, leaving
    /// out the tasks of the decisions in `own`; then holds none. With `sorting`, the rows are
    /// first put in the store's order (newest first, an outcome before a task of the same time,
    /// then by task): for rows read from two queries, tasks then outcomes.
    mutating func flush(into batch: inout ContactBatch, skipping own: Set<String>, sorting: Bool = false) {
        guard !rows.isEmpty else { return }
        if sorting && rows.count > 1 {
            let b = bytes
            rows.sort { x, y in
                if !b[x.at].elementsEqual(b[y.at]) { return b[y.at].lexicographicallyPrecedes(b[x.at]) }  // newest first
                if (x.outcome != nil) != (y.outcome != nil) { return x.outcome != nil }
                guard let tx = x.task else { return y.task != nil }
                guard let ty = y.task else { return false }
                return b[tx].lexicographicallyPrecedes(b[ty])
            }
        }
        let gathered = self.rows, bytes = self.bytes
        let order = ContactRow.mergeOrder(gathered.count, isOutcome: { gathered[$0].outcome != nil },
                                          task: { i in gathered[i].task.map { bytes[$0] } }, own: { i in
            !own.isEmpty && gathered[i].task.flatMap { ContactRow.decision(ofTask: bytes[$0]) }.map(own.contains) == true
        })
        bytes.withUnsafeBytes { u in
            func text(_ r: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: u[r]) }
            for c in order {
                let r = rows[c.row]
                batch.append(customer: text(customer), action: text(r.action), channel: r.channel.map(text), at: text(r.at),
                             outcome: c.outcome.flatMap { rows[$0].outcome }.map(text))
            }
        }
        rows.removeAll(keepingCapacity: true)
    }

    /// Copies `text` in; its place.
    private mutating func put(_ text: UnsafeRawBufferPointer) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: text)
        return start..<bytes.count
    }
}

/// The SQL both backends run for `Store.contactRows` (`$LIST`: the customers, `$SINCE`: the
/// time text): tasks made at or after `since` that are not cancelled, and outcomes at or after
/// it — except an outcome of a task made before `since`, which counts at its task's time and so
/// is older than the window too. Ordered as `Store.history` orders entries.
enum ContactRowsSQL {
    static func query(list: String, since: String?, nullText: String = "NULL") -> String {
        """
        \(tasks(list: list, since: since, then: "\(nullText) AS outcome, id AS task, 0 AS kind"))
        UNION ALL
        \(outcomes(list: list, since: since, then: ", 1"))
        ORDER BY 1, 4 DESC, 7 DESC, 6
        """
    }

    /// The tasks part: customer, action, channel, at, then the columns `then` lists (by
    /// default the task's id). Customers: those of `list`, or every id within `range`.
    static func tasks(list: String, since: String?, then: String = "id", range: (String, String)? = nil) -> String {
        let window = since.map { " AND created_at >= \($0)" } ?? ""
        let customers = range.map { "customer BETWEEN \($0.0) AND \($0.1)" } ?? "customer IN \(list)"
        return """
            SELECT customer, action, channel, created_at AS at, \(then)
              FROM tasks WHERE \(customers) AND status <> 'cancelled'\(window)
            """
    }

    /// The outcomes part: customer, action, channel, at, outcome, task, then `then` (a comma
    /// and more columns, or nothing). Without `checkingTasks`, the outcomes of tasks made before
    /// `since` are in it too, for the caller to leave out (`earlierTaskSQL`).
    static func outcomes(list: String, since: String?, then: String = "", checkingTasks: Bool = true,
                         range: (String, String)? = nil) -> String {
        let window = since.map {
            " AND o.at >= \($0)" + (checkingTasks ? " AND NOT EXISTS (\(earlierTask(id: "o.task", since: $0)))" : "")
        } ?? ""
        return """
            SELECT o.customer, o.action, o.channel, o.at, o.outcome, o.task\(then)
              FROM outcomes o WHERE \(range.map { "o.customer BETWEEN \($0.0) AND \($0.1)" } ?? "o.customer IN \(list)")\(window)
            """
    }

    /// A task `id` made before `since` and not cancelled: its outcomes count at its time, before
    /// the window, so they are not read.
    static func earlierTask(id: String, since: String) -> String {
        "SELECT 1 FROM tasks t WHERE t.id = \(id) AND t.created_at < \(since) AND t.status <> 'cancelled'"
    }
}
