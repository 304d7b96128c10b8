// Engine+Explain: one customer's decision, step by step (policy-language.md §5).
import Foundation

/// One customer's decision, step by step: each segment in or out, each policy run or skipped
/// and what it proposed, the proposals dropped for a better one of the same action, and the
/// final plan with its suppressions.
public struct Explanation: Sendable {
    /// A profile field a step read, and the value it held, as text (`18200`, `"Milano"`,
    /// `(missing)`, `(a list of 3)`); nested fields are dotted (`consent.email`).
    public struct FieldRead: Sendable, Hashable, CustomStringConvertible {
        /// The field (`annual_revenue`, `consent.in_person`).
        public var field: String
        /// Its value as text.
        public var value: String
        /// `annual_revenue = 18200`.
        public var description: String { "\(field) = \(value)" }
    }

    /// A segment's `when` for this customer.
    public struct SegmentStep: Sendable, Hashable {
        /// The segment.
        public var segment: String
        /// Whether the customer is in it.
        public var matched: Bool
        /// The error its `when` raised, if any.
        public var error: String?
        /// The profile fields its `when` read, in the order first read.
        public var read: [FieldRead] = []
    }

    /// A proposal a policy made.
    public struct Proposal: Sendable, Hashable {
        /// The proposed action.
        public var action: String
        /// Its priority.
        public var priority: Double
        /// Its reason.
        public var reason: String?
        /// The factors of its priority under `arbitration = "pcvl"` (§8.1).
        public var factors: ScoreFactors? = nil
    }

    /// A policy for this customer.
    public struct PolicyStep: Sendable, Hashable {
        /// The policy.
        public var policy: String
        /// Where it is declared (`file:line`).
        public var at: String?
        /// Whether it ran.
        public var ran: Bool
        /// Why it did not run (`not in segment x`, `when returned false`).
        public var skippedBecause: String?
        /// What it proposed.
        public var proposed: [Proposal]
        /// The error it raised, if any (its proposals are then dropped).
        public var error: String?
        /// The profile fields its `when` and `propose` (or short form) read, in the order first read.
        public var read: [FieldRead] = []
    }

    /// A proposal dropped because the same action had a better one (§5 step 2).
    public struct Dropped: Sendable, Hashable {
        /// The action.
        public var action: String
        /// The policy whose proposal was dropped.
        public var policy: String
        /// Its priority.
        public var priority: Double
        /// The policy whose proposal was kept.
        public var keptFrom: String
    }

    /// The evaluation time.
    public var now: String
    /// Every segment, in declaration order.
    public var segments: [SegmentStep]
    /// Every policy, in name order.
    public var policies: [PolicyStep]
    /// Proposals dropped for a better one of the same action.
    public var dropped: [Dropped]
    /// The profile fields the actions' `eligible` checks read.
    public var eligibilityRead: [FieldRead] = []
    /// For each suppression a cooldown, frequency cap or outcome rule made: the past contacts that counted.
    public var counted: [CountedContacts] = []

    /// The past contacts that made one suppression (a cooldown, a cap, a pause).
    public struct CountedContacts: Sendable, Hashable, Decodable {
        /// One past contact.
        public struct Contact: Sendable, Hashable, Decodable {
            /// The action, its channel, when it was made, and the outcome if any.
            public var action: String, channel: String?, at: String, outcome: String?
        }
        /// The suppressed action.
        public var action: String
        /// The suppression's reason.
        public var reason: String
        /// The past contacts that counted.
        public var contacts: [Contact]
    }
    /// The final plan.
    public var plan: Plan
    /// All of the above as one JSON object (what `nextbest explain --format json` prints).
    public var json: JSONValue
}

extension Engine {
    /// Explains the decision for one profile built in Swift.
    public func explain(_ profile: Profile) throws(DecisionError) -> Explanation {
        try explain(json: Array(profile.jsonText.utf8))
    }

    /// Explains the decision for one profile given as JSON bytes (one object), with past contacts
    /// from outside it (a store's, a history file's) added to its own.
    public func explain(json: some Collection<UInt8>, history: [PastContact] = []) throws(DecisionError) -> Explanation {
        let bytes = Array(json)
        let text = String(decoding: bytes, as: UTF8.self)
        let id = bytes.withUnsafeBytes { ShardKey.idText(of: $0) }.map { String(decoding: $0, as: UTF8.self) }
        let extra = history.isEmpty || id == nil ? [:] : [id!: history]
        let reply: ExplainReply
        do {
            reply = try pool.withState { state in
                try refreshClock(state)
                if !extra.isEmpty { try state.setHistory(extra) }
                defer { if !extra.isEmpty { try? state.clearHistory() } }
                return try state.explain(text)
            }
        } catch {
            throw .badRecord(message: "\(error)", customer: nil)
        }
        return try explanation(from: reply)
    }

