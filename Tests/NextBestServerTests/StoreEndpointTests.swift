// `nextbest serve --store`: recorded decisions, outcomes, tasks over HTTP, history, readiness — real servers on a real store.
import Foundation
import NextBestStore
import Testing

/// A small set: a newsletter by email (held back by the email cap of issue 12 alone: at most 1 a week), and a
/// call for customers with open tickets, each with its department.
let recordSet = """
    channel "email" { max = 1, per_days = 7 }
    channel "phone" { }
    department "marketing" { fields = { "name", "email" } }
    department "service" { fields = { "name" } }
    action "newsletter" { department = "marketing", channel = "email" }
    action "care_call" { department = "service", channel = "phone", cooldown_days = 3 }
    policy "everyone" { action = "newsletter", priority = 10, reason = "monthly news" }
    policy "tickets" {
      when = function(c) return (c.open_tickets or 0) > 0 end,
      action = "care_call", priority = 50, reason = "open tickets",
    }
    """

/// A profile that consents to email and phone.
func recordProfile(_ id: String, tickets: Int = 0) -> String {
    #"{"id":"\#(id)","name":"Name \#(id)","email":"\#(id)@example.com","open_tickets":\#(tickets),"consent":{"email":true,"phone":true}}"#
}

/// The actions of a plan object.
func actions(_ plan: Any?) -> [String] {
    ((plan as? [String: Any])?["actions"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
}

/// The plan of an answer body.
func planOf(_ reply: HTTPReply) -> [String: Any] { reply.json["plan"] as? [String: Any] ?? [:] }

@Suite("nextbest serve --store", .serialized)
struct StoreEndpointTests {
    func policies() throws -> String {
        let dir = try temporaryDirectory()
        try write(recordSet, to: dir + "/set.lua")
        return dir
    }

    @Test func recordedDecisionsAreStampedStoredAndSeenByTheNextDecision() async throws {
        let place = try FreshStore.sqlite()
        defer { Task { await place.remove() } }
        let server = try ServerProcess(["--policies", try policies(), "--store", place.argument])
        #expect(try server.request("GET", "/readyz").status == 200)

        let first = try server.request("POST", "/v1/decide", body: #"{"profile":\#(recordProfile("C1", tickets: 2)),"record":true}"#)
        #expect(first.status == 200, "\(first.text)")
        let plan = planOf(first)
        #expect(actions(plan) == ["care_call", "newsletter"])
        let decision = try #require(plan["decision"] as? String)
        #expect((plan["revision"] as? String)?.isEmpty == false)

        // The store holds the decision and its two tasks, with the departments' fields.
        let tasks = try await place.with { try await $0.tasks(department: nil, status: nil, limit: nil) }
        #expect(tasks.map(\.decision) == [decision, decision])
        #expect(Set(tasks.map(\.action)) == ["care_call", "newsletter"])
        let news = try #require(tasks.first { $0.action == "newsletter" })
        #expect(news.fields?.contains("C1@example.com") == true)
        #expect(news.status == .open && news.customer == "C1")

        // The next decision for C1 reads the recorded contacts: the call is in its cooldown, the
        // newsletter held back by the email cap.
        let second = try server.request("POST", "/v1/decide", body: #"{"profile":\#(recordProfile("C1", tickets: 2)),"record":true}"#)
        #expect(actions(planOf(second)) == [])
        let reasons = (planOf(second)["suppressed"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(reasons.count == 2 && reasons.contains { $0.contains("cooldown") }
                && reasons.contains("channel email: 1 contact in the last 7 days (at most 1)"), "\(reasons)")
        // A decision without record reads the history too, and writes nothing.
        let dry = try server.request("POST", "/v1/decide", body: #"{"profiles":[\#(recordProfile("C1")),\#(recordProfile("C2"))]}"#)
        let dryPlans = dry.json["plans"] as? [Any] ?? []
        #expect(actions(dryPlans.first) == [] && actions(dryPlans.last) == ["newsletter"])
        #expect(try await place.with { try await $0.counts() }.decisions == 2)

        // A batch with the same customer twice: the second sees the first's tasks.
        let batch = try server.request("POST", "/v1/decide",
                                       body: #"{"profiles":[\#(recordProfile("C3")),\#(recordProfile("C3")),{"name":"no id"}],"record":true}"#)
        let plans = batch.json["plans"] as? [Any] ?? []
        #expect(plans.count == 3)
        #expect(actions(plans.first) == ["newsletter"])
        #expect(actions(plans.dropFirst().first) == [])
        #expect((plans.last as? [String: Any])?["error"] != nil)

        // now and explain are refused with record; a single bad profile is its own error.
        #expect(try server.request("POST", "/v1/decide", body: #"{"profile":{"id":"X"},"record":true,"now":"2026-11-01"}"#).status == 400)
        #expect(try server.request("POST", "/v1/decide", body: #"{"profile":{"id":"X"},"record":true,"explain":true}"#).status == 400)
        #expect(try server.request("POST", "/v1/decide", body: #"{"profile":{"name":"no id"},"record":true}"#).status == 400)
        #expect(try server.request("GET", "/healthz").status == 200)
    }

    @Test func outcomesTasksAndHistoryOverHTTP() async throws {
        let place = try FreshStore.sqlite()
        defer { Task { await place.remove() } }
        let dir = try policies()
        let tokens = dir + "/tokens"
        try write("adm admin\nmkt department:marketing\nsvc department:service\napp decide\n", to: tokens)
        let server = try ServerProcess(["--policies", dir, "--store", place.argument, "--tokens", tokens])
        func call(_ m: String, _ path: String, _ token: String, _ body: String? = nil) throws -> HTTPReply {
            try server.request(m, path, body: body, headers: ["Authorization": "Bearer " + token])
        }
        for c in ["A1", "A2"] {
            #expect(try call("POST", "/v1/decide", "app", #"{"profile":\#(recordProfile(c, tickets: 1)),"record":true}"#).status == 200)
        }

        // A department token sees only its own queue.
        let mine = try call("GET", "/v1/tasks", "mkt")
        let queue = mine.json["tasks"] as? [[String: Any]] ?? []
        #expect(queue.count == 2 && queue.allSatisfy { $0["department"] as? String == "marketing" })
        #expect(((queue.first?["fields"] as? [String: Any])?["name"] as? String) == "Name A1")
        #expect(try call("GET", "/v1/tasks?department=service", "mkt").status == 403)
        #expect((try call("GET", "/v1/tasks?status=open", "adm").json["tasks"] as? [Any])?.count == 4)
        #expect(try call("GET", "/v1/tasks?status=waiting", "adm").status == 400)
        let serviceTask = try #require((try call("GET", "/v1/tasks", "svc").json["tasks"] as? [[String: Any]])?.first?["id"] as? String)
        let marketingTask = try #require(queue.first?["id"] as? String)

        // Moves: a department moves only its own tasks; an invalid move is 409 and changes nothing.
        #expect(try call("POST", "/v1/tasks/\(serviceTask)/assign", "mkt", #"{"to":"eve"}"#).status == 403)
        let assigned = try call("POST", "/v1/tasks/\(serviceTask)/assign", "svc", #"{"to":"sam"}"#)
        #expect(assigned.status == 200)
        #expect(((assigned.json["task"] as? [String: Any])?["assignee"] as? String) == "sam")
        let taken = try call("POST", "/v1/tasks/\(serviceTask)/assign", "svc", #"{"to":"kim"}"#)
        #expect(taken.status == 409)
        #expect(taken.text.contains("assigned to sam"))
        #expect(try call("POST", "/v1/tasks/\(serviceTask)/done", "svc", #"{"outcome":"acepted"}"#).status == 400)
        #expect(try call("POST", "/v1/tasks/\(serviceTask)/done", "svc", #"{"outcome":"accepted","note":"happy"}"#).status == 200)
        #expect(try call("POST", "/v1/tasks/\(serviceTask)/cancel", "svc").status == 409)
        #expect(try call("POST", "/v1/tasks/\(marketingTask)/cancel", "mkt").status == 200)
        #expect(try call("POST", "/v1/tasks/\(marketingTask)/done", "mkt", #"{"outcome":"accepted"}"#).status == 409)
        #expect(try call("POST", "/v1/tasks/nope-1/cancel", "adm").status == 404)
        #expect(try call("POST", "/v1/tasks/\(marketingTask)/assign", "mkt", #"{"who":"x"}"#).status == 400)
        let moved = try await place.with { try await $0.task(serviceTask) }
        #expect(moved?.status == .done && moved?.outcome == "accepted")

        // Outcomes: imported, then duplicates; bad rows are errors by position.
        let body = #"""
            {"outcomes":[
              {"id":"o1","customer":"A2","action":"newsletter","outcome":"declined","at":"2026-11-02T10:00:00Z"},
              {"id":"o2","customer":"A2","action":"newsletter","outcome":"maybe","at":"2026-11-02"},
              {"customer":"A2","action":"newsletter","outcome":"accepted","at":"2026-11-03","task":"no-such-task"}
            ]}
            """#
        let imported = try call("POST", "/v1/outcomes", "adm", body)
        #expect(imported.status == 200, "\(imported.text)")
        #expect(imported.json["imported"] as? Int == 1)
        let errors = imported.json["errors"] as? [[String: Any]] ?? []
        #expect(errors.compactMap { $0["outcome"] as? Int } == [2, 3])
        let again = try call("POST", "/v1/outcomes", "adm", body)
        #expect(again.json["imported"] as? Int == 0 && again.json["duplicates"] as? Int == 1)
        #expect(try call("POST", "/v1/outcomes", "adm", #"{"rows":[]}"#).status == 400)
        #expect(try call("POST", "/v1/outcomes", "mkt", body).status == 403)

        // History: contacts and outcomes, newest first; the cancelled task is no contact.
        let history = try call("GET", "/v1/customers/A2/history", "adm")
        let entries = history.json["history"] as? [[String: Any]] ?? []
        #expect(entries.last?["outcome"] as? String == "declined")  // 2026-11-02: older than the tasks made today
        #expect(entries.filter { $0["kind"] as? String == "contact" }.count == 2)
        let a1 = try call("GET", "/v1/customers/A1/history", "adm").json["history"] as? [[String: Any]] ?? []
        #expect(a1.compactMap { $0["action"] as? String }.sorted() == ["care_call", "care_call"])  // the call and its outcome
        #expect(try call("GET", "/healthz", "none").status == 200)
    }

    @Test func withoutAStoreTheStoreEndpointsAnswer501() throws {
        let server = try ServerProcess(["--policies", try policies()])
        #expect(try server.request("POST", "/v1/decide", body: #"{"profile":{"id":"X"},"record":true}"#).status == 501)
        #expect(try server.request("GET", "/v1/tasks").status == 501)
        #expect(try server.request("POST", "/v1/outcomes", body: #"{"outcomes":[]}"#).status == 501)
    }

    @Test func aStoreThatCannotBeOpenedStopsTheStartWithExit2() throws {
        let dir = try temporaryDirectory()
        let (status, _) = try runNextbest(["serve", "--policies", try policies(), "--port", "0", "--store", "sqlite:" + dir])
        #expect(status == 2)
        let (bad, _) = try runNextbest(["serve", "--policies", try policies(), "--port", "0", "--store", "mysql://x"])
        #expect(bad == 2)
    }
}
