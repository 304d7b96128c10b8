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
    private let pool: DatabasePool
    private let name: String

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

    /// How this store's batch reads went when they read a range of customer ids (see `readContacts`).
    private let ranges = RangeReads()

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
