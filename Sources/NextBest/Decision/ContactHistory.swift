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

    /// Seconds since 1970 of `at` when it is a date (`2026-11-03`) or a UTC date-time to the
    /// second (`2026-11-03T10:00:00Z`, the form stores and history files give); `nil` for any
    /// other form (the engine then reads it itself).
    public var seconds: Int64? { Array(at.utf8).withUnsafeBufferPointer { Self.seconds($0) } }

    /// ``seconds`` of the text `u`.
    static func seconds(_ u: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard u.count == 10 || (u.count == 20 && u[10] == 84 && u[13] == 58 && u[16] == 58 && u[19] == 90),
              u[4] == 45, u[7] == 45 else { return nil }
        func num(_ from: Int, _ n: Int) -> Int? {
            var v = 0
            for k in from..<(from + n) {
                let c = u[k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let y = num(0, 4), let m = num(5, 2), let d = num(8, 2), (1...12).contains(m), d >= 1, d <= 31 else { return nil }
        var secs = 0
        if u.count == 20 {
            guard let hh = num(11, 2), let mm = num(14, 2), let ss = num(17, 2), hh <= 23, mm <= 59, ss <= 60 else { return nil }
            secs = hh * 3600 + mm * 60 + ss
        }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d <= monthDays[m - 1] else { return nil }
        // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146_097 + doe - 719_468) * 86_400 + Int64(secs)
    }
}

/// Gives the past contacts of many customers at once. A batch run calls it once per chunk of
/// input (a few hundred to a few thousand customers), from its worker threads, so one store
/// query serves a whole chunk.
public protocol ContactHistoryProvider: Sendable {
    /// The past contacts of each of `customers` (ids as text, as plans write them); a customer
    /// with none may be left out. `since` (seconds since 1970, UTC) is the engine's
    /// ``Engine/historySince(now:)``: contacts made before it can change no decision of the set
    /// and may be left out (`nil`: give them all). A thrown error stops the run.
    func contacts(for customers: [String], since: Int64?) throws -> [String: [PastContact]]

    /// The same contacts, appended to `batch` (empty when called): what a batch run reads. A
    /// store implements it to hand its rows over without a `String` per field; by default it
    /// is ``contacts(for:since:)``'s answer, copied in.
    func contacts(for customers: [String], since: Int64?, into batch: inout ContactBatch) throws
}

extension ContactHistoryProvider {
    /// ``contacts(for:since:)``, copied into `batch`.
    public func contacts(for customers: [String], since: Int64?, into batch: inout ContactBatch) throws {
        batch = ContactBatch(try contacts(for: customers, since: since))
    }

    /// All the past contacts of each of `customers`, however old.
    public func contacts(for customers: [String]) throws -> [String: [PastContact]] {
        try contacts(for: customers, since: nil)
    }
}

/// Contact history held in memory (a history file read whole), by customer id.
public struct ContactHistory: ContactHistoryProvider {
    /// The contacts, by customer id text.
    public var byCustomer: [String: [PastContact]]

    /// A history from contacts by customer id.
    public init(_ byCustomer: [String: [PastContact]]) { self.byCustomer = byCustomer }

    /// The contacts of those of `customers` that have any, made at or after `since` (a contact
    /// whose time is in another form than ``PastContact/seconds`` reads is kept).
    public func contacts(for customers: [String], since: Int64?) -> [String: [PastContact]] {
        var out: [String: [PastContact]] = [:]
        for c in customers {
            guard let h = byCustomer[c] else { continue }
            guard let since else { out[c] = h; continue }
            let kept = h.filter { ($0.seconds ?? .max) >= since }
            if !kept.isEmpty { out[c] = kept }
        }
        return out
    }
}

extension Engine {
    /// The most days back a contact can still change a decision of this set: the largest
    /// `cooldown_days`, `per_days` of a cap, and `within_days + for_days` of an outcome rule
    /// (`policy-language.md` §8.2–§8.3); `nil` when the set has none of them.
    public var historyWindowDays: Double? { description.historyDays }

    /// The earliest time (seconds since 1970, UTC) a past contact must have to matter to this
    /// set's cooldowns, caps and outcome rules when deciding at `now` (seconds since 1970): a
    /// day before ``historyWindowDays`` reaches back; `nil` (every contact) when the set has
    /// no such rule — policies may still read the contact list themselves.
    public func historySince(now: Int64) -> Int64? {
        guard let days = historyWindowDays, days.isFinite, days >= 0 else { return nil }
        return now - Int64((days + 1) * 86_400)
    }

    /// The evaluation time of `state` (seconds since 1970), after its clock is set.
    func nowSeconds(_ state: LuaState) throws -> Int64 {
        try refreshClock(state)
        return try state.nowEpoch()
    }

    /// Decides one profile built in Swift with past contacts from outside it (a store's), added
    /// to the profile's own before policies see them.
    public func decide(_ profile: Profile, history: [PastContact]) throws(DecisionError) -> Plan {
        let id = profile["id"].flatMap { v -> String? in
            switch v { case .string(let s): return s; case .int(let i): return String(i); default: return nil }
        }
        return try decide(now: nil, context: nil, history: id.map { [$0: history] } ?? [:], { state, _ in state.decide(profile) },
                          read: Self.typedPlan)
    }

    /// Decides one profile given as JSON bytes (one object) with past contacts from outside it.
    public func decide(json: some Collection<UInt8>, history: [PastContact]) throws(DecisionError) -> Plan {
        let bytes = try decidePlanJSON(json: json, now: nil, context: nil, history: history)
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes) } catch {
            throw .failed(message: "the engine wrote a plan it cannot read back", customer: nil)
        }
        return try Plan(json: value)
    }

    /// ``decidePlanJSON(json:now:context:)`` with past contacts from outside the profile (a
    /// store's, a history file's) added to its own contacts for this call: the plan's JSON
    /// bytes, as `nextbest run` writes it (without the newline).
    public func decidePlanJSON(json: some Collection<UInt8>, now: String?, context: [String: String]?,
                               history: [PastContact]) throws(DecisionError) -> [UInt8] {
        let bytes = Array(json)
        if history.isEmpty { return try decidePlanJSON(json: bytes, now: now, context: context) }
        let id = bytes.withUnsafeBytes { ShardKey.idText(of: $0) }.map { String(decoding: $0, as: UTF8.self) }
        return try decide(now: now, context: context, history: id.map { [$0: history] } ?? [:], { state, out in
            bytes.withUnsafeBytes { state.decide($0, line: 0, column: 0, out: out, routes: nil) }
        }, read: { _, out in
            out.withBytes { raw in
                var end = raw.count
                while end > 0, raw[end - 1] == 0x0A || raw[end - 1] == 0x0D || raw[end - 1] == 0x20 { end -= 1 }
                return Array(raw[0..<end])
            }
        })
    }

    /// Decides with a state from the pool whose extra contacts are `history` for this one call.
    func decide<T>(now: String?, context: [String: String]?, history: [String: [PastContact]],
                   _ push: (LuaState, NativeBuffer) -> DecideOutcome, read: (LuaState, NativeBuffer) throws -> T) throws(DecisionError) -> T {
        try decide(now: now, context: context, { state, out in
            if !history.isEmpty {
                do { try state.setHistory(history) } catch { return .failed(message: "cannot hand the contact history to the engine: \(error)", customer: nil) }
            }
            defer { if !history.isEmpty { try? state.clearHistory() } }
            return push(state, out)
        }, read: read)
    }

    /// The ids of a chunk's records, and the contacts `provider` holds for them since `since`,
    /// handed to `state` (customers without history cost nothing past the lookup).
    static func loadHistory(_ provider: any ContactHistoryProvider, since: Int64?, chunk: RecordChunk, state: LuaState) throws {
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
        var batch = ContactBatch()
        try provider.contacts(for: ids, since: since, into: &batch)
        if batch.isEmpty { try state.clearHistory() } else { try state.setHistory(batch) }
    }
}

extension Engine {
    /// Explains one profile given as JSON bytes as of `now` (`nil`: the engine's own time), in
    /// `context` (`nil`: ``EngineOptions/context``), with past contacts from outside it added to
    /// its own, as ``decidePlanJSON(json:now:context:history:)`` decides it.
    public func explain(json: some Collection<UInt8>, now: String?, context: [String: String]?,
                        history: [PastContact]) throws(DecisionError) -> Explanation {
        let bytes = Array(json)
        if history.isEmpty { return try explain(json: bytes, now: now, context: context) }
        if now == nil && context == nil { return try explain(json: bytes, history: history) }
        return try explain(bytes: bytes, now: now, context: context, history: history)
    }
}
