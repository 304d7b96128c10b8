// The store: one protocol, two backends (SQLite through GRDB, PostgreSQL through postgres-nio).
import Foundation
import NextBest

/// Recorded decisions, the departments' tasks, and customers' outcomes, in SQLite or PostgreSQL.
///
/// Every write is one transaction and idempotent: recording the same decision (same id, or same
/// run and customer) or importing the same outcome (same key) again adds nothing. Open one with
/// `openStore(_:)`, which checks the store and brings its tables up to date first.
public protocol Store: Sendable {
    /// Where the store lives.
    var url: StoreURL { get }

    /// Records plans and their tasks (status `open`) in one transaction. A decision whose id, or
    /// whose run and customer, is already stored is skipped together with its tasks, and the
    /// result names the id the store keeps for it (``RecordResult/kept``).
    func record(_ decisions: [RecordedDecision]) async throws -> RecordResult

    /// Decides and records under the customers' locks, in one transaction: locks each customer
    /// (PostgreSQL: `pg_advisory_xact_lock` on ``customerLockKey(_:)``; SQLite: `BEGIN IMMEDIATE`,
    /// which holds the one write lock), reads their histories (newest first), hands them to
    /// `decide`, records the decisions it returns and commits. Two processes deciding the same
    /// customer at once therefore run one after the other, the second seeing the first's tasks.
    func recordLocked<T: Sendable>(customers: [String],
                                   _ decide: @escaping @Sendable ([String: [HistoryEntry]]) -> (decisions: [RecordedDecision], value: T))
        async throws -> (result: RecordResult, value: T)

    /// Imports checked outcome rows in one transaction. A row whose key is already stored is a
    /// duplicate; a row naming a task that does not exist (or belongs to another customer or
    /// action) is rejected. A row with a task and no channel takes the task's channel.
    func importOutcomes(_ rows: [OutcomeRow]) async throws -> OutcomeImportResult

    /// The contact histories of many customers in one query per call, newest first; only entries
    /// at or after `since` when given. Customers with no history are absent from the result.
    func history(customers: [String], since: Date?) async throws -> [String: [HistoryEntry]]

    /// The history rows of many customers made at or after `since` (one query), newest first,
    /// for deciding: times as stored text; see ``ContactRow`` and ``ContactRow/merge(_:skippingDecisions:)``.
    /// Customers with no rows are absent from the result.
    func contactRows(customers: [String], since: Date?) async throws -> [String: [ContactRow]]

    /// The decisions already recorded for `run` among `customers`: decision id by customer (a
    /// resumed run keeps them and does not take their tasks for history).
    func recordedDecisions(run: String, customers: [String]) async throws -> [String: String]

    /// What a batch run adds to the profiles of `customers`: their ``contactRows(customers:since:)``
    /// merged (``ContactRow/merge(_:skippingDecisions:)``), leaving out the tasks of `run`'s own
    /// earlier decisions (a resumed run), in one flat batch.
    func contacts(customers: [String], since: Date?, skippingRun run: String?) async throws -> ContactBatch

    /// A task by id as it stands at `now` (open past its due time reads as `expired`), or `nil`.
    func task(_ id: String, at now: Date) async throws -> TaskRecord?

    /// Streams a department's queue (or every department's) into `sink`, oldest first, as it
    /// stands at `now` (an open task past its due time reads and filters as `expired`), from one
    /// snapshot: first `expect(tasks:)` with how many follow, then each task. Returns the sink.
    func tasks<Sink: TaskSink>(department: String?, status: TaskStatus?, limit: Int?, at now: Date,
                               into sink: Sink) async throws -> Sink

    /// `open → assigned` (compare-and-set). Assigning again to the same person changes nothing;
    /// anything else throws `TaskMoveError` saying who holds the task.
    func assign(task id: String, to assignee: String, at: Date) async throws -> TaskMove

    /// `open` or `assigned` → `done`, and records the outcome (key `task:<id>`) in the same transaction.
    func done(task id: String, outcome: String, note: String?, at: Date) async throws -> TaskMove

