// Hot reload and graceful shutdown of a real `nextbest serve`, with a deliberately slow policy.
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A one-policy set whose policy spins `c.spin` loop turns before proposing; `reason` tells versions apart.
func slowSet(reason: String) -> String {
    """
    action "slow_call" { department = "service", channel = "phone" }
    policy "slow" {
      propose = function(c)
        local x = 0
        for i = 1, (c.spin or 0) do x = x + i end
        return { action = "slow_call", priority = 50, reason = "\(reason)" }
      end,
    }
    """
}

/// Polls `body` every 100 ms until it is true or `seconds` pass.
func eventually(seconds: Double, _ body: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try body() { return true }
        usleep(100_000)
    }
    return try body()
}

/// A request sent on its own thread; `reply` is set when it is answered.
final class RequestInFlight: @unchecked Sendable {
    /// The answer, once there is one.
    final class Slot: Sendable {
        let value = Mutex<Result<HTTPReply, TestFailure>?>(nil)
    }
    private let result = Slot()
    private let thread: Thread

    init(port: Int, method: String, path: String, body: String) {
        let result = self.result
        thread = Thread {
            let r: Result<HTTPReply, TestFailure>
            do { r = .success(try HTTPClient(port: port).send(method, path, body: Array(body.utf8))) }
            catch { r = .failure(TestFailure("\(error)")) }
            result.value.withLock { $0 = r }
        }
        thread.start()
    }

    var isDone: Bool { result.value.withLock { $0 != nil } }

    /// Waits for the answer.
    func reply(seconds: Double = 60) throws -> HTTPReply {
        _ = eventually(seconds: seconds) { isDone }
        guard let r = result.value.withLock({ $0 }) else { throw TestFailure("no answer within \(seconds) s") }
        return try r.get()
    }
}

/// Whether the server's `/metrics` shows a decision in flight.
func decisionInFlight(_ server: ServerProcess) throws -> Bool {
    try server.request("GET", "/metrics").text.contains("nextbest_decide_in_flight 1")
}

@Suite("nextbest serve: reload and shutdown", .serialized)
struct ReloadAndShutdownTests {
    static let profile = #"{"id":"C1","annual_revenue":82000,"tenure_months":3,"churn_risk":0.1}"#

    func revision(_ server: ServerProcess) throws -> String {
        try server.request("GET", "/v1/policies").json["revision"] as? String ?? ""
    }

