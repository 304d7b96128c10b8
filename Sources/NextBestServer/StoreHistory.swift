// A customer's recorded history handed to the engine with the profile, for decisions made with a store.
import NextBest
import NextBestStore

/// How the service gives the engine a customer's recorded contacts and outcomes.
///
/// Until the engine takes extra history itself, the recorded entries are written into the
/// profile's contact list (`contacts`) before it is decided, so cooldowns (and, once the engine
/// counts them, caps and outcome rules) read them like the profile's own contacts.
/// ``StoreHistory/decide(_:profile:history:)`` is the one place to switch when the engine's
/// history API is available.
enum StoreHistory {
    /// The profile field that holds the contact history (the default of `contact_policy.history`).
    static let field = "contacts"

    /// Decides one profile (JSON bytes) with `history` (newest first) added to its own contacts, as
    /// of `now` (`nil`: the engine's time); the plan's JSON bytes.
    static func decide(_ engine: Engine, profile: ArraySlice<UInt8>, history: [HistoryEntry], now: String?) throws(DecisionError) -> [UInt8] {
        if history.isEmpty { return try engine.decidePlanJSON(json: profile, now: now) }
        return try engine.decidePlanJSON(json: adding(history, to: profile), now: now)
    }

    /// Explains one profile with `history` added, as ``decide(_:profile:history:now:)`` decides it.
    static func explain(_ engine: Engine, profile: ArraySlice<UInt8>, history: [HistoryEntry], now: String?) throws(DecisionError) -> Explanation {
        if history.isEmpty { return try engine.explain(json: profile, now: now) }
        return try engine.explain(json: adding(history, to: profile), now: now)
    }

    /// The entries as contact objects (`{"action","channel","at"[,"outcome"]}`): a task carries the
    /// latest outcome recorded for it; an outcome for no recorded task is an entry of its own.
    static func contacts(_ history: [HistoryEntry]) -> [[UInt8]] {
        var outcomeOfTask: [String: String] = [:]
        var contactTasks = Set<String>()
        for e in history {
            if let task = e.task {
                if let o = e.outcome { if outcomeOfTask[task] == nil { outcomeOfTask[task] = o } } else { contactTasks.insert(task) }
            }
        }
        var out: [[UInt8]] = []
        out.reserveCapacity(history.count)
        for e in history {
            var outcome = e.outcome
            if e.outcome == nil, let task = e.task {
                outcome = outcomeOfTask[task]
            } else if e.outcome != nil, let task = e.task, contactTasks.contains(task) {
                continue  // carried by its task's contact
            }
            var o: [String: JSONValue] = ["action": .string(e.action), "at": .string(StoreTime.text(e.at))]
            if let c = e.channel { o["channel"] = .string(c) }
            if let outcome { o["outcome"] = .string(outcome) }
            out.append(Array(JSONValue.object(o).jsonText.utf8))
        }
        return out
    }

    /// The profile with the entries added at the front of its contact list (created when missing or
    /// null). A profile that is not an object, or whose list is not a list, is returned as it is:
    /// the engine reports what is wrong with it.
    static func adding(_ history: [HistoryEntry], to profile: ArraySlice<UInt8>) -> [UInt8] {
        let bytes = Array(profile)
        guard let fields = try? JSONScanner.fields(of: bytes) else { return bytes }
        let entries = contacts(history)
        var joined: [UInt8] = []
        for (i, e) in entries.enumerated() {
            if i > 0 { joined.append(UInt8(ascii: ",")) }
            joined.append(contentsOf: e)
        }
        if let existing = fields.first(where: { $0.key == field }) {
            switch existing.kind {
            case .array:
                let open = existing.value.lowerBound + 1
                let hasElements = !(existing.elements ?? []).isEmpty
                return Array(bytes[..<open]) + joined + (hasElements ? [UInt8(ascii: ",")] : []) + Array(bytes[open...])
            case .null:
                return Array(bytes[..<existing.value.lowerBound]) + [UInt8(ascii: "[")] + joined + [UInt8(ascii: "]")]
                    + Array(bytes[existing.value.upperBound...])
            default:
                return bytes
            }
        }
        guard let close = bytes.lastIndex(of: UInt8(ascii: "}")) else { return bytes }
        var out = Array(bytes[..<close])
        if !fields.isEmpty { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: Array("\"\(field)\":[".utf8))
        out.append(contentsOf: joined)
        out.append(UInt8(ascii: "]"))
        out.append(contentsOf: bytes[close...])
        return out
    }
}