    /// `open` or `assigned` → `cancelled`; a cancelled task no longer counts as a contact.
    func cancel(task id: String, at: Date) async throws -> TaskMove

    /// Reads the decisions, tasks and outcomes of the window `[from, to)` into `sink`, from one
    /// consistent snapshot, row by row (never all in memory): decisions by `at`, then tasks by
    /// `created_at` (as they stand at `now`), then outcomes by `at`. Returns the sink.
    func scan<Sink: StoreScanSink>(from: Date?, to: Date?, now: Date, into sink: Sink) async throws -> Sink

    /// Writes `expired` into every `open` task whose due time is before `now`; returns how many.
    /// Optional: reads already treat such tasks as expired (`TaskRecord.asOf`); this only makes
    /// the rows say so for tools reading the tables directly.
    func expire(now: Date) async throws -> Int

    /// The schema version the store is at.
    func schemaVersion() async throws -> Int

    /// How many decisions, tasks and outcomes the store holds.
    func counts() async throws -> StoreCounts

    /// Whether any task or outcome is stored, that is whether any customer has a contact history
    /// here (answered without counting).
    func holdsContacts() async throws -> Bool

    /// Closes connections; the store is not used after this.
    func close() async
}

extension Store {
    /// A task by id as it stands now, or `nil`.
    public func task(_ id: String) async throws -> TaskRecord? {
        try await task(id, at: Date())
    }

    /// A department's queue (or every department's), oldest first, as it stands at `now`, in memory.
    public func tasks(department: String?, status: TaskStatus?, limit: Int?, at now: Date) async throws -> [TaskRecord] {
        try await tasks(department: department, status: status, limit: limit, at: now, into: TaskList()).tasks
    }

    /// A department's queue (or every department's), oldest first, as it stands now.
    public func tasks(department: String?, status: TaskStatus?, limit: Int?) async throws -> [TaskRecord] {
        try await tasks(department: department, status: status, limit: limit, at: Date())
    }

    /// ``contactRows(customers:since:)`` merged into a batch.
    public func contacts(customers: [String], since: Date?, skippingRun run: String?) async throws -> ContactBatch {
        let rows = try await contactRows(customers: customers, since: since)
        var own: Set<String> = []
        if let run, !rows.isEmpty { own = Set(try await recordedDecisions(run: run, customers: customers).values) }
        var batch = ContactBatch()
        for (customer, list) in rows {
            for c in ContactRow.merge(list, skippingDecisions: own) {
                batch.append(customer: customer, PastContact(action: c.action, channel: c.channel, at: c.at, outcome: c.outcome))
            }
        }
        return batch
    }

    /// One customer's contacts and outcomes, newest first.
    public func history(customer: String) async throws -> [HistoryEntry] {
        try await history(customers: [customer], since: nil)[customer] ?? []
    }
}

/// How many rows a store's tables hold.
public struct StoreCounts: Sendable, Hashable {
    /// Recorded decisions.
    public var decisions: Int
    /// Tasks.
    public var tasks: Int
    /// Outcomes.
    public var outcomes: Int
}

/// What `openStore` did to the store's tables.
public struct MigrationReport: Sendable, Hashable {
    /// The version before (0 for a new store).
    public var from: Int
    /// The version now.
    public var to: Int
}

/// Opens a store: checks that it is a NextBest store (or new), not damaged and not newer than
/// this binary — throwing `StoreError` and changing nothing otherwise — then applies any
/// migrations it lacks.
public func openStore(_ url: StoreURL) async throws -> (store: any Store, migration: MigrationReport) {
    switch url {
    case .sqlite(let path):
        let (s, m) = try SQLiteStore.open(path: path)
        return (s, m)
    case .postgres(let location):
        let (s, m) = try await PostgresStore.open(location)
        return (s, m)
    }
}

/// The tables' version this binary writes; a store with a higher one is refused.
public let storeSchemaVersion = Schema.migrations.count
