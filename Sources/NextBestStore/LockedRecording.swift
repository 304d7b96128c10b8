// Deciding and recording under a customer's lock, for replicas of the service that share one store.
import Foundation
import GRDB
import Logging
import PostgresNIO

/// The key of a customer's PostgreSQL advisory lock: FNV-1a 64 over the id's UTF-8, as a signed 64-bit number.
public func customerLockKey(_ customer: String) -> Int64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in customer.utf8 {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01b3
    }
    return Int64(bitPattern: h)
}

extension SQLiteStore {
    /// `BEGIN IMMEDIATE` takes the file's write lock before the histories are read; see `Store.recordLocked`.
    public func recordLocked<T: Sendable>(customers: [String],
                                          _ decide: @escaping @Sendable ([String: [HistoryEntry]]) -> (decisions: [RecordedDecision], value: T))
        async throws -> (result: RecordResult, value: T) {
        let wanted = Array(Set(customers))
        return try await writing { db in
            let histories = wanted.isEmpty ? [:] : try Self.readHistory(wanted, since: nil, db)
            let (decisions, value) = decide(histories)
            return (try Self.insert(decisions, db), value)
        }
    }
}

extension PostgresStore {
    /// Advisory transaction locks, taken in key order so two requests never wait on each other in a
    /// circle, then the histories and the inserts on the same connection; see `Store.recordLocked`.
    public func recordLocked<T: Sendable>(customers: [String],
                                          _ decide: @escaping @Sendable ([String: [HistoryEntry]]) -> (decisions: [RecordedDecision], value: T))
        async throws -> (result: RecordResult, value: T) {
        let wanted = Array(Set(customers))
        let keys = Set(wanted.map(customerLockKey)).sorted()
        return try await writing { c in
            for key in keys { try await c.query("SELECT pg_advisory_xact_lock(\(key))", logger: Self.lockLogger) }
            let histories = wanted.isEmpty ? [:] : try await Self.readHistory(wanted, since: nil, c)
            let (decisions, value) = decide(histories)
            return (try await Self.insert(decisions, c), value)
        }
    }

    private static let lockLogger = Logger(label: "nextbest.store.lock", factory: { _ in SwiftLogNoOpLogHandler() })
}
