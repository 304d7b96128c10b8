// The PostgreSQL backend, through postgres-nio: a connection pool, batches sent as arrays (unnest).
import Foundation
import Logging
import PostgresNIO

/// A store in a PostgreSQL database, shared by several processes and machines. Batches travel
/// as arrays in one statement each (`unnest`), so a batch costs a few round trips, not one per row.
public final class PostgresStore: Store {
    /// Where the store lives.
    public let url: StoreURL
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let name: String
    static let quiet = Logger(label: "nextbest.store", factory: { _ in SwiftLogNoOpLogHandler() })

    private init(location: PostgresLocation, client: PostgresClient, runner: Task<Void, Never>) {
        self.url = .postgres(location)
        self.name = location.description
        self.client = client
        self.runner = runner
    }

    private static func configuration(_ l: PostgresLocation) -> PostgresConnection.Configuration {
        var c = PostgresConnection.Configuration(host: l.host, port: l.port, username: l.user, password: l.password,
                                                 database: l.database, tls: .disable)
        c.options.connectTimeout = .seconds(10)
        return c
    }

    /// Checks the database on one connection (read-only unless it is new or older), migrates it
    /// under an advisory lock, then starts the pool.
    static func open(_ location: PostgresLocation) async throws -> (PostgresStore, MigrationReport) {
        let name = location.description
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration(location), id: 1, logger: quiet)
        } catch {
            throw mapped(error, name: name)
        }
        let report: MigrationReport
        do {
            _ = try await inspect(connection, name: name)  // refuse before writing anything
            report = try await transaction(connection, name: name) { c in
                try await c.query("SELECT pg_advisory_xact_lock(7372447823)", logger: quiet)
                let from = try await inspect(c, name: name)
                if from < Schema.migrations.count {
                    for m in Schema.migrations[from...] {
                        for statement in m { try await c.query(PostgresQuery(unsafeSQL: statement), logger: quiet) }
                    }
                    try await c.query(PostgresQuery(unsafeSQL: Schema.setVersion(Schema.migrations.count)), logger: quiet)
                }
                return MigrationReport(from: from, to: Schema.migrations.count)
            }
        } catch {
            try? await connection.close()
            throw mapped(error, name: name)
        }
        try? await connection.close()
        var config = PostgresClient.Configuration(host: location.host, port: location.port, username: location.user,
                                                  password: location.password, database: location.database, tls: .disable)
        config.options.maximumConnections = 8
        config.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: config, backgroundLogger: quiet)
        let runner = Task { await client.run() }
        return (PostgresStore(location: location, client: client, runner: runner), report)
    }

    private static func inspect(_ c: PostgresConnection, name: String) async throws -> Int {
        let rows = try await c.query("""
            SELECT table_name::text FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
            """, logger: quiet)
        var tables: [String] = []
        for try await t in rows.decode(String.self) { tables.append(t) }
        var version: String?
        if tables.contains(Schema.markerTable) {
            for try await v in try await c.query("SELECT value FROM nextbest_store WHERE key = 'schema_version'", logger: quiet)
                .decode(String.self) { version = v }
        }
        return try Schema.verdict(url: name, tables: tables, version: version)
    }

    /// Runs `body` in BEGIN ... COMMIT on one connection, rolling back when it throws.
    private static func transaction<T: Sendable>(_ c: PostgresConnection, name: String,
                                                 _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await c.query("BEGIN", logger: quiet)
        do {
            let value = try await body(c)
            try await c.query("COMMIT", logger: quiet)
            return value
        } catch {
            _ = try? await c.query("ROLLBACK", logger: quiet)
            throw error
        }
    }

    func writing<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { c in try await Self.transaction(c, name: name, body) }
        } catch {
            throw Self.mapped(error, name: name)
        }
    }

    func reading<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { c in try await body(c) }
        } catch {
            throw Self.mapped(error, name: name)
        }
    }

    /// A postgres-nio error in plain words (task move errors pass through).
    static func mapped(_ error: any Error, name: String) -> any Error {
        if error is StoreError || error is TaskMoveError || error is CancellationError { return error }
        guard let e = error as? PSQLError else { return StoreError.failed(name, "\(error)") }
        if let info = e.serverInfo, let message = info[.message] {
            let state = info[.sqlState] ?? ""
            // 08: connection, 28: authentication, 3D: no such database, 57P: server shutting down.
            if state.hasPrefix("08") || state.hasPrefix("28") || state.hasPrefix("3D") || state.hasPrefix("57P") {
                return StoreError.unreachable(name, message)
            }
            return StoreError.failed(name, message + (state.isEmpty ? "" : " (SQLSTATE \(state))"))
        }
        let why = e.underlying.map { "\($0)" } ?? "\(e.code)"
        return StoreError.unreachable(name, "the server did not answer (\(why))")
    }

    /// Text for a nullable column sent in a text array: `nil` travels as '' and is read back with NULLIF.
    private static func nullable(_ s: String?) -> String { s ?? "" }

    /// Records plans and their tasks in one transaction; see `Store.record`.
    public func record(_ decisions: [RecordedDecision]) async throws -> RecordResult {
        if decisions.isEmpty { return RecordResult() }
        return try await writing { c in try await Self.insert(decisions, c) }
    }

    /// Inserts decisions and their tasks inside the caller's transaction; see `Store.record`.
    static func insert(_ decisions: [RecordedDecision], _ c: PostgresConnection) async throws -> RecordResult {
        if decisions.isEmpty { return RecordResult() }
        let ids = decisions.map(\.id), runs = decisions.map(\.run), customers = decisions.map(\.customer)
        let revisions = decisions.map(\.revision), ats = decisions.map { StoreTime.text($0.at) }
        let plans = decisions.map(\.plan), heldOut = decisions.map { Self.nullable($0.heldOut) }
        var inserted = Set<String>()
        let rows = try await c.query("""
            INSERT INTO decisions (id, run, customer, revision, at, plan, held_out)
            SELECT id, run, customer, revision, at, plan, NULLIF(held_out, '')
            FROM unnest(\(ids)::text[], \(runs)::text[], \(customers)::text[], \(revisions)::text[], \(ats)::text[],
                        \(plans)::text[], \(heldOut)::text[]) AS u(id, run, customer, revision, at, plan, held_out)
            ON CONFLICT DO NOTHING RETURNING id
            """, logger: Self.quiet)
        for try await id in rows.decode(String.self) { inserted.insert(id) }
        var result = RecordResult()
        result.decisions = inserted.count
        result.skipped = decisions.count - inserted.count
        if result.skipped > 0 {  // the ids the store keeps for the skipped ones
            let skipped = decisions.filter { !inserted.contains($0.id) }
            let runs = skipped.map(\.run), customers = skipped.map(\.customer)
            let kept = try await c.query("""
                SELECT d.customer, d.id FROM decisions d
                JOIN unnest(\(runs)::text[], \(customers)::text[]) AS u(run, customer) ON d.run = u.run AND d.customer = u.customer
                """, logger: Self.quiet)
            for try await (customer, id) in kept.decode((String, String).self) { result.kept[customer] = id }
        }
        var t = TaskColumns()
        for d in decisions where inserted.contains(d.id) {
            let at = StoreTime.text(d.at)
            for (i, task) in d.tasks.enumerated() { t.append(d, i, task, at) }
        }
        if !t.ids.isEmpty {
            let rows = try await c.query("""
                INSERT INTO tasks (id, decision, customer, action, department, channel, priority, created_at, status,
                                   status_at, due_at, policy, segments, fields)
                SELECT id, decision, customer, action, department, channel, priority, created_at, 'open', created_at,
                       NULLIF(due_at, ''), NULLIF(policy, ''), segments, NULLIF(fields, '')
                FROM unnest(\(t.ids)::text[], \(t.decisions)::text[], \(t.customers)::text[], \(t.actions)::text[],
                            \(t.departments)::text[], \(t.channels)::text[], \(t.priorities)::float8[], \(t.createdAt)::text[],
                            \(t.dueAt)::text[], \(t.policies)::text[], \(t.segments)::text[], \(t.fields)::text[])
                     AS u(id, decision, customer, action, department, channel, priority, created_at, due_at, policy, segments, fields)
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: Self.quiet)
            for try await _ in rows.decode(Int32.self) { result.tasks += 1 }
        }
        return result
    }

    private struct TaskColumns {
        var ids: [String] = [], decisions: [String] = [], customers: [String] = [], actions: [String] = []
        var departments: [String] = [], channels: [String] = [], priorities: [Double] = [], createdAt: [String] = []
        var dueAt: [String] = [], policies: [String] = [], segments: [String] = [], fields: [String] = []

        mutating func append(_ d: RecordedDecision, _ i: Int, _ t: RecordedTask, _ at: String) {
            ids.append(d.taskID(at: i)); decisions.append(d.id); customers.append(d.customer); actions.append(t.action)
            departments.append(t.department); channels.append(t.channel); priorities.append(t.priority); createdAt.append(at)
            dueAt.append(t.dueAt.map(StoreTime.text) ?? ""); policies.append(t.policy ?? "")
            segments.append(Schema.segmentsText(t.segments)); fields.append(t.fields ?? "")
        }
    }

    /// Imports checked outcome rows in one transaction; see `Store.importOutcomes`.
    public func importOutcomes(_ rows: [OutcomeRow]) async throws -> OutcomeImportResult {
        if rows.isEmpty { return OutcomeImportResult() }
        let wanted = Array(Set(rows.compactMap(\.task)))
        return try await writing { c in
            var known: [String: (customer: String, action: String, channel: String)] = [:]
            if !wanted.isEmpty {
                let found = try await c.query("SELECT id, customer, action, channel FROM tasks WHERE id = ANY(\(wanted)::text[])",
                                              logger: Self.quiet)
                for try await (id, customer, action, channel) in found.decode((String, String, String, String).self) {
                    known[id] = (customer, action, channel)
                }
            }
            var result = OutcomeImportResult()
            var ids: [String] = [], tasks: [String] = [], customers: [String] = [], actions: [String] = []
            var channels: [String] = [], outcomes: [String] = [], ats: [String] = [], values: [String] = []
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
                ids.append(row.id); tasks.append(row.task ?? ""); customers.append(row.customer); actions.append(row.action)
                channels.append(channel ?? ""); outcomes.append(row.outcome); ats.append(StoreTime.text(row.at))
                values.append(row.value.map { "\($0)" } ?? "")
            }
            guard !ids.isEmpty else { return result }
            let inserted = try await c.query("""
                INSERT INTO outcomes (id, task, customer, action, channel, outcome, at, value)
                SELECT id, NULLIF(task, ''), customer, action, NULLIF(channel, ''), outcome, at, NULLIF(value, '')::float8
                FROM unnest(\(ids)::text[], \(tasks)::text[], \(customers)::text[], \(actions)::text[], \(channels)::text[],
                            \(outcomes)::text[], \(ats)::text[], \(values)::text[])
                     AS u(id, task, customer, action, channel, outcome, at, value)
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: Self.quiet)
            for try await _ in inserted.decode(Int32.self) { result.imported += 1 }
            result.duplicates = ids.count - result.imported
            return result
        }
    }

    /// Many customers' histories in one query, newest first; see `Store.history`.
    public func history(customers: [String], since: Date?) async throws -> [String: [HistoryEntry]] {
        if customers.isEmpty { return [:] }
        return try await reading { c in try await Self.readHistory(customers, since: since, c) }
    }

    /// Many customers' histories, newest first, on the caller's connection; see `Store.history`.
    static func readHistory(_ customers: [String], since: Date?, _ c: PostgresConnection) async throws -> [String: [HistoryEntry]] {
        let from = since.map(StoreTime.text) ?? ""
        let rows = try await c.query("""
            SELECT customer, action, channel, created_at AS at, NULL::text AS outcome, id AS task,
                   NULL::float8 AS value, 0 AS kind
              FROM tasks WHERE customer = ANY(\(customers)::text[]) AND status <> 'cancelled' AND created_at >= \(from)
            UNION ALL
            SELECT customer, action, channel, at, outcome, task, value, 1
              FROM outcomes WHERE customer = ANY(\(customers)::text[]) AND at >= \(from)
            ORDER BY 1, 4 DESC, 8 DESC, 6
            """, logger: Self.quiet)
        var out: [String: [HistoryEntry]] = [:]
        for try await (customer, action, channel, at, outcome, task, value, _) in rows.decode(
            (String, String, String?, String, String?, String?, Double?, Int32).self) {
            out[customer, default: []].append(HistoryEntry(action: action, channel: channel, at: StoreTime.stored(at),
                                                           outcome: outcome, task: task, value: value))
        }
        return out
    }

    /// Many customers' history rows since `since`, newest first; see `Store.contactRows`.
    public func contactRows(customers: [String], since: Date?) async throws -> [String: [ContactRow]] {
        if customers.isEmpty { return [:] }
        var binds = PostgresBindings()
        binds.append(customers)
        if let since { binds.append(StoreTime.text(since)) }
        let bindings = binds
        let sql = ContactRowsSQL.query(list: "(SELECT unnest($1::text[]))", since: since == nil ? nil : "$2", nullText: "NULL::text")
        return try await reading { c in
            let rows = try await c.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: Self.quiet)
            var out: [String: [ContactRow]] = [:]
            for try await (customer, action, channel, at, outcome, task, _) in rows.decode(
                (String, String, String?, String, String?, String?, Int32).self) {
                out[customer, default: []].append(ContactRow(action: action, channel: channel, at: at, outcome: outcome, task: task))
            }
            return out
        }
    }

    /// The decisions of `run` among `customers`; see `Store.recordedDecisions`.
    public func recordedDecisions(run: String, customers: [String]) async throws -> [String: String] {
        if customers.isEmpty { return [:] }
        return try await reading { c in
            let rows = try await c.query("SELECT customer, id FROM decisions WHERE run = \(run) AND customer = ANY(\(customers)::text[])",
                                         logger: Self.quiet)
            var out: [String: String] = [:]
            for try await (customer, id) in rows.decode((String, String).self) { out[customer] = id }
            return out
        }
    }

    /// A task by id, as it stands at `now`.
    public func task(_ id: String, at now: Date) async throws -> TaskRecord? {
        try await reading { c in try await Self.fetchTask(c, id)?.asOf(now) }
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

    /// Carries out a move in one transaction (see `TaskMoveSpec`); a concurrent move of the same
    /// task waits for the row lock and then finds the task moved.
    private func move(_ m: TaskMoveSpec) async throws -> TaskMove {
        try await writing { c in
            let dollar: (Int) -> String = { "$\($0)" }
            @discardableResult
            func run(_ statement: (sql: String, values: [String?])) async throws -> Int {
                var binds = PostgresBindings()
                for v in statement.values { if let v { binds.append(v) } else { binds.appendNull() } }
                return try await Self.count(c.query(PostgresQuery(unsafeSQL: statement.sql + " RETURNING 1", binds: binds),
                                                    logger: Self.quiet))
            }
            try await run(m.expiry(dollar))
            let changed = try await run(m.update(dollar)) == 1
            let result = try m.verdict(changed: changed, task: try await Self.fetchTask(c, m.id))
            if changed, let insert = m.outcomeInsert(result.task, dollar) { try await run(insert) }
            return result
        }
    }

    /// Reads a window into `sink` in one read-only, repeatable-read transaction (one snapshot),
    /// rows streamed from the server as they are consumed; see `Store.scan`.
    public func scan<Sink: StoreScanSink>(from: Date?, to: Date?, now: Date, into sink: Sink) async throws -> Sink {
        try await reading { c in
            try await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: Self.quiet)
            do {
                var sink = sink
                func query(_ sql: String, _ values: [String]) -> PostgresQuery {
                    var binds = PostgresBindings()
                    for v in values { binds.append(v) }
                    return PostgresQuery(unsafeSQL: sql, binds: binds)
                }
                let dollar: (Int) -> String = { "$\($0)" }
                let d = Schema.window("at", from: from, to: to, first: 1, dollar)
                for try await n in try await c.query(query("SELECT count(*) FROM decisions" + d.sql, d.values), logger: Self.quiet)
                    .decode(Int64.self) { sink.expect(decisions: Int(n)) }
                var cache = SegmentCache()
                let decisions = try await c.query(query("SELECT \(Schema.scanDecisionColumnsPostgres) FROM decisions" + d.sql, d.values),
                                                  logger: Self.quiet)
                for try await (id, run, customer, revision, at, segments, holdout, heldOut) in decisions.decode(
                    (String, String, String, String, String, String?, String?, String?).self) {
                    try sink.decision(ScannedDecision(id: id, run: run, customer: customer, revision: revision,
                                                      at: StoreTime.stored(at), segments: cache.segments(segments),
                                                      holdout: holdout, heldOut: HeldOutAction.list(from: heldOut)))
                }
                let t = Schema.window("created_at", from: from, to: to, first: 1, dollar)
                for try await row in try await c.query(query("SELECT \(Schema.taskColumns) FROM tasks" + t.sql, t.values),
                                                       logger: Self.quiet) {
                    try sink.task(try Self.taskRecord(row, &cache).asOf(now))
                }
                let o = Schema.window("at", from: from, to: to, first: 1, dollar)
                let outcomes = try await c.query(query("SELECT \(Schema.scanOutcomeColumns) FROM outcomes" + o.sql, o.values),
                                                 logger: Self.quiet)
                for try await (id, task, customer, action, channel, outcome, at, value) in outcomes.decode(
                    (String, String?, String, String, String?, String, String, Double?).self) {
                    try sink.outcome(OutcomeRow(id: id, task: task, customer: customer, action: action, channel: channel,
                                                outcome: outcome, at: StoreTime.stored(at), value: value))
                }
                try await c.query("COMMIT", logger: Self.quiet)
                return sink
            } catch {
                _ = try? await c.query("ROLLBACK", logger: Self.quiet)
                throw error
            }
        }
    }

    /// Expires open tasks past their due time.
    public func expire(now: Date) async throws -> Int {
        let t = StoreTime.text(now)
        return try await writing { c in
            try await Self.count(c.query("""
                UPDATE tasks SET status = 'expired', status_at = due_at WHERE status = 'open' AND due_at < \(t) RETURNING 1
                """, logger: Self.quiet))
        }
    }

    /// The schema version.
    public func schemaVersion() async throws -> Int {
        try await reading { c in
            var v = 0
            for try await text in try await c.query("SELECT value FROM nextbest_store WHERE key = 'schema_version'",
                                                    logger: Self.quiet).decode(String.self) { v = Int(text) ?? 0 }
            return v
        }
    }

    /// Row counts.
    public func counts() async throws -> StoreCounts {
        try await reading { c in
            var out = StoreCounts(decisions: 0, tasks: 0, outcomes: 0)
            for try await (d, t, o) in try await c.query(PostgresQuery(unsafeSQL: Schema.countsSQL), logger: Self.quiet)
                .decode((Int64, Int64, Int64).self) { out = StoreCounts(decisions: Int(d), tasks: Int(t), outcomes: Int(o)) }
            return out
        }
    }

    /// Whether any task or outcome is stored; see `Store.holdsContacts`.
    public func holdsContacts() async throws -> Bool {
        try await reading { c in
            var any = false
            for try await n in try await c.query(PostgresQuery(unsafeSQL: Schema.holdsContactsSQL), logger: Self.quiet)
                .decode(Int32.self) { any = n == 1 }
            return any
        }
    }

    /// Stops the pool.
    public func close() async {
        runner.cancel()
        await runner.value
    }

    private static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var n = 0
        for try await _ in rows { n += 1 }
        return n
    }

    private static func fetchTask(_ c: PostgresConnection, _ id: String) async throws -> TaskRecord? {
        let rows = try await c.query("SELECT \(unescaped: Schema.taskColumns) FROM tasks WHERE id = \(id)", logger: quiet)
        var out: TaskRecord?
        var cache = SegmentCache()
        for try await row in rows { out = try taskRecord(row, &cache) }
        return out
    }

    static func taskRecord(_ row: PostgresRow, _ cache: inout SegmentCache) throws -> TaskRecord {
        let r = row.makeRandomAccess()
        func s(_ i: Int) throws -> String { try r[i].decode(String.self) }
        func o(_ i: Int) throws -> String? { try r[i].decode(String?.self) }
        func d(_ i: Int) throws -> Date? { try o(i).map(StoreTime.stored) }
        return TaskRecord(
            id: try s(0), decision: try s(1), customer: try s(2), action: try s(3), department: try s(4), channel: try s(5),
            priority: try r[6].decode(Double.self), createdAt: StoreTime.stored(try s(7)),
            status: TaskStatus(rawValue: try s(8)) ?? .open, assignee: try o(9), statusAt: StoreTime.stored(try s(10)),
            dueAt: try d(11), outcome: try o(12), note: try o(13), assignedAt: try d(14), doneAt: try d(15),
            policy: try o(16), segments: cache.segments(try o(17)), fields: try o(18))
    }
}
