// Reading a window of the store row by row (for the report): the sink protocol and the rows it receives.
import Foundation
import NextBest

/// Receives the rows of `Store.scan`: first `expect`, then every decision, then every task, then
/// every outcome of the window. Rows are handed over one at a time and not kept by the store.
public protocol StoreScanSink: Sendable {
    /// How many decisions the window holds (called once, before any row): a hint for sizing.
    mutating func expect(decisions: Int)
    /// One recorded decision.
    mutating func decision(_ d: ScannedDecision) throws
    /// One task, as it stands at the scan's `now`.
    mutating func task(_ t: TaskRecord) throws
    /// One outcome, as stored (its `id` is the stored key).
    mutating func outcome(_ o: OutcomeRow) throws
}

/// A recorded decision as a scan reads it: the row, with the plan's segments and holdouts.
public struct ScannedDecision: Sendable, Hashable {
    /// The decision's id.
    public var id: String
    /// The run that recorded it.
    public var run: String
    /// The customer's id text.
    public var customer: String
    /// The policy set's revision.
    public var revision: String
    /// When it was decided.
    public var at: Date
    /// The customer's segments (the plan's `segments`).
    public var segments: [String]
    /// The universal holdout the customer is in (the plan's `holdout`), if any.
    public var holdout: String?
    /// What holdouts kept from the customer (the `held_out` column).
    public var heldOut: [HeldOutAction]
}

/// One action a holdout kept from a customer.
public struct HeldOutAction: Sendable, Hashable {
    /// The action.
    public var action: String
    /// The policy that proposed it.
    public var policy: String
    /// The holdout that kept it back.
    public var holdout: String

    /// The entries of a `held_out` JSON text (`[{"action","policy","holdout"}]`); unreadable text gives none.
    static func list(from text: String?) -> [HeldOutAction] {
        guard let text, let value = try? JSONValue(parsing: text), case .array(let items) = value else { return [] }
        return items.compactMap { item in
            guard let action = item["action"]?.stringValue else { return nil }
            return HeldOutAction(action: action, policy: item["policy"]?.stringValue ?? "",
                                 holdout: item["holdout"]?.stringValue ?? "")
        }
    }
}

/// Decodes the repeated small JSON texts of a scan (segment lists) once per distinct text.
struct SegmentCache {
    private var known: [String: [String]] = [:]

    /// The segments of a JSON array text (`nil` or unreadable: none).
    mutating func segments(_ text: String?) -> [String] {
        guard let text else { return [] }
        if let s = known[text] { return s }
        let s = Schema.segments(from: text)
        if known.count < 100_000 { known[text] = s }
        return s
    }
}

extension Schema {
    /// A window condition on `column` with placeholders from `placeholder` (numbered from
    /// `first`), and its values: `[]` when the window is open on both sides.
    static func window(_ column: String, from: Date?, to: Date?, first: Int,
                       _ placeholder: (Int) -> String) -> (sql: String, values: [String]) {
        var parts: [String] = [], values: [String] = []
        if let from {
            values.append(StoreTime.text(from))
            parts.append("\(column) >= \(placeholder(first + values.count - 1))")
        }
        if let to {
            values.append(StoreTime.text(to))
            parts.append("\(column) < \(placeholder(first + values.count - 1))")
        }
        return (parts.isEmpty ? "" : " WHERE " + parts.joined(separator: " AND "), values)
    }

    /// The columns a scan reads from `decisions` (SQLite's JSON functions pick the plan apart).
    static let scanDecisionColumnsSQLite = "id, run, customer, revision, at, json_extract(plan, '$.segments'), "
        + "json_extract(plan, '$.holdout'), held_out"

    /// The same for PostgreSQL.
    static let scanDecisionColumnsPostgres = "id, run, customer, revision, at, (plan::jsonb -> 'segments')::text, "
        + "plan::jsonb ->> 'holdout', held_out"

    /// The columns a scan reads from `outcomes`.
    static let scanOutcomeColumns = "id, task, customer, action, channel, outcome, at, value"
}
