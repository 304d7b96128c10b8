// POST /v1/decide: the request read by the byte scanner, profiles decided as bytes, plans written back as bytes.
import NextBest
import NextBestStore

/// A checked `POST /v1/decide` request: where each profile lies in the body, and the options.
public struct DecideRequest: Sendable, Hashable {
    /// Byte ranges of the profiles in the body, in order.
    public var profiles: [Range<Int>]
    /// Whether the body sent `profiles` (a batch) rather than `profile`.
    public var batch: Bool
    /// The evaluation time for this request, if given.
    public var now: String?
    /// Whether the plans are to be recorded in the store.
    public var record: Bool
    /// Whether each plan comes with its explanation.
    public var explain: Bool

    /// The most profiles one request may hold.
    public static let maximumBatch = 1_000
    /// The fields a request may have.
    public static let knownFields = ["profile", "profiles", "context", "record", "explain", "now"]

    /// Reads and checks a request body; a bad one gives its 400 answer.
    public static func parse(_ body: [UInt8]) -> Result<DecideRequest, Answer> {
        let fields: [ScannedField]
        do {
            fields = try JSONScanner.fields(of: body)
        } catch {
            return .failure(.problem(400, "the body is not valid JSON: \(error.description)",
                                     ["line": .int(error.line), "column": .int(error.column)]))
        }
        var seen = Set<String>()
        var unknown: [String] = []
        var request = DecideRequest(profiles: [], batch: false, now: nil, record: false, explain: false)
        var hasProfile = false, hasProfiles = false
        for f in fields {
            if !seen.insert(f.key).inserted {
                return .failure(.problem(400, "the field \"\(f.key)\" appears twice in the request", ["fields": .array([.string(f.key)])]))
            }
            switch f.key {
            case "profile":
                guard f.kind == .object else { return .failure(.problem(400, "\"profile\" must be a JSON object (one customer's profile)")) }
                request.profiles = [f.value]
                hasProfile = true
            case "profiles":
                guard f.kind == .array, let elements = f.elements else {
                    return .failure(.problem(400, "\"profiles\" must be a JSON array of profile objects"))
                }
                if elements.count > maximumBatch {
                    return .failure(.problem(400, "the batch holds \(elements.count) profiles; the most one request may hold is \(maximumBatch): split it"))
                }
                request.profiles = elements
                request.batch = true
                hasProfiles = true
            case "context":
                guard f.kind == .object || f.kind == .null else { return .failure(.problem(400, "\"context\" must be a JSON object")) }
            case "record", "explain":
                let value: Bool
                switch f.kind {
                case .bool(let b): value = b
                case .null: value = false
                default: return .failure(.problem(400, "\"\(f.key)\" must be true or false"))
                }
                if f.key == "record" { request.record = value } else { request.explain = value }
            case "now":
                switch f.kind {
                case .string:
                    request.now = body.withUnsafeBytes { JSONScanner.string(in: $0, at: f.value) }
                case .null: break
                default: return .failure(.problem(400, "\"now\" must be an ISO-8601 date or date-time in a string, like \"2026-11-01\""))
                }
            default:
                unknown.append(f.key)
            }
        }
        if !unknown.isEmpty {
            let names = unknown.map { "\"\($0)\"" }.joined(separator: ", ")
            return .failure(.problem(400, "unknown field\(unknown.count == 1 ? "" : "s") \(names) in the request; the fields are "
                                        + knownFields.joined(separator: ", "), ["fields": .array(unknown.map { .string($0) })]))
        }
        if hasProfile && hasProfiles { return .failure(.problem(400, "send either \"profile\" or \"profiles\", not both")) }
        if !hasProfile && !hasProfiles {
            return .failure(.problem(400, "the request has no profile: send {\"profile\": {...}} or {\"profiles\": [{...}, ...]}"))
        }
        if request.record && request.explain {
            return .failure(.problem(400, "\"explain\" cannot be used with \"record\": explain the customer without recording, "
                                        + "or record without explaining"))
        }
        if request.record && request.now != nil {
            return .failure(.problem(400, "\"now\" cannot be used with \"record\": recorded decisions are made at the current time"))
        }
        return .success(request)
    }
}

