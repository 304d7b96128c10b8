// SQLite: recording plans and their tasks (`run --record`, the service): multi-row inserts without per-row checks.
import Foundation
import GRDB
import NextBest
import Synchronization

extension SQLiteStore {
    /// Records plans and their tasks in one transaction; see `Store.record`. Per row, SQLite
    /// checks no foreign key and no CHECK: `insert` writes a task only after its decision went in,
    /// with the status 'open'. Those checks were most of a task's cost: the CHECK's list
    /// (`status IN (...)`) is built as a temporary b-tree for every row checked, and a statement that
    /// may fail part-way (a foreign key) keeps a journal of every page it changes.
    public func record(_ decisions: [RecordedDecision]) async throws -> RecordResult {
        try await writing(unchecked: true) { db in try Self.insert(decisions, db) }
    }

    /// Inserts decisions and their tasks inside the caller's transaction; see `Store.record`.
    /// Rows go in `rowsPerInsert` at a time: one statement keeps its cursors open from row to row,
    /// so a key that comes after the last one in an index (ids, times) needs no search from the
    /// root, and the statement's set-up is paid once per group instead of once per row. `OR IGNORE`
    /// skips a row whose key is stored (no column here is ever NULL where it must not be).
    static func insert(_ decisions: [RecordedDecision], _ db: Database) throws -> RecordResult {
        var result = RecordResult()
        var tasks = TaskRows()
        var p = RowParameters()
        var start = 0
        while start < decisions.count {
            let group = decisions[start..<min(start + rowsPerInsert, decisions.count)]
            start = group.endIndex
            for d in group {
                p.text(d.id); p.text(d.run); p.text(d.customer); p.text(d.revision); p.text(tasks.timeText(d.at))
                p.text(d.plan); p.text(d.heldOut)
            }
            let n = try p.execute(BulkStatement(db, insertSQL(.decisions, rows: group.count)))
            result.decisions += n
            // All went in (the usual case), or find which did: this statement's rows took the n
            // row ids up to the last one (each new row id is one past the largest).
            var inserted: Set<String>?
            if n < group.count {
                inserted = n == 0 ? [] : Set(try String.fetchAll(db, sql: "SELECT id FROM decisions WHERE rowid > ?",
                                                                  arguments: [db.lastInsertedRowID - Int64(n)]))
            }
            for k in group.indices {
                if let inserted, !inserted.contains(decisions[k].id) {
                    result.skipped += 1
                    let d = decisions[k]
                    if let stored = try storedDecision(run: d.run, customer: d.customer, db) { result.kept[d.customer] = stored }
                    continue
                }
                for i in decisions[k].tasks.indices {
                    tasks.append(k, i)
                    if tasks.count == rowsPerInsert { result.tasks += try tasks.flush(decisions, db) }
                }
            }
            result.tasks += try tasks.flush(decisions, db)  // before the next decisions: tasks name theirs
        }
        return result
    }

    /// Rows per multi-row `INSERT` (14 columns × 32 rows stays far below SQLite's 32,766 parameters).
    static let rowsPerInsert = 32

    /// The two tables `insert` writes.
    enum InsertTable: Int { case decisions, tasks }

    /// The multi-row `INSERT` of `rows` rows into `table` (each size's text made once).
    static func insertSQL(_ table: InsertTable, rows: Int) -> String {
        insertTexts.withLock { cache in
            if let sql = cache[table.rawValue][rows] { return sql }
            let (head, columns) = table == .decisions
                ? ("INSERT OR IGNORE INTO decisions (id, run, customer, revision, at, plan, held_out) VALUES ", 7)
                : ("""
                   INSERT OR IGNORE INTO tasks (id, decision, customer, action, department, channel, priority, created_at, status,
                     status_at, due_at, policy, segments, fields) VALUES
                   """ + " ", 14)
            let one = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
            let sql = head + Array(repeating: one, count: rows).joined(separator: ", ")
            cache[table.rawValue][rows] = sql
            return sql
        }
    }

    private static let insertTexts = Mutex<[[Int: String]]>([[:], [:]])

    /// Tasks waiting for their multi-row `INSERT`, and the texts most of them share, made once:
    /// the time, each due time, the segments list.
    private struct TaskRows {
        private var rows: [(decision: Int, task: Int)] = []
        private var lastAt: (Date, String)?
        private var dueTexts: [Date: String] = [:]
        private var lastSegments: ([String], String) = ([], "[]")
        private var p = RowParameters()

        var count: Int { rows.count }

        /// Adds task `task` of decision `decision` (positions in the decisions `flush` is given).
        mutating func append(_ decision: Int, _ task: Int) { rows.append((decision, task)) }

        /// A time as stored, remembering the last one.
        mutating func timeText(_ date: Date) -> String {
            if let l = lastAt, l.0 == date { return l.1 }
            let text = StoreTime.text(date)
            lastAt = (date, text)
            return text
        }

        /// Inserts the waiting tasks; returns how many went in.
        mutating func flush(_ decisions: [RecordedDecision], _ db: Database) throws -> Int {
            if rows.isEmpty { return 0 }
            for (k, i) in rows {
                let d = decisions[k], t = d.tasks[i]
                let at = timeText(d.at)
                if t.segments != lastSegments.0 { lastSegments = (t.segments, Schema.segmentsText(t.segments)) }
                var due: String?
                if let date = t.dueAt {
                    if let text = dueTexts[date] { due = text } else { due = StoreTime.text(date); dueTexts[date] = due }
                }
                p.taskID(d.id, at: i)
                p.text(d.id); p.text(d.customer); p.text(t.action); p.text(t.department); p.text(t.channel)
                p.number(t.priority); p.text(at); p.text("open"); p.text(at); p.text(due); p.text(t.policy)
                p.text(lastSegments.1); p.text(t.fields)
            }
            let statement = try BulkStatement(db, insertSQL(.tasks, rows: rows.count))
            rows.removeAll(keepingCapacity: true)
            return try p.execute(statement)
        }
    }

    /// The id of the decision stored for `run` and `customer`, if any (inside a transaction).
    private static func storedDecision(run: String, customer: String, _ db: Database) throws -> String? {
        let q = try BulkStatement(db, "SELECT id FROM decisions WHERE run = ? AND customer = ?")
        q.bind(1, run); q.bind(2, customer)
        guard try q.next() else { return nil }
        defer { q.reset() }
        return q.text(0)
    }

    /// The decisions of `run` among `customers`; see `Store.recordedDecisions`.
    public func recordedDecisions(run: String, customers: [String]) async throws -> [String: String] {
        if customers.isEmpty { return [:] }
        let list = Schema.jsonArray(customers)
        return try await reading { db in try Self.recordedDecisions(run: run, list: list, db) }
    }

    /// The decisions of `run` among the customers of `list` (a JSON array), on the caller's connection.
    static func recordedDecisions(run: String, list: String, _ db: Database) throws -> [String: String] {
        var out: [String: String] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT customer, id FROM decisions WHERE run = ? AND customer IN (SELECT value FROM json_each(?))",
                                       arguments: [run, list])
        while let r = try rows.next() { out[r[0]] = r[1] }
        return out
    }
}
