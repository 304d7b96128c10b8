// The seam between the service and a store (`--store URL`): the endpoints that need history go through it.
import NextBest
import NextBestStore

/// A task move (`POST /v1/tasks/{id}/assign`, `/done`, `/cancel`).
public enum TaskMove: String, Sendable, CaseIterable {
    /// `open → assigned`; the body names the assignee.
    case assign
    /// `→ done`; the body gives the outcome.
    case done
    /// `→ cancelled`.
    case cancel
}

/// One slot of a recorded decision: a plan (already stamped with `decision` and `revision`) or an error object.
public enum RecordedSlot: Sendable {
    /// The plan's JSON bytes.
    case plan([UInt8])
    /// The error object's JSON bytes (`{"input": n, "error": "...", "customer": ...}`) and the
    /// status a request holding only this profile answers (400 unreadable, 422 not decidable).
    case error([UInt8], status: Int)
}

/// What the service needs from a store. A store answers each endpoint itself (status and JSON
/// body), so the service stays the same whichever store is behind it. The caller has already
/// checked the token's role for the endpoint; `role` is passed on for the department check on tasks.
public protocol ServiceStore: Sendable {
    /// Whether the store answers (part of `/readyz`).
    func isReachable() async -> Bool
    /// Whether decisions read customers' recorded history from this store.
    var readsHistory: Bool { get }
    /// The recorded histories (newest first) of the customers, in one query, for decisions made without `record`.
    func histories(customers: [String]) async -> Result<[String: [HistoryEntry]], StoreRefusal>
    /// Decides `profiles` (JSON bytes each) with `policies`, reading each customer's history and
    /// recording the plans and their tasks, one customer at a time under its lock.
    func decideAndRecord(profiles: [[UInt8]], policies: LoadedPolicies, ids: DecisionIDGenerator) async -> Result<[RecordedSlot], StoreRefusal>
    /// `POST /v1/outcomes` with its JSON body.
    func importOutcomes(body: [UInt8]) async -> Answer
    /// `GET /v1/tasks?department=D&status=S&limit=N`.
    func listTasks(department: String?, status: String?, limit: String?, role: TokenRole?) async -> Answer
    /// `POST /v1/tasks/{id}/assign|done|cancel` with its JSON body (409 on an invalid move).
    func moveTask(id: String, move: TaskMove, body: [UInt8], role: TokenRole?) async -> Answer
    /// `GET /v1/customers/{id}/history`.
    func history(customer: String) async -> Answer
}

/// Why a store did not record a decision; becomes the answer.
public struct StoreRefusal: Error, Sendable {
    /// The answer to send instead.
    public var answer: Answer
    /// A refusal with this answer.
    public init(answer: Answer) { self.answer = answer }
}

/// The service without a store: decide works (without `record`); every endpoint that needs a
/// store answers 501 with a message saying the service was started without `--store`.
public struct NoStore: ServiceStore {
    /// The store-less seam.
    public init() {}

    /// The 501 answer for `what`.
    public static func notImplemented(_ what: String) -> Answer {
        .problem(501, "\(what) needs a store, and this service was started without --store: "
                    + "start it with --store URL (sqlite:PATH or postgres://...) to use it")
    }

    /// Always reachable: there is nothing to reach.
    public func isReachable() async -> Bool { true }

    /// No: there is no history to read.
    public var readsHistory: Bool { false }

    /// No history.
    public func histories(customers: [String]) async -> Result<[String: [HistoryEntry]], StoreRefusal> { .success([:]) }

    /// 501: recording needs a store.
    public func decideAndRecord(profiles: [[UInt8]], policies: LoadedPolicies, ids: DecisionIDGenerator) async -> Result<[RecordedSlot], StoreRefusal> {
        .failure(StoreRefusal(answer: NoStore.notImplemented("\"record\": true")))
    }

    /// 501.
    public func importOutcomes(body: [UInt8]) async -> Answer { NoStore.notImplemented("POST /v1/outcomes") }

    /// 501.
    public func listTasks(department: String?, status: String?, limit: String?, role: TokenRole?) async -> Answer {
        NoStore.notImplemented("GET /v1/tasks")
    }

    /// 501.
    public func moveTask(id: String, move: TaskMove, body: [UInt8], role: TokenRole?) async -> Answer {
        NoStore.notImplemented("POST /v1/tasks/{id}/\(move.rawValue)")
    }

    /// 501.
    public func history(customer: String) async -> Answer { NoStore.notImplemented("GET /v1/customers/{id}/history") }
}
