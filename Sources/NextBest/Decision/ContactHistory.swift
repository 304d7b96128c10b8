// Contact history from outside the profile (a store, a history file), handed to the engine per batch of customers.
import Foundation

/// One past contact with a customer, from outside the profile: what `policy-language.md` §3
/// lists under `contacts`. The engine adds these to the profile's own contacts before policies
/// see them, so cooldowns, frequency caps and outcome rules count them.
public struct PastContact: Sendable, Hashable {
    /// The action that was taken.
    public var action: String
    /// The channel it reached the customer on (`nil`: the action's declared channel).
    public var channel: String?
    /// When it was made: an ISO-8601 date or date-time.
    public var at: String
    /// How the customer answered (`accepted`, `declined`, ...), if known.
    public var outcome: String?

    /// A past contact from its parts.
    public init(action: String, channel: String?, at: String, outcome: String? = nil) {
        self.action = action
        self.channel = channel
        self.at = at
        self.outcome = outcome
    }
}

/// Gives the past contacts of many customers at once. A batch run calls it once per chunk of
/// input (a few hundred to a few thousand customers), from its worker threads, so one store
/// query serves a whole chunk.
public protocol ContactHistoryProvider: Sendable {
    /// The past contacts of each of `customers` (ids as text, as plans write them); a customer
    /// with none may be left out. A thrown error stops the run.
    func contacts(for customers: [String]) throws -> [String: [PastContact]]
}

/// Contact history held in memory (a history file read whole), by customer id.
public struct ContactHistory: ContactHistoryProvider {
    /// The contacts, by customer id text.
    public var byCustomer: [String: [PastContact]]

    /// A history from contacts by customer id.
    public init(_ byCustomer: [String: [PastContact]]) { self.byCustomer = byCustomer }

    /// The contacts of those of `customers` that have any.
    public func contacts(for customers: [String]) -> [String: [PastContact]] {
        var out: [String: [PastContact]] = [:]
        for c in customers { if let h = byCustomer[c] { out[c] = h } }
        return out
    }
}

extension ContactHistory {
    /// The JSON text the prelude reads (`contacts.lua`): `{"id":[{"action":..,"channel":..,"at":..,"outcome":..}]}`.
    /// Written by hand: this runs once per chunk of a batch, and needs no general encoder.
    static func json(_ byCustomer: [String: [PastContact]]) -> String {
        var out = "{"
        var firstCustomer = true
        for (id, list) in byCustomer where !list.isEmpty {
            if !firstCustomer { out += "," }
            firstCustomer = false
            appendJSONString(&out, id)
            out += ":["
            for (i, c) in list.enumerated() {
                if i > 0 { out += "," }
                out += "{\"action\":"
                appendJSONString(&out, c.action)
                if let ch = c.channel { out += ",\"channel\":"; appendJSONString(&out, ch) }
                out += ",\"at\":"
                appendJSONString(&out, c.at)
                if let o = c.outcome { out += ",\"outcome\":"; appendJSONString(&out, o) }
                out += "}"
            }
            out += "]"
        }
        return out + "}"
    }

    /// Appends `s` as a JSON string literal.
    static func appendJSONString(_ out: inout String, _ s: String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += "\\u00" + String(u.value >> 4, radix: 16) + String(u.value & 15, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}

extension Engine {
    /// Decides one profile built in Swift with past contacts from outside it (a store's), added
    /// to the profile's own before policies see them.
    public func decide(_ profile: Profile, history: [PastContact]) throws(DecisionError) -> Plan {
        let id = profile["id"].flatMap { v -> String? in
            switch v { case .string(let s): return s; case .int(let i): return String(i); default: return nil }
        }
        return try decide(now: nil, history: id.map { [$0: history] } ?? [:], { state, out in state.decide(profile, out: out) }) { out in
            try Plan(json: out.withBytes { try JSONValue(parsing: $0) })
        }
    }

    /// Decides one profile given as JSON bytes (one object) with past contacts from outside it.
    public func decide(json: some Collection<UInt8>, history: [PastContact]) throws(DecisionError) -> Plan {
        let bytes = Array(json)
        let id = bytes.withUnsafeBytes { ShardKey.idText(of: $0) }.map { String(decoding: $0, as: UTF8.self) }
        return try decide(now: nil, history: id.map { [$0: history] } ?? [:], { state, out in
            bytes.withUnsafeBytes { state.decide($0, line: 0, column: 0, out: out, routes: nil) }
        }) { out in try Plan(json: out.withBytes { try JSONValue(parsing: $0) }) }
    }

    /// Decides with a state from the pool whose extra contacts are `history` for this one call.
    func decide<T>(now: String?, history: [String: [PastContact]], _ push: (LuaState, NativeBuffer) -> DecideOutcome,
                   read: (NativeBuffer) throws -> T) throws(DecisionError) -> T {
        let text = history.isEmpty ? "" : ContactHistory.json(history)
        return try decide(now: now, context: nil, { state, out in
            do { try state.setHistory(text) } catch { return .failed(message: "cannot hand the contact history to the engine: \(error)", customer: nil) }
            defer { try? state.setHistory("") }
            return push(state, out)
        }, read: read)
    }

    /// The ids of a chunk's records, and the contacts `provider` holds for them, handed to `state`.
    static func loadHistory(_ provider: any ContactHistoryProvider, chunk: RecordChunk, state: LuaState) throws {
        var ids: [String] = []
        ids.reserveCapacity(chunk.records.count)
        chunk.bytes.withUnsafeBytes { all in
            for rec in chunk.records where rec.error == nil {
                let end = max(rec.start, min(rec.end, all.count))
                if let id = ShardKey.idText(of: UnsafeRawBufferPointer(rebasing: all[rec.start..<end])) {
                    ids.append(String(decoding: id, as: UTF8.self))
                }
            }
        }
        let found = try provider.contacts(for: ids)
        try state.setHistory(found.isEmpty ? "" : ContactHistory.json(found))
    }
}
