// The store's tables: versioned migrations, the same SQL for SQLite and PostgreSQL.
import Foundation
import NextBest

/// The store's schema. Times are fixed-width UTC text (`StoreTime`), so both backends hold the
/// same values and text order is time order; numbers are double precision.
public enum Schema {
    /// The table that marks a database as a NextBest store and holds its schema version.
    public static let markerTable = "nextbest_store"

    /// Migrations in order; migration `i` (0-based) brings the store from version `i` to `i + 1`.
    /// Each runs in one transaction with the version update. Never edit a released one: add one.
    public static let migrations: [[String]] = [
        [
            """
            CREATE TABLE nextbest_store (
              key TEXT PRIMARY KEY,
              value TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE decisions (
              id TEXT PRIMARY KEY,
              run TEXT NOT NULL,
              customer TEXT NOT NULL,
              revision TEXT NOT NULL,
              at TEXT NOT NULL,
              plan TEXT NOT NULL,
              held_out TEXT,
              UNIQUE (run, customer)
            )
            """,
            "CREATE INDEX decisions_at ON decisions (at)",
            """
            CREATE TABLE tasks (
              id TEXT PRIMARY KEY,
              decision TEXT NOT NULL REFERENCES decisions (id),
              customer TEXT NOT NULL,
              action TEXT NOT NULL,
              department TEXT NOT NULL,
              channel TEXT NOT NULL,
              priority DOUBLE PRECISION NOT NULL,
              created_at TEXT NOT NULL,
              status TEXT NOT NULL CHECK (status IN ('open', 'assigned', 'done', 'cancelled', 'expired')),
              assignee TEXT,
              status_at TEXT NOT NULL,
              due_at TEXT,
              outcome TEXT,
              note TEXT,
              assigned_at TEXT,
              done_at TEXT,
              policy TEXT,
              segments TEXT NOT NULL DEFAULT '[]',
              fields TEXT
            )
            """,
            "CREATE INDEX tasks_customer ON tasks (customer, created_at)",
            "CREATE INDEX tasks_queue ON tasks (department, status, created_at)",
            "CREATE INDEX tasks_due ON tasks (status, due_at)",
            """
            CREATE TABLE outcomes (
              id TEXT PRIMARY KEY,
              task TEXT REFERENCES tasks (id),
              customer TEXT NOT NULL,
              action TEXT NOT NULL,
              channel TEXT,
              outcome TEXT NOT NULL,
              at TEXT NOT NULL,
              value DOUBLE PRECISION
            )
            """,
            "CREATE INDEX outcomes_customer ON outcomes (customer, at)",
            "INSERT INTO nextbest_store (key, value) VALUES ('made_by', 'NextBest')",
            "INSERT INTO nextbest_store (key, value) VALUES ('schema_version', '0')",
        ],
        // 2: the customer indexes hold every column a decision's history reads, so reading a
        // customer's contacts walks the index alone, without a lookup in the table per row.
        [
            "CREATE INDEX tasks_contacts ON tasks (customer, created_at, status, action, channel, id)",
            "DROP INDEX tasks_customer",
            "CREATE INDEX outcomes_contacts ON outcomes (customer, at, action, channel, outcome, task)",
            "DROP INDEX outcomes_customer",
        ],
    ]

    /// The statement that sets the version after migrations (the version is inlined: a number).
    static func setVersion(_ v: Int) -> String {
        "UPDATE nextbest_store SET value = '\(v)' WHERE key = 'schema_version'"
    }

    /// Checks what a probe of an existing database found; throws when it must not be touched.
    /// `tables` are its user tables; `version` the marker's version text when the marker exists.
    static func verdict(url: String, tables: [String], version: String?) throws(StoreError) -> Int {
        guard tables.contains(markerTable) else {
            if tables.isEmpty { return 0 }
            throw .notAStore(url, tables: tables.sorted())
        }
        guard let text = version, let v = Int(text), v >= 0 else {
            throw .corrupt(url, "its NextBest marker holds no readable schema version")
        }
        if v > migrations.count { throw .newerSchema(url, found: v, supported: migrations.count) }
        return v
    }

    /// The columns read for a `TaskRecord`, in order.
    static let taskColumns = "id, decision, customer, action, department, channel, priority, created_at, status, "
        + "assignee, status_at, due_at, outcome, note, assigned_at, done_at, policy, segments, fields"

    /// Segments as stored: a JSON array text.
    static func segmentsText(_ s: [String]) -> String { jsonArray(s) }

    /// Segments from their stored text (an empty list when it is not a JSON array of strings).
    static func segments(from text: String?) -> [String] {
        guard let text, let value = try? JSONValue(parsing: text), case .array(let items) = value else { return [] }
        return items.compactMap(\.stringValue)
    }

    /// A JSON array of strings (for SQLite's `json_each`).
    static func jsonArray(_ list: [String]) -> String {
        var out = "["
        for (i, s) in list.enumerated() {
            if i > 0 { out += "," }
            JSONValue.writeString(s, into: &out)
        }
        return out + "]"
    }

    /// The query telling whether any task or outcome is stored (1 or 0), without counting them.
    static let holdsContactsSQL = "SELECT CASE WHEN EXISTS (SELECT 1 FROM tasks) OR EXISTS (SELECT 1 FROM outcomes) THEN 1 ELSE 0 END"

    /// The query counting rows in the three tables.
    static let countsSQL = "SELECT (SELECT count(*) FROM decisions), (SELECT count(*) FROM tasks), (SELECT count(*) FROM outcomes)"
}
