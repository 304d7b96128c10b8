// Test support: fresh stores for a served service (an SQLite file, or a new database on the test PostgreSQL server).
import Foundation
import Logging
import NextBestStore
import PostgresNIO

private let quiet = Logger(label: "tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// The PostgreSQL server from `NEXTBEST_TEST_POSTGRES` (set by scripts/test), if any.
let testPostgres: PostgresLocation? = {
    guard let text = ProcessInfo.processInfo.environment["NEXTBEST_TEST_POSTGRES"], !text.isEmpty,
          case .postgres(let l) = try? StoreURL(text) else { return nil }
    return l
}()

/// A fresh place for a store, given to `serve --store` as `argument`; `remove()` deletes it.
struct FreshStore {
    var url: StoreURL
    var argument: String
    private var database: String?

    /// A new SQLite file in a temporary folder.
    static func sqlite() throws -> FreshStore {
        let path = try temporaryDirectory() + "/store.db"
        return FreshStore(url: .sqlite(path: path), argument: "sqlite:" + path, database: nil)
    }

    /// A new database on the test PostgreSQL server.
    static func postgres(_ base: PostgresLocation) async throws -> FreshStore {
        let name = "nbs_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await pgAdmin(base, "CREATE DATABASE \(name)")
        var l = base
        l.database = String(name)
        let password = l.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        return FreshStore(url: .postgres(l), argument: "postgres://\(l.user)\(password)@\(l.host):\(l.port)/\(name)",
                          database: String(name))
    }

    /// Opens the store (as a user of the store API would) and runs `body` with it.
    func with<T>(_ body: (any Store) async throws -> T) async throws -> T {
        let (store, _) = try await openStore(url)
        do {
            let value = try await body(store)
            await store.close()
            return value
        } catch {
            await store.close()
            throw error
        }
    }

    /// Deletes the file or drops the database.
    func remove() async {
        switch url {
        case .sqlite(let path): try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
        case .postgres:
            if let database, let base = testPostgres { try? await pgAdmin(base, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        }
    }
}

/// Runs one statement on the server's own database.
func pgAdmin(_ l: PostgresLocation, _ statement: String) async throws {
    let config = PostgresConnection.Configuration(host: l.host, port: l.port, username: l.user, password: l.password,
                                                  database: l.database, tls: .disable)
    let c = try await PostgresConnection.connect(configuration: config, id: 1, logger: quiet)
    do {
        try await c.query(PostgresQuery(unsafeSQL: statement), logger: quiet)
        try await c.close()
    } catch {
        try? await c.close()
        throw error
    }
}