    @Test func aGoodSetChangesTheRevisionAndABadOneKeepsTheOldServing() throws {
        let dir = try temporaryDirectory() + "/policies"
        try copyFolder(samplePolicies, to: dir)
        let server = try ServerProcess(["--policies", dir])
        let first = try revision(server)
        #expect(first.count == 16)

        // A good change, through POST /v1/policies/reload.
        let win = dir + "/win_back.lua"
        let original = try String(contentsOfFile: win, encoding: .utf8)
        try write(original + "\n-- a harmless comment\n", to: win)
        let reloaded = try server.request("POST", "/v1/policies/reload")
        #expect(reloaded.status == 200)
        let second = reloaded.json["revision"] as? String ?? ""
        #expect(second != first && second.count == 16)
        #expect(reloaded.json["last_failed_reload"] is NSNull)

        // A broken file: 422, the failure shown with file:line, the old set still serving.
        try write(original + "\npolicy \"oops\" {\n  segments = { \"dormant\" ,\n}\n", to: win)
        let failed = try server.request("POST", "/v1/policies/reload")
        #expect(failed.status == 422)
        #expect(failed.json["revision"] as? String == second)
        let status = try server.request("GET", "/v1/policies").json
        let failure = status["last_failed_reload"] as? [String: Any] ?? [:]
        let problems = failure["problems"] as? [String] ?? []
        #expect(problems.contains { $0.range(of: #"win_back\.lua:\d+: "#, options: .regularExpression) != nil }, "\(problems)")
        let decided = try server.request("POST", "/v1/decide", body: #"{"profile":\#(Self.profile)}"#)
        #expect(decided.status == 200)
        #expect((decided.json["plan"] as? [String: Any])?["revision"] as? String == second)

        // Fixed again, by SIGHUP: the failure clears and the revision is the first one again.
        try write(original, to: win)
        server.signal(SIGHUP)
        #expect(try eventually(seconds: 20) { try revision(server) == first })
        #expect(try server.request("GET", "/v1/policies").json["last_failed_reload"] is NSNull)
        #expect(server.stderr.contains("reloaded (SIGHUP)"))
        let metrics = try server.request("GET", "/metrics").text
        #expect(metrics.contains(#"nextbest_reloads_total{result="failed"} 1"#))
        #expect(metrics.contains(#"nextbest_reloads_total{result="loaded"} 2"#))
    }

    @Test func watchReloadsWhenAFileChanges() throws {
        let dir = try temporaryDirectory() + "/policies"
        try copyFolder(samplePolicies, to: dir)
        let server = try ServerProcess(["--policies", dir, "--watch"])
        let first = try revision(server)
        try write("-- a new file\naction \"extra_call\" { department = \"sales\", channel = \"phone\" }\n", to: dir + "/extra.lua")
        #expect(try eventually(seconds: 20) { try revision(server) != first })
        #expect(server.stderr.contains("changed"))
    }

    @Test func aRequestInFlightFinishesOnTheSetItStartedWith() throws {
        let dir = try temporaryDirectory()
        try write(slowSet(reason: "version one"), to: dir + "/slow.lua")
        let server = try ServerProcess(["--policies", dir, "--instruction-budget", "0"])
        let before = try revision(server)
        let slow = RequestInFlight(port: server.port, method: "POST", path: "/v1/decide",
                                   body: #"{"profile":{"id":"S","spin":300000000,"consent":{"phone":true}}}"#)
        #expect(try eventually(seconds: 30) { try decisionInFlight(server) })
        try write(slowSet(reason: "version two"), to: dir + "/slow.lua")
        let reloaded = try server.request("POST", "/v1/policies/reload")
        #expect(reloaded.status == 200)
        #expect(!slow.isDone, "the slow request ended before the reload did: make the spin longer")
        let after = reloaded.json["revision"] as? String ?? ""
        #expect(after != before)
        // A new request runs on the new set at once, while the old one is still deciding.
        let quick = try server.request("POST", "/v1/decide", body: #"{"profile":{"id":"Q","consent":{"phone":true}}}"#)
        let quickPlan = quick.json["plan"] as? [String: Any] ?? [:]
        #expect(quickPlan["revision"] as? String == after)
        #expect(((quickPlan["actions"] as? [[String: Any]])?.first?["reason"] as? String) == "version two")
        // The slow one finishes on the set it started with.
        let plan = try slow.reply().json["plan"] as? [String: Any] ?? [:]
        #expect(plan["revision"] as? String == before)
        #expect(((plan["actions"] as? [[String: Any]])?.first?["reason"] as? String) == "version one")
    }

    @Test func sigtermLetsASlowRequestFinishAndExits0() throws {
        let dir = try temporaryDirectory()
        try write(slowSet(reason: "slow"), to: dir + "/slow.lua")
        let server = try ServerProcess(["--policies", dir, "--instruction-budget", "0"])
        let slow = RequestInFlight(port: server.port, method: "POST", path: "/v1/decide",
                                   body: #"{"profile":{"id":"S","spin":100000000,"consent":{"phone":true}}}"#)
        #expect(try eventually(seconds: 30) { try decisionInFlight(server) })
        server.signal(SIGTERM)
        let reply = try slow.reply()
        #expect(reply.status == 200)
        #expect(((reply.json["plan"] as? [String: Any])?["actions"] as? [Any])?.count == 1)
        #expect(server.waitForExit(seconds: 10) == 0, "\(server.stderr)")
        // Nothing listens any more.
        #expect((try? HTTPClient(port: server.port)) == nil)
    }

    @Test func sigintOnAnIdleServerExits0() throws {
        let server = try ServerProcess(["--policies", samplePolicies])
        #expect(try server.request("GET", "/healthz").status == 200)
        server.signal(SIGINT)
        #expect(server.waitForExit(seconds: 10) == 0)
    }
}
