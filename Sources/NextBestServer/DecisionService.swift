// The service's one HTTP responder: routes, the body limit, tokens, metrics, then each endpoint.
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import NextBest

/// Everything the endpoints share.
public struct ServiceState: Sendable {
    /// The policy set being served.
    public let policies: LivePolicies
    /// Counters and histograms for `/metrics`.
    public let metrics: ServiceMetrics
    /// Tokens, when the service was started with `--tokens`.
    public let tokens: TokenTable?
    /// The store behind `record`, outcomes, tasks and history (``NoStore`` without `--store`).
    public let store: any ServiceStore
    /// Makes the `decision` ids.
    public let ids = DecisionIDGenerator()
    /// The largest body accepted, in bytes.
    public let maxBody: Int
    /// The service's log.
    public let logger: Logger

    /// State for a service.
    public init(policies: LivePolicies, metrics: ServiceMetrics, tokens: TokenTable?, store: any ServiceStore,
                maxBody: Int, logger: Logger) {
        self.policies = policies
        self.metrics = metrics
        self.tokens = tokens
        self.store = store
        self.maxBody = maxBody
        self.logger = logger
    }

    /// Reloads the policy set on the thread pool (off the request path), logs and counts it.
    public func reload(because why: String) async -> ReloadResult {
        let policies = self.policies
        let result: ReloadResult
        do {
            result = try await NIOThreadPool.singleton.runIfActive { policies.reload() }
        } catch {
            result = .failed(ReloadFailure(at: LivePolicies.timestamp(), problems: ["the reload could not run: \(error)"]))
        }
        switch result {
        case .loaded(let revision, let previous):
            metrics.reloaded(ok: true)
            logger.info("policy set reloaded (\(why)): revision \(previous) -> \(revision)")
        case .unchanged(let revision):
            metrics.reloaded(ok: true)
            logger.info("policy set reloaded (\(why)): unchanged, revision \(revision)")
        case .failed(let failure):
            metrics.reloaded(ok: false)
            logger.error("policy set reload failed (\(why)); the old set keeps serving:\n\(failure.problems.joined(separator: "\n"))")
        }
        return result
    }
}

/// The routes of the service, each with the role it needs (`nil`: no token needed).
enum Route: Sendable {
    case healthz, readyz, metrics, openapi, decide, policies, reload, outcomes, tasks
    case moveTask(id: String, move: TaskMove)
    case history(customer: String)

    /// The pattern, for metrics.
    var name: String {
        switch self {
        case .healthz: return "/healthz"
        case .readyz: return "/readyz"
        case .metrics: return "/metrics"
        case .openapi: return "/openapi.yaml"
        case .decide: return "/v1/decide"
        case .policies: return "/v1/policies"
        case .reload: return "/v1/policies/reload"
        case .outcomes: return "/v1/outcomes"
        case .tasks: return "/v1/tasks"
        case .moveTask(_, let m): return "/v1/tasks/{id}/" + m.rawValue
        case .history: return "/v1/customers/{id}/history"
        }
    }

    var permission: Permission? {
        switch self {
        case .healthz, .readyz: return nil
        case .metrics, .openapi, .policies, .tasks, .moveTask: return .anyRole
        case .decide, .outcomes, .history: return .decide
        case .reload: return .admin
        }
    }

    /// The route for a method and path, or the answer when there is none (404, or 405 with `Allow`).
    static func match(method: HTTPRequest.Method, path: String) -> Result<Route, Answer> {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let get = HTTPRequest.Method.get, post = HTTPRequest.Method.post
        func only(_ m: HTTPRequest.Method, _ r: Route) -> Result<Route, Answer> {
            if method == m || (m == get && method == .head) { return .success(r) }
            var a = Answer.problem(405, "\(method.rawValue) is not allowed on \(r.name); use \(m.rawValue)")
            a.headers = [("Allow", m.rawValue)]
            return .failure(a)
        }
        switch parts.count {
        case 1:
            switch parts[0] {
            case "healthz": return only(get, .healthz)
            case "readyz": return only(get, .readyz)
            case "metrics": return only(get, .metrics)
            case "openapi.yaml": return only(get, .openapi)
            default: break
            }
        case 2 where parts[0] == "v1":
            switch parts[1] {
            case "decide": return only(post, .decide)
            case "policies": return only(get, .policies)
            case "outcomes": return only(post, .outcomes)
            case "tasks": return only(get, .tasks)
            default: break
            }
        case 3 where parts[0] == "v1" && parts[1] == "policies" && parts[2] == "reload":
            return only(post, .reload)
        case 4 where parts[0] == "v1" && parts[1] == "tasks":
            if let move = TaskMove(rawValue: parts[3]) {
                return only(post, .moveTask(id: parts[2].removingPercentEncoding ?? parts[2], move: move))
            }
        case 4 where parts[0] == "v1" && parts[1] == "customers" && parts[3] == "history":
            return only(get, .history(customer: parts[2].removingPercentEncoding ?? parts[2]))
        default: break
        }
        return .failure(.problem(404, "no such endpoint: \(path) (the endpoints are listed at /openapi.yaml)"))
    }
}

