// The backends the store suite runs against: SQLite always, PostgreSQL when NEXTBEST_TEST_POSTGRES is set.
import Foundation
import GRDB
import Logging
import PostgresNIO
import Testing
@testable import NextBestStore

/// A store backend under test.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The PostgreSQL server's URL from `NEXTBEST_TEST_POSTGRES`, if set.
    static var postgresURL: PostgresLocation? {
        guard let text = ProcessInfo.processInfo.environment["NEXTBEST_TEST_POSTGRES"], !text.isEmpty,
              case .postgres(let l) = try? StoreURL(text) else { return nil }
        return l
    }

    /// SQLite, and PostgreSQL when a server is given.
    static var available: [Backend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }
}

private let quiet = Logger(label: "tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// A fresh, empty place for a store: a new SQLite path in a temporary folder, or a new
/// PostgreSQL database on the test server. `cleanup` removes it.
struct FreshPlace: Sendable {
    var url: StoreURL
    var backend: Backend
    private var dropDatabase: String?

    static func make(_ backend: Backend) async throws -> FreshPlace {
        switch backend {
        case .sqlite:
            let dir = NSTemporaryDirectory() + "nextbest-store-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return FreshPlace(url: .sqlite(path: dir + "/store.db"), backend: .sqlite, dropDatabase: nil)
        case .postgres:
            let base = try #require(Backend.postgresURL)
            let name = "nbt_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try await admin(base, "CREATE DATABASE \(name)")
            var l = base
            l.database = String(name)
            return FreshPlace(url: .postgres(l), backend: .postgres, dropDatabase: String(name))
        }
    }

    /// Removes the place (the folder, or the database).
    func cleanup() async {
        switch url {
        case .sqlite(let path):
            try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
        case .postgres:
            if let name = dropDatabase, let base = Backend.postgresURL {
                try? await admin(base, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            }
        }
    }

    /// Runs SQL on the place directly (not through the store), returning rows as text.
    func sql(_ statement: String) async throws -> [[String?]] {
        switch url {
        case .sqlite(let path):
            return try sqliteRows(path: path, statement)
        case .postgres(let l):
            return try await admin(l, statement)
        }
    }
}

/// Runs one statement on a PostgreSQL database; every column is read as text.
@discardableResult
func admin(_ l: PostgresLocation, _ statement: String) async throws -> [[String?]] {
    let config = PostgresConnection.Configuration(host: l.host, port: l.port, username: l.user, password: l.password,
                                                  database: l.database, tls: .disable)
    let c = try await PostgresConnection.connect(configuration: config, id: 1, logger: quiet)
    do {
        var out: [[String?]] = []
        for try await row in try await c.query(PostgresQuery(unsafeSQL: statement), logger: quiet) {
            let r = row.makeRandomAccess()
            out.append(try (0..<r.count).map { i in try r[i].decode(String?.self) })
        }
        try await c.close()
        return out
    } catch {
        try? await c.close()
        throw error
    }
}

/// Runs `body` with a fresh, migrated store of each backend and removes it afterwards.
func withStore(_ backend: Backend, _ body: (any Store, FreshPlace) async throws -> Void) async throws {
    let place = try await FreshPlace.make(backend)
    do {
        let (store, _) = try await openStore(place.url)
        do { try await body(store, place) } catch { await store.close(); throw error }
        await store.close()
    } catch {
        await place.cleanup()
        throw error
    }
    await place.cleanup()
}

/// Decisions for tests: `n` customers `C0001`... in one run, each with `tasksEach` tasks.
func decisions(run: String, customers: [String], at: Date, ids: IDs = IDs(), tasksEach: Int = 1,
               department: String = "marketing", dueAt: Date? = nil) -> [RecordedDecision] {
    customers.map { c in
        RecordedDecision(
            id: ids.next(), run: run, customer: c, revision: "abc123", at: at, plan: "{\"customer\":\"\(c)\"}",
            tasks: (0..<tasksEach).map { i in
                RecordedTask(action: i == 0 ? "invite_webinar" : "call_back", department: department,
                             channel: i == 0 ? "email" : "phone", priority: 50 - Double(i), dueAt: dueAt,
                             policy: "p1", segments: ["high_value"], fields: "{\"name\":\"N \(c)\"}")
            })
    }
}

/// Time-ordered ids for tests (the core's generator is not a dependency of the store).
final class IDs: @unchecked Sendable {
    private var n = 0
    private let prefix = String(UUID().uuidString.prefix(8))
    func next() -> String {
        n += 1
        return "\(prefix)-\(String(format: "%08d", n))"
    }
}

/// A time from ISO text (tests only).
func t(_ text: String) -> Date { StoreTime.date(text)! }

/// Runs one statement on an SQLite file directly; every column as text.
func sqliteRows(path: String, _ statement: String) throws -> [[String?]] {
    let q = try DatabaseQueue(path: path)
    defer { try? q.close() }
    return try q.write { db in
        try Row.fetchAll(db, sql: statement).map { row in (0..<row.count).map { i in row[i].map { "\($0)" } } }
    }
}

/// Runs `body` with a fresh, empty place (no store opened) and removes it afterwards.
func withPlace(_ backend: Backend, _ body: (FreshPlace) async throws -> Void) async throws {
    let place = try await FreshPlace.make(backend)
    do { try await body(place) } catch { await place.cleanup(); throw error }
    await place.cleanup()
}

/// The result of an async throwing call.
func attempt<T: Sendable>(_ f: @Sendable () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await f()) } catch { return .failure(error) }
}
