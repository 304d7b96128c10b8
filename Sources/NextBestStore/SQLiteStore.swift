// The SQLite backend, through GRDB: WAL mode, a busy timeout, one transaction per batch.
import Foundation
import NextBest
import GRDB
import CNextBestSQLite
import Synchronization

/// A store in an SQLite file. Several processes may write it at once: a writer waits (up to
/// `busyTimeout`) for another's transaction to end instead of failing with "database is locked".
public final class SQLiteStore: Store {
    /// Where the store lives.
    public let url: StoreURL
    let pool: DatabasePool
    let name: String
    /// How this store's batch reads went when they read a range of customer ids (see `readContacts`).
    let ranges = RangeReads()

    /// How long a writer waits for another process's transaction, in seconds.
    public static let busyTimeout: TimeInterval = 120

    private init(path: String, pool: DatabasePool) {
        self.url = .sqlite(path: path)
        self.name = "sqlite:" + path
        self.pool = pool
    }

    /// Made once, before the process's first connection: no memory statistics (each of SQLite's
    /// allocations would otherwise take a process-wide lock; 4% of a `--record` run's samples),
    /// statement journals in memory (`nb_sqlite_configure`).
    private static let processSettings: Bool = nb_sqlite_configure() != 0

    /// The page size of a new store's file, in bytes.
    static let pageSize = 16_384

