// SQLite: reading customers' histories and contacts for deciding, by customer or as one range of ids.
import Foundation
import GRDB
import NextBest
import Synchronization

extension SQLiteStore {
    /// Many customers' histories in one query, newest first; see `Store.history`.
    public func history(customers: [String], since: Date?) async throws -> [String: [HistoryEntry]] {
        if customers.isEmpty { return [:] }
        return try await reading { db in try Self.readHistory(customers, since: since, db) }
    }

    /// Many customers' histories, newest first, on the caller's connection; see `Store.history`.
    static func readHistory(_ customers: [String], since: Date?, _ db: Database) throws -> [String: [HistoryEntry]] {
        let list = Schema.jsonArray(customers)
        let from = since.map(StoreTime.text) ?? ""
        let rows = try Row.fetchCursor(db, sql: """
            SELECT customer, action, channel, created_at AS at, NULL AS outcome, id AS task, NULL AS value, 0 AS kind
              FROM tasks WHERE customer IN (SELECT value FROM json_each(?1)) AND status <> 'cancelled' AND created_at >= ?2
            UNION ALL
            SELECT customer, action, channel, at, outcome, task, value, 1
              FROM outcomes WHERE customer IN (SELECT value FROM json_each(?1)) AND at >= ?2
            ORDER BY 1, 4 DESC, 8 DESC, 6
            """, arguments: [list, from])
        var out: [String: [HistoryEntry]] = [:]
        while let r = try rows.next() {
            let entry = HistoryEntry(action: r[1], channel: r[2], at: StoreTime.stored(r[3]), outcome: r[4], task: r[5], value: r[6])
            out[r[0], default: []].append(entry)
        }
        return out
    }

    /// Many customers' history rows since `since`, newest first; see `Store.contactRows`.
    public func contactRows(customers: [String], since: Date?) async throws -> [String: [ContactRow]] {
        if customers.isEmpty { return [:] }
        let list = Schema.jsonArray(customers)
        let sql = ContactRowsSQL.query(list: "(SELECT value FROM json_each(?1))", since: since == nil ? nil : "?2")
        let arguments: StatementArguments = since.map { [list, StoreTime.text($0)] } ?? [list]
        return try await reading { db in
            var out: [String: [ContactRow]] = [:]
            var current = "", rows: [ContactRow] = []
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let r = try cursor.next() {
                let customer: String = r[0]
                if customer != current {
                    if !rows.isEmpty { out[current] = rows }
                    current = customer
                    rows = []
                }
                rows.append(ContactRow(action: r[1], channel: r[2], at: r[3], outcome: r[4], task: r[5]))
            }
            if !rows.isEmpty { out[current] = rows }
            return out
        }
    }

    /// Many customers' merged contacts since `since`, read from the statement's own bytes into
    /// one batch (no `String` per field); see `Store.contacts(customers:since:skippingRun:)`.
    public func contacts(customers: [String], since: Date?, skippingRun run: String?) async throws -> ContactBatch {
        try await reading { db in try Self.readContacts(customers, since: since, skippingRun: run, db) }
    }

    /// ``contacts(customers:since:skippingRun:)`` read on the calling thread, which waits: for
    /// a batch run's workers, which then need no hop to another thread per chunk.
    public func contactsWaiting(customers: [String], since: Date?, skippingRun run: String?) throws -> ContactBatch {
        do {
            return try pool.read { db in try Self.readContacts(customers, since: since, skippingRun: run, db, ranges: self.ranges) }
        } catch {
            throw Self.mapped(error, name: name)
        }
    }

    /// Whether reading a chunk's customers as one range of ids paid off lately. A range read gives
    /// up past a budget of rows for customers not asked for; the chunks after one that gave up are
    /// read customer by customer for a while, then a range is tried again.
    final class RangeReads: Sendable {
        private let skip = Atomic<Int>(0)
        /// Chunks read by customer after a range read gave up.
        static let pause = 16

        /// Whether to try a range for this chunk.
        func shouldTry() -> Bool {
            if skip.load(ordering: .relaxed) <= 0 { return true }
            skip.subtract(1, ordering: .relaxed)
            return false
        }

        /// A range read gave up.
        func gaveUp() { skip.store(Self.pause, ordering: .relaxed) }
    }

