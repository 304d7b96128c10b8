// Where a store lives: parsing `--store` URLs (sqlite:PATH, a path ending in .db, postgres://...).
import Foundation

/// A store's location, as given to `--store`.
///
/// - `sqlite:PATH` or a path ending in `.db`: an SQLite file (created when missing).
/// - `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` (or `postgresql://`): a PostgreSQL database;
///   the password may also come from the `PGPASSWORD` environment variable.
public enum StoreURL: Sendable, Hashable, CustomStringConvertible {
    /// An SQLite file at a path.
    case sqlite(path: String)
    /// A PostgreSQL database.
    case postgres(PostgresLocation)

    /// Parses a `--store` value; `environment` supplies `PGPASSWORD` when the URL has no password.
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { throw .badURL(text, "it is empty") }
        if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }  // sqlite:///abs/path or sqlite://rel
            if path.isEmpty { throw .badURL(text, "sqlite: needs a file path after it, as in sqlite:history.db") }
            self = .sqlite(path: path)
            return
        }
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(parsing: trimmed, environment: environment))
            return
        }
        if trimmed.lowercased().hasSuffix(".db") && !trimmed.contains("://") {
            self = .sqlite(path: trimmed)
            return
        }
        throw .badURL(text, "use sqlite:PATH, a file name ending in .db, or postgres://USER@HOST[:PORT]/DATABASE")
    }

    /// The URL for messages, without any password.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:" + path
        case .postgres(let p): return p.description
        }
    }
}

/// Where a PostgreSQL store lives.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// The user name.
    public var user: String
    /// The password, from the URL or `PGPASSWORD`; `nil` when neither gives one.
    public var password: String?
    /// The server's host name or address.
    public var host: String
    /// The server's port (5432 unless given).
    public var port: Int
    /// The database name.
    public var database: String

    /// A location from its parts.
    public init(user: String, password: String?, host: String, port: Int = 5432, database: String) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
    }

    init(parsing text: String, environment: [String: String]) throws(StoreError) {
        var rest = Substring(text)
        rest = rest.drop(while: { $0 != ":" }).dropFirst(3)  // after "postgres://"
        if let q = rest.firstIndex(of: "?") {
            throw .badURL(text, "options after '?' (\(rest[rest.index(after: q)...])) are not supported")
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw .badURL(text, "it names no database; write postgres://USER@HOST[:PORT]/DATABASE")
        }
        let database = String(rest[rest.index(after: slash)...])
        if database.isEmpty || database.contains("/") {
            throw .badURL(text, "the database name after the host is missing or has a '/' in it")
        }
        let authority = rest[..<slash]
        guard let at = authority.lastIndex(of: "@") else {
            throw .badURL(text, "it names no user; write postgres://USER@HOST[:PORT]/DATABASE")
        }
        let userInfo = authority[..<at]
        let hostPort = authority[authority.index(after: at)...]
        var user = String(userInfo)
        var password: String?
        if let colon = userInfo.firstIndex(of: ":") {
            user = String(userInfo[..<colon])
            password = String(userInfo[userInfo.index(after: colon)...])
        }
        user = user.removingPercentEncoding ?? user
        password = password.map { $0.removingPercentEncoding ?? $0 }
        if user.isEmpty { throw .badURL(text, "the user name before '@' is empty") }
        var host = String(hostPort)
        var port = 5432
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            host = String(hostPort[..<colon])
            let portText = hostPort[hostPort.index(after: colon)...]
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw .badURL(text, "the port '\(portText)' is not a number from 1 to 65535")
            }
            port = p
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { throw .badURL(text, "the host name after '@' is empty") }
        self.init(user: user, password: password ?? environment["PGPASSWORD"], host: host, port: port,
                  database: database.removingPercentEncoding ?? database)
    }

    /// The URL without its password.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(h):\(port)/\(database)"
    }
}
