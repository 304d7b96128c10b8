// The service with a store (`--store URL`): recorded decisions, outcomes, the departments' tasks and history over HTTP.
import Foundation
import NextBest
import NextBestStore

/// The endpoints that need a store, answered from a NextBest store (SQLite or PostgreSQL).
public struct StoreService: ServiceStore {
    /// The store behind the endpoints.
    public let store: any Store
    /// The outcomes `POST /v1/outcomes` and task `done` accept.
    public let outcomes: [String]
    /// The most tasks one `GET /v1/tasks` answers unless `limit` asks for fewer.
    public static let maximumTasks = 10_000

    /// A service over an open store.
    public init(store: any Store, outcomes: [String] = OutcomeCheck.defaultOutcomes) {
        self.store = store
        self.outcomes = outcomes
    }

    /// Whether the store answers a small query.
    public func isReachable() async -> Bool {
        (try? await store.schemaVersion()) != nil
    }

    /// Yes: every decision reads the customer's recorded history.
    public var readsHistory: Bool { true }

    /// The customers' recorded histories in one query.
    public func histories(customers: [String]) async -> Result<[String: [HistoryEntry]], StoreRefusal> {
        if customers.isEmpty { return .success([:]) }
        do {
            return .success(try await store.history(customers: Array(Set(customers)), since: nil))
        } catch {
            return .failure(StoreRefusal(answer: .problem(503, "the customers' history could not be read: \(Self.message(error))")))
        }
    }

    /// Decides each profile with its customer's recorded history and records plans and tasks in
    /// one transaction under the customers' locks (see `Store.recordLocked`).
    public func decideAndRecord(profiles: [[UInt8]], policies: LoadedPolicies, ids: DecisionIDGenerator) async
        -> Result<[RecordedSlot], StoreRefusal> {
        let customers = profiles.map(Self.customerID)
        let run = RecordingRun(profiles: profiles, customers: customers, policies: policies, ids: ids)
        do {
            let (_, slots) = try await store.recordLocked(customers: customers.compactMap { $0 }) { histories in
                run.run(histories)
            }
            return .success(slots)
        } catch {
            return .failure(StoreRefusal(answer: .problem(503, "the decision could not be recorded: \(Self.message(error))")))
        }
    }

    /// `{"outcomes": [...]}` → `{"imported", "duplicates", "errors": [{"outcome": n, "error"}]}`.
    public func importOutcomes(body: [UInt8]) async -> Answer {
        let rows: [RawRow]
        switch Self.outcomeRows(body) {
        case .failure(let a): return a
        case .success(let r): rows = r
        }
        let importer = OutcomeImporter(store: store, check: OutcomeCheck(outcomes: outcomes), batchSize: OutcomeImporter.defaultBatchSize)
        do {
            let summary = try await importer.run(rows)
            let errors: [JSONValue] = summary.errors.map { ["outcome": .int($0.line), "error": .string($0.message)] }
            return .json(200, ["imported": .int(summary.imported), "duplicates": .int(summary.duplicates), "errors": .array(errors)])
        } catch {
            return .problem(503, "the outcomes could not be stored: \(Self.message(error))")
        }
    }

    /// A queue, oldest first; a department token sees only its own department's.
    public func listTasks(department: String?, status: String?, limit: String?, role: TokenRole?) async -> Answer {
        var department = department.flatMap { $0.isEmpty ? nil : $0 }
        if case .department(let own)? = role {
            if let asked = department, asked != own {
                return .problem(403, "a 'department:\(own)' token sees only the tasks of department \(own), not \(asked)")
            }
            department = own
        }
        var wanted: TaskStatus?
        if let s = status {
            guard let st = TaskStatus(rawValue: s) else {
                return .problem(400, "unknown status '\(s)'; the statuses are "
                                + TaskStatus.allCases.map(\.rawValue).joined(separator: ", "))
            }
            wanted = st
        }
        var most = Self.maximumTasks
        if let l = limit {
            guard let n = Int(l), n >= 1, n <= Self.maximumTasks else {
                return .problem(400, "limit must be a whole number from 1 to \(Self.maximumTasks), not '\(l)'")
            }
            most = n
        }
        do {
            let tasks = try await store.tasks(department: department, status: wanted, limit: most)
            return .json(200, ["tasks": .array(tasks.map(Self.json))])
        } catch {
            return .problem(503, "the tasks could not be read: \(Self.message(error))")
        }
    }