    /// Many customers' merged contacts on the caller's connection. A chunk's customers are read
    /// either as one range of ids (from the smallest to the largest, rows of other customers
    /// skipped; inputs in id order, as exports often are, then cost a walk along each index
    /// instead of a search per customer) or by looking each customer up (`IN` a list).
    static func readContacts(_ customers: [String], since: Date?, skippingRun run: String?, _ db: Database,
                             ranges: RangeReads? = nil) throws -> ContactBatch {
        if customers.isEmpty { return ContactBatch() }
        let from = since.map(StoreTime.text)
        var listText: String?  // the customers as a JSON array, made once when needed
        func list() -> String {
            if let listText { return listText }
            listText = Schema.jsonArray(customers)
            return listText!
        }
        let own = try run.map { Set(try Self.recordedDecisions(run: $0, list: list(), db).values) } ?? []
        // The tasks and outcomes queries over `customers` (SQL with ?1, and ?3 for a range),
        // the window bound as ?2.
        func queries(_ customers: String?, range: (String, String)?) throws -> (BulkStatement, BulkStatement) {
            let window = from == nil ? nil : "?2"
            let tasks = try BulkStatement(db, ContactRowsSQL.tasks(list: customers ?? "", since: window, range: range) + " ORDER BY customer")
            let outcomes = try BulkStatement(db, ContactRowsSQL.outcomes(list: customers ?? "", since: window, checkingTasks: false,
                                                                         range: range) + " ORDER BY o.customer")
            if let from { for s in [tasks, outcomes] { s.bind(2, from) } }
            return (tasks, outcomes)
        }
        if let ranges, customers.count >= 16, ranges.shouldTry() {
            var wanted = customers.map { Array($0.utf8) }
            wanted.sort { $0.lexicographicallyPrecedes($1) }
            let (tasks, outcomes) = try queries(nil, range: ("?1", "?3"))
            for s in [tasks, outcomes] {
                wanted[0].withUnsafeBytes { s.bind(1, bytes: $0) }
                wanted[wanted.count - 1].withUnsafeBytes { s.bind(3, bytes: $0) }
            }
            // Customers not asked for, met in the range: it gives up when they outnumber those
            // asked for by more than 16 (an input in no id order gives up within its first rows).
            var surplus = 16
            let batch = try merge(tasks, outcomes, since: from, own: own, db) { id in
                if wanted.binarySearch(id) { surplus += 1; return true }
                surplus -= 1
                return surplus >= 0 ? false : nil
            }
            if let batch { return batch }
            tasks.reset()
            outcomes.reset()
            ranges.gaveUp()
        }
        let (tasks, outcomes) = try queries("(SELECT value FROM json_each(?1))", range: nil)
        for s in [tasks, outcomes] { s.bind(1, list()) }
        return try merge(tasks, outcomes, since: from, own: own, db) { _ in true }!
    }

    /// Tasks and outcomes from two queries, each in the order of its customer index (no sort in
    /// SQLite), joined here by customer; each customer's rows are sorted in flush. `take` says
    /// whether a customer's rows are wanted (`nil`: stop, and this returns `nil`). An outcome in
    /// the window whose task is not (made before it) is asked about only then: checking every
    /// outcome's task in SQL was a third of the reading.
    private static func merge(_ tasks: BulkStatement, _ outcomes: BulkStatement, since from: String?, own: Set<String>,
                              _ db: Database, take: (UnsafeRawBufferPointer) -> Bool?) throws -> ContactBatch? {
        let earlier = try from.map { _ in try BulkStatement(db, ContactRowsSQL.earlierTask(id: "?1", since: "?2")) }
        func flush(_ group: inout ContactGroup, into batch: inout ContactBatch) throws {
            if let earlier, let from {
                try group.dropOutcomes { task in
                    earlier.bind(1, bytes: task)
                    earlier.bind(2, from)
                    defer { earlier.reset() }
                    return try earlier.next()
                }
            }
            group.flush(into: &batch, skipping: own, sorting: true)
        }
        var batch = ContactBatch(), group = ContactGroup()
        var moreTasks = try tasks.next(), moreOutcomes = try outcomes.next()
        var lastTaken: (id: [UInt8], taken: Bool)?
        while moreTasks || moreOutcomes {
            let task = moreTasks ? tasks.bytes(0) : nil, outcome = moreOutcomes ? outcomes.bytes(0) : nil
            // The smaller customer id first (SQLite's text order is byte order); a tie: the task.
            var fromTasks = task != nil
            if let task, let outcome { fromTasks = !outcome.lexicographicallyPrecedes(task) }
            let s = fromTasks ? tasks : outcomes
            if let customer = s.bytes(0), let action = s.bytes(1), let at = s.bytes(3) {
                let wanted: Bool
                if group.isCustomer(customer) {
                    wanted = true
                } else if let last = lastTaken, last.id.elementsEqual(customer) {
                    wanted = last.taken
                } else {
                    guard let w = take(customer) else { return nil }
                    wanted = w
                    lastTaken = (Array(customer), w)
                    if w {
                        try flush(&group, into: &batch)
                        group.start(customer)
                    }
                }
                if wanted {
                    if fromTasks {
                        group.add(action: action, channel: s.bytes(2), at: at, outcome: nil, task: s.bytes(4))
                    } else {
                        group.add(action: action, channel: s.bytes(2), at: at, outcome: s.bytes(4), task: s.bytes(5))
                    }
                }
            }
            if fromTasks { moreTasks = try tasks.next() } else { moreOutcomes = try outcomes.next() }
        }
        try flush(&group, into: &batch)
        return batch
    }
}