/// The HTTP responder of `nextbest serve`.
public struct DecisionService: HTTPResponder {
    /// Hummingbird's basic request context.
    public typealias Context = BasicRequestContext

    /// What the endpoints share.
    public let state: ServiceState

    /// A responder over `state`.
    public init(state: ServiceState) { self.state = state }

    /// Answers one request; whatever it sends, the answer is an HTTP status with a JSON message.
    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        var routeName = "unmatched"
        var answer: Answer
        switch Route.match(method: request.method, path: request.uri.path) {
        case .failure(let a):
            answer = a
            // A body over the limit is still refused first, whatever the route.
            if let tooBig = tooLarge(request) { answer = tooBig }
        case .success(let route):
            routeName = route.name
            answer = try await handle(route, request)
        }
        state.metrics.request(route: routeName, method: request.method.rawValue, status: answer.status)
        var headers: HTTPFields = [.contentType: answer.contentType]
        for (name, value) in answer.headers {
            if let field = HTTPFields.Element.Name(name) { headers[field] = value }
        }
        if answer.status == 413 { headers[.connection] = "close" }
        let body = request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body))
        return Response(status: HTTPResponse.Status(code: answer.status), headers: headers, body: body)
    }

    private func tooLarge(_ request: Request) -> Answer? {
        guard let text = request.headers[.contentLength], let n = Int(text), n > state.maxBody else { return nil }
        return bodyTooLarge()
    }

    private func bodyTooLarge() -> Answer {
        .problem(413, "the body is larger than this service accepts (\(state.maxBody) bytes; see --max-body)")
    }

    private func handle(_ route: Route, _ request: Request) async throws -> Answer {
        if let tooBig = tooLarge(request) { return tooBig }
        var role: TokenRole?
        if let permission = route.permission, let tokens = state.tokens {
            switch tokens.role(authorization: request.headers[.authorization]) {
            case .failure(let why):
                var a = Answer.problem(401, why.message)
                a.headers = [("WWW-Authenticate", "Bearer")]
                return a
            case .success(let r):
                guard TokenTable.allows(r, permission) else {
                    return .problem(403, "a '\(r)' token may not call \(route.name)")
                }
                role = r
            }
        }
        // Read the body, counting bytes as they stream in (Content-Length may be absent).
        var body: [UInt8] = []
        for try await chunk in request.body {
            if body.count + chunk.readableBytes > state.maxBody { return bodyTooLarge() }
            body.append(contentsOf: chunk.readableBytesView)
        }
        switch route {
        case .healthz:
            return .json(200, ["status": "ok"])
        case .readyz:
            let current = state.policies.current
            guard await state.store.isReachable() else {
                return .json(503, ["status": "not ready", "error": "the store does not answer"])
            }
            return .json(200, ["status": "ready", "revision": .string(current.revision)])
        case .metrics:
            return Answer(status: 200, body: state.metrics.exposition(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        case .openapi:
            return Answer(status: 200, body: OpenAPIDocument.bytes, contentType: "application/yaml")
        case .decide:
            return await decide(body)
        case .policies:
            return policiesAnswer(status: 200)
        case .reload:
            let result = await state.reload(because: "POST /v1/policies/reload")
            if case .failed = result { return policiesAnswer(status: 422) }
            return policiesAnswer(status: 200)
        case .outcomes:
            return await state.store.importOutcomes(body: body)
        case .tasks:
            let q = request.uri.queryParameters
            let unknown = Set(q.map { String($0.key) }).subtracting(["department", "status", "limit"]).sorted()
            if !unknown.isEmpty {
                return .problem(400, "unknown query parameter\(unknown.count == 1 ? "" : "s") "
                                + unknown.map { "'\($0)'" }.joined(separator: ", ") + "; the parameters are department, status and limit",
                                ["fields": .array(unknown.map { .string($0) })])
            }
            return await state.store.listTasks(department: q["department"].map(String.init),
                                               status: q["status"].map(String.init),
                                               limit: q["limit"].map(String.init), role: role)
        case .moveTask(let id, let move):
            return await state.store.moveTask(id: id, move: move, body: body, role: role)
        case .history(let customer):
            return await state.store.history(customer: customer)
        }
    }

    private func decide(_ body: [UInt8]) async -> Answer {
        let request: DecideRequest
        switch DecideRequest.parse(body) {
        case .failure(let a): return a
        case .success(let r): request = r
        }
        let policies = state.policies.current  // this request finishes on this set, whatever reloads meanwhile
        let started = ContinuousClock.now
        let outcome: DecideOutcome
        if request.record {
            let profiles = request.profiles.map { Array(body[$0]) }
            let store = state.store, ids = state.ids
            switch await state.metrics.inFlight({ await store.decideAndRecord(profiles: profiles, policies: policies, ids: ids) }) {
            case .failure(let refusal): return refusal.answer
            case .success(let slots): outcome = DecisionService.recordedOutcome(slots, batch: request.batch)
            }
        } else {
            var run = DecideRun(request: request, body: body, policies: policies, ids: state.ids)
            if state.store.readsHistory {
                let customers = request.profiles.compactMap { StoreService.customerID(Array(body[$0])) }
                switch await state.store.histories(customers: customers) {
                case .failure(let refusal): return refusal.answer
                case .success(let h): run.histories = h
                }
            }
            let ready = run
            if request.profiles.count == 1 && !request.explain {
                // One profile is a few tens of microseconds of work, bounded by the policies'
                // instruction budget: decided on this task, a hop to the thread pool and back would
                // cost about as much as the decision.
                outcome = await state.metrics.inFlight { ready.run() }
            } else {
                do {
                    outcome = try await state.metrics.inFlight { try await NIOThreadPool.singleton.runIfActive { ready.run() } }
                } catch {
                    return .problem(503, "the service is shutting down")
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        let nanos = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        state.metrics.decided(nanoseconds: nanos, plans: outcome.plans, badProfiles: outcome.badProfiles,
                              policyErrors: outcome.policyErrors)
        return outcome.answer
    }

    private static func recordedOutcome(_ slots: [RecordedSlot], batch: Bool) -> DecideOutcome {
        var outcome = DecideOutcome(answer: Answer(status: 200, body: []))
        if !batch, case .error(let b, let status)? = slots.first {
            // One profile that cannot be decided: the error object is the answer, with "input" left out.
            var o = (try? JSONValue(parsing: b))?.objectValue ?? [:]
            o["input"] = nil
            o["error"] = .string("the profile cannot be decided: " + (o["error"]?.stringValue ?? ""))
            outcome.answer = .json(status, .object(o))
            outcome.badProfiles = 1
            return outcome
        }
        var out = Array((batch ? #"{"plans":["# : #"{"plan":"#).utf8)
        for (i, slot) in slots.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            switch slot {
            case .plan(let b):
                outcome.plans += 1
                outcome.policyErrors += DecideRun.policyErrors(in: b)
                out.append(contentsOf: b)
            case .error(let b, _):
                outcome.badProfiles += 1
                out.append(contentsOf: b)
            }
        }
        out.append(contentsOf: Array((batch ? "]}" : "}").utf8))
        outcome.answer.body = out
        return outcome
    }

    private func policiesAnswer(status: Int) -> Answer {
        let c = state.policies.current
        var o: [String: JSONValue] = [
            "directory": .string(state.policies.directory),
            "revision": .string(c.revision),
            "loaded_at": .string(c.loadedAt),
            "counts": ["segments": .int(c.segments), "actions": .int(c.actions), "policies": .int(c.policies),
                       "tests": .int(c.tests), "departments": .int(c.departments.count)],
            "departments": .array(c.departments.map { .string($0) }),
            "warnings": .array(c.warnings.map { .string($0) }),
            "last_failed_reload": .null,
        ]
        if let f = state.policies.lastFailure {
            o["last_failed_reload"] = ["at": .string(f.at), "problems": .array(f.problems.map { .string($0) })]
        }
        return .json(status, .object(o))
    }
}
