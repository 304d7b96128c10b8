// A department's queue read row by row from one snapshot (tasks list, the service): the sink, the query, both backends.
import Foundation
import GRDB
import PostgresNIO

/// Receives a queue from `Store.tasks(department:status:limit:at:into:)`: first `expect(tasks:)`,
/// then each task, oldest first. Tasks are handed over one at a time and not kept by the store.
public protocol TaskSink: Sendable {
    /// How many tasks follow (called once, before any task).
    mutating func expect(tasks: Int)
    /// One task, as it stands at the listing's `now`.
    mutating func task(_ t: TaskRecord) throws
}

/// A sink that keeps every task in memory, in order.
public struct TaskList: TaskSink {
    /// The tasks received.
    public var tasks: [TaskRecord] = []

    /// An empty list.
    public init() {}

    /// Reserves room for the tasks to come.
    public mutating func expect(tasks n: Int) { tasks.reserveCapacity(n) }

    /// Keeps a task.
    public mutating func task(_ t: TaskRecord) { tasks.append(t) }
}

extension Schema {
    /// The queue's query and the query counting it, with their values (placeholders from `placeholder`,
    /// numbered from 1). It reads the `tasks_queue` index (department, status, created_at).
    static func queue(department: String?, status: TaskStatus?, limit: Int?, now: Date,
                      _ placeholder: (Int) -> String) -> (sql: String, count: String, values: [String]) {
        var conditions: [String] = [], values: [String] = []
        if let department {
            values.append(department)
            conditions.append("department = \(placeholder(values.count))")
        }
        if let status {
            if status == .open || status == .expired { values.append(StoreTime.text(now)) }
            conditions.append(statusCondition(status, now: placeholder(values.count)))
        }
        let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        var sql = "SELECT \(taskColumns) FROM tasks" + condition + " ORDER BY created_at, id"
        var count = "SELECT count(*) FROM tasks" + condition
        if let limit {
            sql += " LIMIT \(max(0, limit))"
            count = "SELECT count(*) FROM (SELECT 1 FROM tasks" + condition + " LIMIT \(max(0, limit))) AS q"
        }
        return (sql, count, values)
    }
}

extension SQLiteStore {
    /// Streams a queue inside one read transaction; see `Store.tasks(department:status:limit:at:into:)`.
    public func tasks<Sink: TaskSink>(department: String?, status: TaskStatus?, limit: Int?, at now: Date,
                                      into sink: Sink) async throws -> Sink {
        let q = Schema.queue(department: department, status: status, limit: limit, now: now) { _ in "?" }
        return try await reading { db in
            var sink = sink
            let count = try BulkStatement(db, q.count)
            for (i, v) in q.values.enumerated() { count.bind(Int32(i + 1), v) }
            let n = try count.next() ? count.int(0) : 0
            count.reset()
            sink.expect(tasks: n)
            let rows = try BulkStatement(db, q.sql)
            for (i, v) in q.values.enumerated() { rows.bind(Int32(i + 1), v) }
            var cache = SegmentCache()
            do {
                while try rows.next() { try sink.task(Self.taskRecord(rows, &cache).asOf(now)) }
            } catch {
                rows.reset()
                throw error
            }
            return sink
        }
    }

    /// The task on the current row of a `Schema.taskColumns` query.
    static func taskRecord(_ r: BulkStatement, _ cache: inout SegmentCache) -> TaskRecord {
        TaskRecord(
            id: r.text(0) ?? "", decision: r.text(1) ?? "", customer: r.text(2) ?? "", action: r.text(3) ?? "",
            department: r.text(4) ?? "", channel: r.text(5) ?? "", priority: r.double(6) ?? 0,
            createdAt: r.date(7) ?? Date(timeIntervalSince1970: 0), status: r.text(8).flatMap(TaskStatus.init(rawValue:)) ?? .open,
            assignee: r.text(9), statusAt: r.date(10) ?? Date(timeIntervalSince1970: 0), dueAt: r.date(11), outcome: r.text(12),
            note: r.text(13), assignedAt: r.date(14), doneAt: r.date(15), policy: r.text(16), segments: cache.segments(r.text(17)),
            fields: r.text(18))
    }
}

extension PostgresStore {
    /// Streams a queue in one read-only, repeatable-read transaction, rows as the server sends
    /// them; see `Store.tasks(department:status:limit:at:into:)`.
    public func tasks<Sink: TaskSink>(department: String?, status: TaskStatus?, limit: Int?, at now: Date,
                                      into sink: Sink) async throws -> Sink {
        let q = Schema.queue(department: department, status: status, limit: limit, now: now) { "$\($0)" }
        func query(_ sql: String) -> PostgresQuery {
            var binds = PostgresBindings()
            for v in q.values { binds.append(v) }
            return PostgresQuery(unsafeSQL: sql, binds: binds)
        }
        let count = query(q.count), rows = query(q.sql)
        return try await reading { c in
            try await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: Self.quiet)
            do {
                var sink = sink
                var n = 0
                for try await x in try await c.query(count, logger: Self.quiet).decode(Int64.self) { n = Int(x) }
                sink.expect(tasks: n)
                var cache = SegmentCache()
                for try await row in try await c.query(rows, logger: Self.quiet) {
                    try sink.task(try Self.taskRecord(row, &cache).asOf(now))
                }
                try await c.query("COMMIT", logger: Self.quiet)
                return sink
            } catch {
                _ = try? await c.query("ROLLBACK", logger: Self.quiet)
                throw error
            }
        }
    }
}