    /// Checks the file without writing to it, then opens it (WAL) and brings its tables up to date.
    static func open(path: String) throws(StoreError) -> (SQLiteStore, MigrationReport) {
        _ = processSettings
        let name = "sqlite:" + path
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        if let type = attrs?[.type] as? FileAttributeType, type == .typeDirectory {
            throw .unreachable(name, "it is a folder, not a file")
        }
        var current = false
        if let size = attrs?[.size] as? Int, size > 0 {
            // A read-only look first: a file that is not ours, damaged or newer is never written.
            do {
                var probe = Configuration()
                probe.readonly = true
                probe.busyMode = .timeout(busyTimeout)
                let queue = try DatabaseQueue(path: path, configuration: probe)
                let version = try queue.read { db in try Self.inspect(db, name: name) }
                try queue.close()
                current = version == Schema.migrations.count
            } catch let e as StoreError {
                throw e
            } catch {
                throw Self.mapped(error, name: name)
            }
        } else if attrs == nil || (attrs?[.size] as? Int) == 0 {
            // A new store gets 16 KiB pages (SQLite's default is 4 KiB): its random-keyed indexes
            // (outcome ids, customers) are shallower and a commit writes fewer WAL frames, which
            // makes bulk imports and recording markedly faster. The size can only be chosen
            // before WAL mode is entered, so it is set on a plain connection first.
            do {
                var plain = Configuration()
                plain.busyMode = .timeout(busyTimeout)  // another process may be creating it too
                let queue = try DatabaseQueue(path: path, configuration: plain)
                try queue.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA page_size = \(pageSize)")
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                }
                try queue.close()
            } catch {
                throw Self.mapped(error, name: name)
            }
        }
        do {
            var config = Configuration()
            config.busyMode = .timeout(busyTimeout)
            config.foreignKeysEnabled = true
            config.prepareDatabase { db in
                // A commit survives the process being killed (WAL; synced at checkpoints), and the page
                // cache holds a big batch's index pages (32 MiB at most, taken only as used).
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                try db.execute(sql: "PRAGMA cache_size = -32768")
                // Reads map the file instead of copying each page into the connection's cache.
                try db.execute(sql: "PRAGMA mmap_size = \(Self.mapBytes)")
            }
            let pool = try DatabasePool(path: path, configuration: config)
            // Up to date: no write lock is taken, so opening never waits behind another writer.
            if current {
                let n = Schema.migrations.count
                return (SQLiteStore(path: path, pool: pool), MigrationReport(from: n, to: n))
            }
            let report = try pool.writeWithoutTransaction { db -> MigrationReport in
                var report = MigrationReport(from: 0, to: 0)
                try db.inTransaction(.immediate) {
                    let from = try Self.inspect(db, name: name)
                    report = MigrationReport(from: from, to: Schema.migrations.count)
                    guard from < Schema.migrations.count else { return .commit }
                    for m in Schema.migrations[from...] {
                        for statement in m { try db.execute(sql: statement) }
                    }
                    try db.execute(sql: Schema.setVersion(Schema.migrations.count))
                    return .commit
                }
                return report
            }
            return (SQLiteStore(path: path, pool: pool), report)
        } catch let e as StoreError {
            throw e
        } catch {
            throw Self.mapped(error, name: name)
        }
    }

    /// The store's version, or 0 for an empty database; throws when it must not be touched.
    private static func inspect(_ db: Database, name: String) throws -> Int {
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        var version: String?
        if tables.contains(Schema.markerTable) {
            version = try String.fetchOne(db, sql: "SELECT value FROM nextbest_store WHERE key = 'schema_version'")
        }
        return try Schema.verdict(url: name, tables: tables, version: version)
    }

    /// A GRDB error in plain words.
    static func mapped(_ error: any Error, name: String) -> StoreError {
        if let e = error as? StoreError { return e }
        guard let d = error as? DatabaseError else { return .failed(name, "\(error)") }
        switch d.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return .corrupt(name, d.message ?? "file is not a database")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return .failed(name, "another process kept it busy for over \(Int(busyTimeout)) seconds; try again")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_FULL:
            return .unreachable(name, d.message ?? "\(d.resultCode)")
        default:
            return .failed(name, d.message ?? "\(d.resultCode)")
        }
    }

    /// Runs `body` in one immediate transaction on the writer connection. `unchecked`: the
    /// connection evaluates no foreign key and no CHECK constraint meanwhile (both settings must be
    /// made outside a transaction), for writes whose rows satisfy them by construction. The
    /// settings stay until a write asks for the other kind: changing them makes SQLite prepare
    /// every statement again, so a recording run's batches keep theirs.
    func writing<T: Sendable>(unchecked: Bool = false, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                if writerUnchecked.withLock({ $0 }) != unchecked {
                    try db.execute(sql: unchecked ? "PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON"
                                                  : "PRAGMA foreign_keys = ON; PRAGMA ignore_check_constraints = OFF")
                    writerUnchecked.withLock { $0 = unchecked }
                }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let e as TaskMoveError {
            throw e
        } catch {
            throw Self.mapped(error, name: name)
        }
    }

    /// Whether the writer connection is set to check no foreign key and no CHECK (see `writing`).
    private let writerUnchecked = Mutex(false)

    func reading<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch { throw Self.mapped(error, name: name) }
    }

    /// How much of the file reads map (`PRAGMA mmap_size`): history reads of a large store
    /// then cost no copy per page.
    static let mapBytes = 1 << 30

    /// Imports checked outcome rows in one transaction; see `Store.importOutcomes`.
    public func importOutcomes(_ rows: [OutcomeRow]) async throws -> OutcomeImportResult {
        try await writing { db in
            var known: [String: (customer: String, action: String, channel: String)] = [:]
            let wanted = Array(Set(rows.compactMap(\.task)))
            if !wanted.isEmpty {
                let found = try Row.fetchAll(db, sql: "SELECT id, customer, action, channel FROM tasks WHERE id IN (SELECT value FROM json_each(?))",
                                             arguments: [Schema.jsonArray(wanted)])
                for r in found { known[r[0]] = (r[1], r[2], r[3]) }
            }
            var result = OutcomeImportResult()
            let insert = try BulkStatement(db, """
                INSERT INTO outcomes (id, task, customer, action, channel, outcome, at, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """)
            for (i, row) in rows.enumerated() {
                var channel = row.channel
                if let t = row.task {
                    guard let task = known[t] else { result.rejected.append((i, OutcomeCheck.noTask(t))); continue }
                    if let why = OutcomeCheck.mismatch(row, taskCustomer: task.customer, taskAction: task.action) {
                        result.rejected.append((i, why))
                        continue
                    }
                    if channel == nil { channel = task.channel }
                }
                insert.bind(1, row.id); insert.bind(2, row.task); insert.bind(3, row.customer); insert.bind(4, row.action)
                insert.bind(5, channel); insert.bind(6, row.outcome); insert.bind(7, StoreTime.text(row.at))
                insert.bind(8, row.value)
                if try insert.execute() == 1 { result.imported += 1 } else { result.duplicates += 1 }
            }
            return result
        }
    }

    /// A task by id, as it stands at `now`.
    public func task(_ id: String, at now: Date) async throws -> TaskRecord? {
        try await reading { db in try Self.fetchTask(db, id)?.asOf(now) }
    }

    /// `open → assigned`, compare-and-set.
    public func assign(task id: String, to assignee: String, at: Date) async throws -> TaskMove {
        try await move(TaskMoveSpec(id, .assign(to: assignee), at: at))
    }

    /// `open`/`assigned` → `done`, with its outcome recorded.
    public func done(task id: String, outcome: String, note: String?, at: Date) async throws -> TaskMove {
        try await move(TaskMoveSpec(id, .done(outcome: outcome, note: note), at: at))
    }

    /// `open`/`assigned` → `cancelled`.
    public func cancel(task id: String, at: Date) async throws -> TaskMove {
        try await move(TaskMoveSpec(id, .cancel, at: at))
    }

    /// Carries out a move in one immediate transaction (see `TaskMoveSpec`).
    private func move(_ m: TaskMoveSpec) async throws -> TaskMove {
        try await writing { db in
            func run(_ statement: (sql: String, values: [String?])) throws {
                try db.execute(sql: statement.sql, arguments: StatementArguments(statement.values))
            }
            try run(m.expiry { _ in "?" })
            try run(m.update { _ in "?" })
            let changed = db.changesCount == 1
            let result = try m.verdict(changed: changed, task: try Self.fetchTask(db, m.id))
            if changed, let insert = m.outcomeInsert(result.task, { _ in "?" }) { try run(insert) }
            return result
        }
    }

    /// Reads a window into `sink` inside one read transaction (one snapshot); see `Store.scan`.
    public func scan<Sink: StoreScanSink>(from: Date?, to: Date?, now: Date, into sink: Sink) async throws -> Sink {
        try await reading { db in
            var sink = sink
            let q: (Int) -> String = { _ in "?" }
            let d = Schema.window("at", from: from, to: to, first: 1, q)
            sink.expect(decisions: try Int.fetchOne(db, sql: "SELECT count(*) FROM decisions" + d.sql,
                                                    arguments: StatementArguments(d.values)) ?? 0)
            var cache = SegmentCache()
            let decisions = try Row.fetchCursor(db, sql: "SELECT \(Schema.scanDecisionColumnsSQLite) FROM decisions" + d.sql,
                                                arguments: StatementArguments(d.values))
            while let r = try decisions.next() {
                try sink.decision(ScannedDecision(
                    id: r[0], run: r[1], customer: r[2], revision: r[3], at: StoreTime.stored(r[4]),
                    segments: cache.segments(r[5]), holdout: r[6], heldOut: HeldOutAction.list(from: r[7])))
            }
            let t = Schema.window("created_at", from: from, to: to, first: 1, q)
            let tasks = try Row.fetchCursor(db, sql: "SELECT \(Schema.taskColumns) FROM tasks" + t.sql,
                                            arguments: StatementArguments(t.values))
            while let r = try tasks.next() { try sink.task(Self.taskRecord(r, &cache).asOf(now)) }
            let o = Schema.window("at", from: from, to: to, first: 1, q)
            let outcomes = try Row.fetchCursor(db, sql: "SELECT \(Schema.scanOutcomeColumns) FROM outcomes" + o.sql,
                                               arguments: StatementArguments(o.values))
            while let r = try outcomes.next() {
                try sink.outcome(OutcomeRow(id: r[0] as String, task: r[1], customer: r[2], action: r[3], channel: r[4],
                                             outcome: r[5], at: StoreTime.stored(r[6]), value: r[7]))
            }
            return sink
        }
    }

    /// Expires open tasks past their due time.
    public func expire(now: Date) async throws -> Int {
        let t = StoreTime.text(now)
        return try await writing { db in
            try db.execute(sql: "UPDATE tasks SET status = 'expired', status_at = due_at WHERE status = 'open' AND due_at < ?",
                           arguments: [t])
            return db.changesCount
        }
    }

    /// The schema version.
    public func schemaVersion() async throws -> Int {
        try await reading { db in
            Int(try String.fetchOne(db, sql: "SELECT value FROM nextbest_store WHERE key = 'schema_version'") ?? "") ?? 0
        }
    }

    /// Row counts.
    public func counts() async throws -> StoreCounts {
        try await reading { db in
            let r = try Row.fetchOne(db, sql: Schema.countsSQL)!
            return StoreCounts(decisions: r[0], tasks: r[1], outcomes: r[2])
        }
    }

    /// Whether any task or outcome is stored; see `Store.holdsContacts`.
    public func holdsContacts() async throws -> Bool {
        try await reading { db in try Int.fetchOne(db, sql: Schema.holdsContactsSQL) == 1 }
    }

    /// Closes the file.
    public func close() async {
        try? pool.close()
    }

    private static func fetchTask(_ db: Database, _ id: String) throws -> TaskRecord? {
        var cache = SegmentCache()
        return try Row.fetchOne(db, sql: "SELECT \(Schema.taskColumns) FROM tasks WHERE id = ?", arguments: [id])
            .map { taskRecord($0, &cache) }
    }

    private static func taskRecord(_ r: Row, _ cache: inout SegmentCache) -> TaskRecord {
        func date(_ i: Int) -> Date? { (r[i] as String?).map(StoreTime.stored) }
        return TaskRecord(
            id: r[0], decision: r[1], customer: r[2], action: r[3], department: r[4], channel: r[5], priority: r[6],
            createdAt: StoreTime.stored(r[7]), status: TaskStatus(rawValue: r[8]) ?? .open, assignee: r[9],
            statusAt: StoreTime.stored(r[10]), dueAt: date(11), outcome: r[12], note: r[13], assignedAt: date(14),
            doneAt: date(15), policy: r[16], segments: cache.segments(r[17]), fields: r[18])
    }
}