/// What one decide request produced, for the answer and the metrics.
struct DecideOutcome: Sendable {
    var answer: Answer
    var plans = 0
    var badProfiles = 0
    var policyErrors = 0
}

/// Decides the profiles of a checked request on one loaded set. Synchronous: run it off the event loops.
struct DecideRun {
    let request: DecideRequest
    let body: [UInt8]
    let policies: LoadedPolicies
    let ids: DecisionIDGenerator
    /// The customers' recorded histories (empty without a store), by customer id text.
    var histories: [String: [HistoryEntry]] = [:]

    /// The recorded history of the profile at `span`, when there is any.
    private func history(_ profile: ArraySlice<UInt8>) -> [HistoryEntry] {
        if histories.isEmpty { return [] }
        return StoreService.customerID(Array(profile)).flatMap { histories[$0] } ?? []
    }

    func run() -> DecideOutcome {
        let engine = policies.engine
        if let now = request.now, let why = engine.checkTime(now) {
            return DecideOutcome(answer: .problem(400, "\"now\": \(why)"))
        }
        var outcome = DecideOutcome(answer: Answer(status: 200, body: []))
        var out: [UInt8] = []
        out.reserveCapacity(request.profiles.count * 512 + 32)
        out.append(contentsOf: request.batch ? Array(#"{"plans":["#.utf8) : Array(#"{"plan":"#.utf8))
        var explanations: [[UInt8]] = []
        for (i, span) in request.profiles.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let profile = body[span]
            let recorded = history(profile)
            do {
                let plan = try StoreHistory.decide(engine, profile: profile, history: recorded, now: request.now)
                outcome.plans += 1
                outcome.policyErrors += DecideRun.policyErrors(in: plan)
                DecideRun.appendStamped(plan, decision: ids.next(), revision: policies.revision, into: &out)
                if request.explain {
                    let text = (try? StoreHistory.explain(engine, profile: profile, history: recorded, now: request.now).json.jsonText) ?? "null"
                    explanations.append(Array(text.utf8))
                }
            } catch {
                outcome.badProfiles += 1
                if !request.batch {
                    var extra: [String: JSONValue] = [:]
                    if let c = error.customer { extra["customer"] = c }
                    let status = { if case .badRecord = error { return 400 } else { return 422 } }()
                    outcome.answer = .problem(status, "the profile cannot be decided: \(error.message)", extra)
                    return outcome
                }
                var slot: [String: JSONValue] = ["input": .int(i + 1), "error": .string(error.message)]
                if let c = error.customer { slot["customer"] = c }
                out.append(contentsOf: Array(JSONValue.object(slot).jsonText.utf8))
                if request.explain { explanations.append(Array("null".utf8)) }
            }
        }
        if request.batch { out.append(UInt8(ascii: "]")) }
        if request.explain {
            out.append(contentsOf: Array((request.batch ? #","explanations":["# : #","explanation":"#).utf8))
            for (i, e) in explanations.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: e)
            }
            if request.batch { out.append(UInt8(ascii: "]")) }
        }
        out.append(UInt8(ascii: "}"))
        outcome.answer.body = out
        return outcome
    }

    /// Appends the engine's plan object with `"decision"` and `"revision"` added before its closing brace.
    static func appendStamped(_ plan: [UInt8], decision: String, revision: String, into out: inout [UInt8]) {
        guard plan.last == UInt8(ascii: "}") else { out.append(contentsOf: plan); return }
        out.append(contentsOf: plan.dropLast())
        out.append(contentsOf: Array(#","decision":""#.utf8))
        out.append(contentsOf: Array(decision.utf8))
        out.append(contentsOf: Array(#"","revision":""#.utf8))
        out.append(contentsOf: Array(revision.utf8))
        out.append(contentsOf: Array(#""}"#.utf8))
    }

    /// How many policy errors a plan holds (its `errors` array; most plans end with an empty one).
    static func policyErrors(in plan: [UInt8]) -> Int {
        let empty = Array(#""errors":[]}"#.utf8)
        if plan.count >= empty.count && plan.suffix(empty.count).elementsEqual(empty) { return 0 }
        guard let fields = try? JSONScanner.fields(of: plan),
              let errors = fields.first(where: { $0.key == "errors" }) else { return 0 }
        return errors.elements?.count ?? 0
    }
}