    /// `assign` (`{"to": NAME}`), `done` (`{"outcome": O, "note": T?}`) or `cancel` (`{}` or no body).
    public func moveTask(id: String, move: TaskMove, body: [UInt8], role: TokenRole?) async -> Answer {
        let args: [String: String]
        switch Self.moveArguments(body, move: move) {
        case .failure(let a): return a
        case .success(let a): args = a
        }
        if case .done = move, let o = args["outcome"], !outcomes.contains(o) {
            return .problem(400, "unknown outcome '\(o)'; the outcomes are " + outcomes.joined(separator: ", "))
        }
        do {
            guard let task = try await store.task(id) else { return .problem(404, "there is no task \(id)") }
            if case .department(let own)? = role, task.department != own {
                return .problem(403, "task \(id) belongs to department \(task.department); "
                                + "a 'department:\(own)' token moves only its own department's tasks")
            }
            let moved: NextBestStore.TaskMove
            switch move {
            case .assign: moved = try await store.assign(task: id, to: args["to"] ?? "", at: Date())
            case .done: moved = try await store.done(task: id, outcome: args["outcome"] ?? "", note: args["note"], at: Date())
            case .cancel: moved = try await store.cancel(task: id, at: Date())
            }
            return .json(200, ["task": Self.json(moved.task), "changed": .bool(moved.changed)])
        } catch let e as TaskMoveError {
            switch e {
            case .unknownTask: return .problem(404, e.description)
            case .invalid(_, let t): return .problem(409, e.description, ["task": Self.json(t)])
            }
        } catch {
            return .problem(503, "the task could not be moved: \(Self.message(error))")
        }
    }

    /// One customer's contacts and outcomes, newest first.
    public func history(customer: String) async -> Answer {
        do {
            let entries = try await store.history(customer: customer)
            let list: [JSONValue] = entries.map { e in
                var o: [String: JSONValue] = [
                    "kind": .string(e.outcome == nil ? "contact" : "outcome"), "action": .string(e.action),
                    "at": .string(StoreTime.text(e.at)), "channel": e.channel.map(JSONValue.string) ?? .null,
                    "task": e.task.map(JSONValue.string) ?? .null,
                ]
                if let out = e.outcome { o["outcome"] = .string(out) }
                if let v = e.value { o["value"] = .double(v) }
                return .object(o)
            }
            return .json(200, ["customer": .string(customer), "history": .array(list)])
        } catch {
            return .problem(503, "the history could not be read: \(Self.message(error))")
        }
    }

    // MARK: - Reading requests

    /// The text of a profile's `id` (a string's text, or a whole number's digits), or `nil` when it has none.
    static func customerID(_ profile: [UInt8]) -> String? {
        guard let fields = try? JSONScanner.fields(of: profile), let id = fields.first(where: { $0.key == "id" }) else { return nil }
        switch id.kind {
        case .string: return profile.withUnsafeBytes { JSONScanner.string(in: $0, at: id.value) }
        case .number: return String(decoding: profile[id.value], as: UTF8.self)
        default: return nil
        }
    }

