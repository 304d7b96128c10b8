// Bulk SQLite writes and reads through a prepared statement's own handle: values bound and read as bytes, no per-row boxing.
import Foundation
import GRDB
import GRDBSQLite

/// A prepared statement (cached by GRDB on its connection) driven through SQLite's C interface:
/// bind each value, `step`, `reset`, and again — the statement is compiled once per connection.
/// Only inside a `Database` access block (the connection's thread).
struct BulkStatement {
    private let statement: Statement
    fileprivate let handle: OpaquePointer
    private let connection: OpaquePointer?

    /// The statement for `sql`, from the connection's cache.
    init(_ db: Database, _ sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection
        sqlite3_reset(handle)
    }

    /// SQLite copies the bytes it is given (they are Swift's and may move).
    private static var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

    /// Binds text (or NULL) to the 1-based parameter `i`.
    func bind(_ i: Int32, _ value: String?) {
        guard var value else { sqlite3_bind_null(handle, i); return }
        _ = value.withUTF8 { u in
            if let base = u.baseAddress {
                base.withMemoryRebound(to: CChar.self, capacity: u.count) { sqlite3_bind_text(handle, i, $0, Int32(u.count), Self.transient) }
            } else {
                sqlite3_bind_text(handle, i, "", 0, Self.transient)
            }
        }
    }

    /// Binds UTF-8 bytes as text to the 1-based parameter `i`.
    func bind(_ i: Int32, bytes u: UnsafeRawBufferPointer) {
        if let base = u.baseAddress, u.count > 0 {
            sqlite3_bind_text(handle, i, base.assumingMemoryBound(to: CChar.self), Int32(u.count), Self.transient)
        } else {
            sqlite3_bind_text(handle, i, "", 0, Self.transient)
        }
    }

    /// Binds a number (or NULL) to the 1-based parameter `i`.
    func bind(_ i: Int32, _ value: Double?) {
        if let value { sqlite3_bind_double(handle, i, value) } else { sqlite3_bind_null(handle, i) }
    }

    /// Runs a statement that returns no rows; returns how many rows it changed, and is ready again.
    @discardableResult
    func execute() throws -> Int {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw error(code) }
        return Int(sqlite3_changes(connection))
    }

    /// Steps to the next row of a query: `true` when there is one (read it with `text`, `double`).
    func next() throws -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        sqlite3_reset(handle)
        if code == SQLITE_DONE { return false }
        throw error(code)
    }

    /// Ends a query early; the statement is ready again.
    func reset() { sqlite3_reset(handle) }

    /// The current row's 0-based column `i` as UTF-8 bytes (valid until the next step), `nil` for NULL.
    func bytes(_ i: Int32) -> UnsafeRawBufferPointer? {
        guard sqlite3_column_type(handle, i) != SQLITE_NULL, let p = sqlite3_column_text(handle, i) else { return nil }
        return UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, i)))
    }

    /// The current row's column `i` as text, `nil` for NULL.
    func text(_ i: Int32) -> String? {
        bytes(i).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The current row's column `i` as a number, `nil` for NULL.
    func double(_ i: Int32) -> Double? {
        sqlite3_column_type(handle, i) == SQLITE_NULL ? nil : sqlite3_column_double(handle, i)
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }
}

/// The parameters of a multi-row statement, gathered first: texts go into one buffer and are
/// bound where they lie (SQLite reads them in place while the statement runs, no copy each).
struct RowParameters {
    private enum Item { case text(Int, Int), null, number(Double) }
    private var bytes: [UInt8] = []
    private var items: [Item] = []

    /// How many parameters are gathered.
    var count: Int { items.count }

    /// The next parameter: text, or NULL.
    mutating func text(_ s: String?) {
        guard let s else { items.append(.null); return }
        let start = bytes.count
        bytes.append(contentsOf: s.utf8)
        items.append(.text(start, bytes.count - start))
    }

    /// The next parameter: a task's id, `"<decision id>-<position from 1>"` (as
    /// `RecordedDecision.taskID(at:)`, without making a string).
    mutating func taskID(_ decision: String, at index: Int) {
        let start = bytes.count
        bytes.append(contentsOf: decision.utf8)
        bytes.append(0x2D)
        let stem = bytes.count
        var n = index + 1
        repeat {
            bytes.insert(UInt8(0x30 + n % 10), at: stem)  // digits from the last
            n /= 10
        } while n > 0
        items.append(.text(start, bytes.count - start))
    }

    /// The next parameter: a number.
    mutating func number(_ x: Double) { items.append(.number(x)) }

    /// Binds every parameter to `statement` (1, 2, …), runs it, and clears for the next rows;
    /// returns how many rows it changed.
    mutating func execute(_ statement: BulkStatement) throws -> Int {
        defer { bytes.removeAll(keepingCapacity: true); items.removeAll(keepingCapacity: true) }
        return try bytes.withUnsafeBytes { base in
            for (k, item) in items.enumerated() {
                let i = Int32(k + 1)
                switch item {
                case .text(let start, let n): statement.bindInPlace(i, base.baseAddress.map { $0 + start }, n)
                case .null: statement.bind(i, nil as String?)
                case .number(let x): statement.bind(i, x)
                }
            }
            defer { statement.clearBindings() }  // no pointer into this buffer outlives it
            return try statement.execute()
        }
    }
}

extension BulkStatement {
    /// Binds `n` UTF-8 bytes at `p` as text without copying them: they must stay where they are
    /// until the statement has run and its bindings are cleared (`RowParameters.execute`).
    func bindInPlace(_ i: Int32, _ p: UnsafeRawPointer?, _ n: Int) {
        guard let p, n > 0 else { bind(i, bytes: UnsafeRawBufferPointer(start: nil, count: 0)); return }  // ""
        sqlite3_bind_text(handle, i, p.assumingMemoryBound(to: CChar.self), Int32(n), nil)  // nil: SQLITE_STATIC
    }

    /// Unbinds every parameter (all NULL).
    func clearBindings() { sqlite3_clear_bindings(handle) }

    /// The current row's column `i` as an integer (0 for NULL).
    func int(_ i: Int32) -> Int { Int(sqlite3_column_int64(handle, i)) }

    /// The current row's column `i` as a stored time, `nil` for NULL.
    func date(_ i: Int32) -> Date? { bytes(i).map(StoreTime.stored(utf8:)) }
}

extension Array where Element == [UInt8] {
    /// Whether this list, sorted by bytes, holds `id`.
    func binarySearch(_ id: UnsafeRawBufferPointer) -> Bool {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self[mid].lexicographicallyPrecedes(id) { lo = mid + 1 } else { hi = mid }
        }
        return lo < count && self[lo].elementsEqual(id)
    }
}