    /// Reads the prelude's explain reply (`{plan, trace}` or `{error, customer}`) into an ``Explanation``.
    func explanation(from reply: ExplainReply) throws(DecisionError) -> Explanation {
        if let message = reply.error { throw .badRecord(message: message, customer: reply.customer) }
        guard let planJSON = reply.plan, let traceJSON = reply.trace else {
            throw .failed(message: "the engine gave no explanation (a bug in NextBest)", customer: nil)
        }
        let trace: TraceReply
        do { trace = try JSONDecoder().decode(TraceReply.self, from: Data(traceJSON.jsonText.utf8)) } catch {
            throw .failed(message: "the engine gave an explanation it cannot read back (a bug in NextBest): \(error)", customer: nil)
        }
        let plan = try Plan(json: planJSON)
        func reads(_ r: [TraceReply.Read]?) -> [Explanation.FieldRead] {
            (r ?? []).map { Explanation.FieldRead(field: $0.field, value: $0.value) }
        }
        let segments = trace.segments.map {
            Explanation.SegmentStep(segment: $0.segment, matched: $0.matched, error: $0.error, read: reads($0.read))
        }
        let policies = trace.policies.map { p in
            Explanation.PolicyStep(
                policy: p.policy, at: p.at, ran: p.ran, skippedBecause: p.why,
                proposed: (p.proposed ?? []).map { Explanation.Proposal(action: $0.action, priority: $0.priority, reason: $0.reason, factors: $0.factors) },
                error: p.error, read: reads(p.read))
        }.sorted { $0.policy.utf8.lexicographicallyPrecedes($1.policy.utf8) }
        let dropped = trace.dropped.map {
            Explanation.Dropped(action: $0.action, policy: $0.policy, priority: $0.priority, keptFrom: $0.kept)
        }
        var traceObject = traceJSON.objectValue ?? [:]
        traceObject["policies"] = .array(policies.map { p in
            var o: [String: JSONValue] = ["policy": .string(p.policy), "ran": .bool(p.ran),
                                          "proposed": .array(p.proposed.map { q in
                                              var x: [String: JSONValue] = ["action": .string(q.action), "priority": .double(q.priority)]
                                              if let r = q.reason { x["reason"] = .string(r) }
                                              if let f = q.factors {
                                                  x["factors"] = ["p": .double(f.p), "c": .double(f.c), "v": .double(f.v), "l": .double(f.l)]
                                              }
                                              return .object(x)
                                          })]
            if let at = p.at { o["at"] = .string(at) }
            if let why = p.skippedBecause { o["skipped_because"] = .string(why) }
            if let e = p.error { o["error"] = .string(e) }
            o["read"] = .array(p.read.map { ["field": .string($0.field), "value": .string($0.value)] })
            return .object(o)
        })
        traceObject["plan"] = planJSON
        return Explanation(now: trace.now, segments: segments, policies: policies, dropped: dropped,
                           eligibilityRead: reads(trace.eligibilityRead), counted: trace.history ?? [],
                           plan: plan, json: .object(traceObject))
    }

    /// The JSON text of the first record in `path` whose `id` is `id` (compared as text),
    /// or `nil` when no record has it.
    /// CSV cells are typed by the set's profile schema, read as `csv` says.
    public func findProfile(id: String, in path: String, format: ProfileFormat, csv: CSVReading = CSVReading()) throws -> [UInt8]? {
        var records = try RecordIterator(path: path, format: format, schema: profileSchema, csv: csv)
        while let record = try records.next() {
            guard let bytes = record.bytes, let v = try? JSONValue(parsing: bytes) else { continue }
            switch v["id"] {
            case .string(let s) where s == id: return bytes
            case .int(let i) where String(i) == id: return bytes
            default: continue
            }
        }
        return nil
    }

    /// The JSON text of the one profile in `path`; an error when it holds none, or more than one.
    public func onlyProfile(in path: String, format: ProfileFormat, csv: CSVReading = CSVReading()) throws -> [UInt8] {
        var records = try RecordIterator(path: path, format: format, schema: profileSchema, csv: csv)
        guard let first = try records.next() else { throw ProfileReadError(message: "\(path) holds no profile") }
        if try records.next() != nil {
            throw ProfileReadError(message: "\(path) holds more than one profile: pick one with --profiles \(path) --id ID")
        }
        guard let bytes = first.bytes else { throw ProfileReadError(message: "\(path): \(first.error ?? "unreadable")") }
        return bytes
    }
}