    /// The rows of an outcomes body, numbered from 1, or the 400 answer.
    static func outcomeRows(_ body: [UInt8]) -> Result<[RawRow], Answer> {
        let fields: [ScannedField]
        do { fields = try JSONScanner.fields(of: body) } catch {
            return .failure(.problem(400, "the body is not valid JSON: \(error.description)",
                                     ["line": .int(error.line), "column": .int(error.column)]))
        }
        let unknown = fields.map(\.key).filter { $0 != "outcomes" }
        if !unknown.isEmpty {
            return .failure(.problem(400, "unknown field\(unknown.count == 1 ? "" : "s") "
                                     + unknown.map { "\"\($0)\"" }.joined(separator: ", ") + " in the request; the field is outcomes",
                                     ["fields": .array(unknown.map { .string($0) })]))
        }
        guard let list = fields.first, list.kind == .array, let elements = list.elements else {
            return .failure(.problem(400, "send {\"outcomes\": [{\"customer\", \"action\", \"outcome\", \"at\", ...}, ...]}"))
        }
        if elements.count > 10_000 {
            return .failure(.problem(400, "the request holds \(elements.count) outcomes; the most one request may hold is 10000: split it"))
        }
        var rows: [RawRow] = []
        rows.reserveCapacity(elements.count)
        for (i, span) in elements.enumerated() {
            let isObject = body[span.lowerBound] == UInt8(ascii: "{")
            var reader = OutcomeFileReader(bytes: isObject ? Array(body[span]) : Array("{}".utf8), format: .jsonl)
            guard var row = reader.next() else { continue }
            row.line = i + 1
            if !isObject { row.problem = "an outcome must be a JSON object" }
            rows.append(row)
        }
        return .success(rows)
    }

    /// A task move's body fields, checked, or the 400 answer.
    static func moveArguments(_ body: [UInt8], move: TaskMove) -> Result<[String: String], Answer> {
        let allowed: [String], required: [String]
        switch move {
        case .assign: allowed = ["to"]; required = ["to"]
        case .done: allowed = ["outcome", "note"]; required = ["outcome"]
        case .cancel: allowed = []; required = []
        }
        if body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
            if required.isEmpty { return .success([:]) }
            return .failure(.problem(400, "\(move.rawValue) needs a body: {" + required.map { "\"\($0)\": \"...\"" }.joined(separator: ", ") + "}"))
        }
        let fields: [ScannedField]
        do { fields = try JSONScanner.fields(of: body) } catch {
            return .failure(.problem(400, "the body is not valid JSON: \(error.description)",
                                     ["line": .int(error.line), "column": .int(error.column)]))
        }
        var out: [String: String] = [:]
        var unknown: [String] = []
        for f in fields {
            guard allowed.contains(f.key) else { unknown.append(f.key); continue }
            switch f.kind {
            case .string: out[f.key] = body.withUnsafeBytes { JSONScanner.string(in: $0, at: f.value) }
            case .null: break
            default: return .failure(.problem(400, "\"\(f.key)\" must be a string"))
            }
        }
        if !unknown.isEmpty {
            let known = allowed.isEmpty ? "it takes no fields" : "its fields are " + allowed.joined(separator: ", ")
            return .failure(.problem(400, "unknown field\(unknown.count == 1 ? "" : "s") " + unknown.map { "\"\($0)\"" }.joined(separator: ", ")
                                     + " for \(move.rawValue); \(known)", ["fields": .array(unknown.map { .string($0) })]))
        }
        for r in required where (out[r] ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            return .failure(.problem(400, "\(move.rawValue) needs \"\(r)\" (a non-empty string)"))
        }
        return .success(out)
    }

    // MARK: - Writing answers

    /// A task as JSON (times as ISO-8601 UTC; absent values as null).
    static func json(_ t: TaskRecord) -> JSONValue {
        func s(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
        func d(_ v: Date?) -> JSONValue { v.map { .string(StoreTime.text($0)) } ?? .null }
        var fields: JSONValue = .null
        if let text = t.fields, let v = try? JSONValue(parsing: text) { fields = v }
        return [
            "id": .string(t.id), "decision": .string(t.decision), "customer": .string(t.customer), "action": .string(t.action),
            "department": .string(t.department), "channel": .string(t.channel), "priority": .double(t.priority),
            "created_at": d(t.createdAt), "status": .string(t.status.rawValue), "assignee": s(t.assignee),
            "status_at": d(t.statusAt), "due_at": d(t.dueAt), "outcome": s(t.outcome), "note": s(t.note),
            "assigned_at": d(t.assignedAt), "done_at": d(t.doneAt), "policy": s(t.policy),
            "segments": .array(t.segments.map(JSONValue.string)), "fields": fields,
        ]
    }

    /// A store error in plain words.
    static func message(_ error: any Error) -> String {
        if let e = error as? StoreError { return e.description }
        if let e = error as? TaskMoveError { return e.description }
        return "\(error)"
    }
}

/// One recorded decide request, run inside the store's transaction: each profile decided with its
/// customer's history (and the plans made earlier in the same request for that customer), stamped,
/// and turned into a decision and its tasks.
struct RecordingRun: Sendable {
    let profiles: [[UInt8]]
    let customers: [String?]
    let policies: LoadedPolicies
    let ids: DecisionIDGenerator

    func run(_ stored: [String: [HistoryEntry]]) -> (decisions: [RecordedDecision], value: [RecordedSlot]) {
        let engine = policies.engine
        let at = engine.options.now.flatMap(StoreTime.date) ?? Date()
        var histories = stored
        var decisions: [RecordedDecision] = []
        var slots: [RecordedSlot] = []
        for (i, profile) in profiles.enumerated() {
            let customer = customers[i]
            do {
                let plan = try StoreHistory.decide(engine, profile: profile[...], history: customer.flatMap { histories[$0] } ?? [], now: nil)
                let id = ids.next()
                var stamped: [UInt8] = []
                DecideRun.appendStamped(plan, decision: id, revision: policies.revision, into: &stamped)
                let decision = recorded(plan: plan, stamped: stamped, id: id, customer: customer, profile: profile, at: at)
                for (k, t) in decision.tasks.enumerated() {
                    let entry = HistoryEntry(action: t.action, channel: t.channel, at: at, task: decision.taskID(at: k))
                    histories[decision.customer, default: []].insert(entry, at: 0)
                }
                decisions.append(decision)
                slots.append(.plan(stamped))
            } catch {
                var slot: [String: JSONValue] = ["input": .int(i + 1), "error": .string(error.message)]
                if let c = error.customer { slot["customer"] = c }
                let status = { if case .badRecord = error { return 400 } else { return 422 } }()
                slots.append(.error(Array(JSONValue.object(slot).jsonText.utf8), status: status))
            }
        }
        return (decisions, slots)
    }

    /// The decision and its tasks (one per planned action) for a plan.
    private func recorded(plan: [UInt8], stamped: [UInt8], id: String, customer: String?, profile: [UInt8], at: Date) -> RecordedDecision {
        let parsed = (try? JSONValue(parsing: plan)) ?? .null
        let who: String
        switch parsed["customer"] {
        case .string(let s)?: who = s
        case .int(let n)?: who = String(n)
        default: who = customer ?? ""
        }
        let segments = parsed["segments"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var fieldsOf: [String: String] = [:]
        var profileValue: JSONValue?
        var tasks: [RecordedTask] = []
        for a in parsed["actions"]?.arrayValue ?? [] {
            let department = a["department"]?.stringValue ?? ""
            if fieldsOf[department] == nil, let wanted = policies.engine.departmentFields[department], !wanted.isEmpty {
                if profileValue == nil { profileValue = (try? JSONValue(parsing: profile)) ?? .null }
                var o: [String: JSONValue] = [:]
                for path in wanted {
                    var v: JSONValue? = profileValue
                    for part in path.split(separator: ".") { v = v?[String(part)] }
                    o[path] = v ?? .null
                }
                fieldsOf[department] = JSONValue.object(o).jsonText
            }
            tasks.append(RecordedTask(action: a["action"]?.stringValue ?? "", department: department,
                                      channel: a["channel"]?.stringValue ?? "", priority: a["priority"]?.doubleValue ?? 0,
                                      dueAt: nil, policy: a["policy"]?.stringValue, segments: segments,
                                      fields: fieldsOf[department]))
        }
        return RecordedDecision(id: id, run: "serve:" + id, customer: who, revision: policies.revision, at: at,
                                plan: String(decoding: stamped, as: UTF8.self), tasks: tasks)
    }
}
