// CLI tests for a department's queue (tasks list/assign/done/cancel) and `report` on a store — real processes, real stores.
import Foundation
import NextBest
import NextBestReport
import NextBestStore
import Testing

/// Writes decisions through the store API: one per customer, tasks as given, the sales fields from a profile.
private func fill(_ url: String, _ decisions: [RecordedDecision]) async throws {
    let (s, _) = try await openStore(try StoreURL(url))
    _ = try await s.record(decisions)
    await s.close()
}

/// A time from ISO text.
private func at(_ text: String) -> Date { StoreTime.date(text)! }

/// A decision of one customer with tasks (action, department, channel, due) and the declared sales fields.
private func decision(_ id: String, _ customer: String, _ when: String, name: String,
                      tasks: [(String, String, String, String?)], plan: String? = nil) -> RecordedDecision {
    let profile: JSONValue = ["id": .string(customer), "name": .string(name), "email": .string(customer.lowercased() + "@example.com"),
                              "phone": "+39 02 555 0100"]
    return RecordedDecision(
        id: id, run: "r1", customer: customer, revision: "abc", at: at(when),
        plan: plan ?? "{\"customer\":\"\(customer)\",\"segments\":[\"high_value\"]}",
        tasks: tasks.map { a, d, c, due in
            RecordedTask(action: a, department: d, channel: c, priority: 50, dueAt: due.map(at), policy: "retention",
                         segments: ["high_value"], fields: RecordedTask.fields(["name", "email", "phone"], from: profile))
        })
}

@Suite("Tasks and report commands")
struct TasksCommandTests {
    @Test("a department's queue: list as table, JSON and CSV with the profile fields; assign, done, cancel; invalid moves change nothing",
          arguments: CLIBackend.available)
    func departmentDay(_ backend: CLIBackend) async throws {
        let dir = try temporaryDirectory()
        let url = try freshStoreURL(backend, in: dir)
        try await fill(url, [
            decision("D2", "C2", "2026-11-02T09:00:00Z", name: "Luca Bianchi", tasks: [("retention_offer", "sales", "phone", "2099-01-01")]),
            decision("D1", "C1", "2026-11-01T09:00:00Z", name: "Maria Rossi",
                     tasks: [("retention_offer", "sales", "phone", "2099-01-01"), ("newsletter", "marketing", "email", nil)]),
            decision("D3", "C3", "2026-11-03T09:00:00Z", name: "Sara Verdi", tasks: [("upgrade_call", "sales", "phone", "2026-11-04")]),
        ])
        // The table: oldest first, the expired task (due 2026-11-04) left out of the open ones.
        var out = try nextbest("tasks", "list", "--store", url, "--department", "sales", "--status", "open")
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.first == "sales: 2 open tasks, oldest first (times in UTC)")
        #expect(out.lines[1].hasPrefix("TASK") && out.lines[1].hasSuffix("ASSIGNEE  name          email           phone"), "\(out.lines[1])")
        #expect(out.lines[2].hasPrefix("D1-1  2026-11-01 09:00  2099-01-01 00:00  C1        retention_offer  phone    open    -"))
        #expect(out.lines[2].hasSuffix("-         Maria Rossi   c1@example.com  +39 02 555 0100"), "\(out.lines[2])")
        #expect(out.lines[3].hasPrefix("D2-1") && out.lines.count == 4)

        out = try nextbest("tasks", "list", "--store", url, "--department", "sales", "--status", "expired", "--format", "json")
        let doc = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
        let tasks = doc?["tasks"] as? [[String: Any]]
        #expect(doc?["count"] as? Int == 1 && tasks?.first?["id"] as? String == "D3-1")
        #expect(tasks?.first?["status"] as? String == "expired" && tasks?.first?["status_at"] as? String == "2026-11-04T00:00:00Z")
        #expect((tasks?.first?["fields"] as? [String: Any])?["email"] as? String == "c3@example.com")

        out = try nextbest("tasks", "list", "--store", url, "--format", "csv")
        let csv = out.stdout.components(separatedBy: "\r\n")
        #expect(csv[0] == "\u{FEFF}\"id\",\"created_at\",\"due_at\",\"customer\",\"action\",\"department\",\"channel\",\"priority\",\"status\",\"assignee\",\"status_at\",\"policy\",\"name\",\"email\",\"phone\"")
        #expect(csv.count == 6 && csv[2].hasPrefix("\"D1-2\",\"2026-11-01T09:00:00Z\",\"\",\"C1\",\"newsletter\",\"marketing\""))

        // Assign, then someone else tries: refused, told who has it.
        out = try nextbest("tasks", "assign", "D1-1", "--to", "Giulia", "--store", url)
        #expect(out.status == 0 && out.stdout == "task D1-1: assigned to Giulia\n", "\(out.stdout)\(out.stderr)")
        out = try nextbest("tasks", "assign", "D1-1", "--to", "Marco", "--store", url)
        #expect(out.status == 1 && out.stderr.contains("cannot assign task D1-1: it is assigned to Giulia"), "\(out.stderr)")
        out = try nextbest("tasks", "assign", "D1-1", "--to", "Giulia", "--store", url)
        #expect(out.status == 0 && out.stdout.contains("already assigned to Giulia; nothing changed"))

        // Done records the outcome: the customer's history shows it.
        out = try nextbest("tasks", "done", "D1-1", "--outcome", "accepted", "--note", "called back", "--store", url)
        #expect(out.status == 0 && out.stdout == "task D1-1: done (accepted); outcome recorded\n", "\(out.stderr)")
        out = try nextbest("history", "--store", url, "--customer", "C1", "--format", "json")
        #expect(out.stdout.contains("\"outcome\":\"accepted\"") && out.stdout.contains("\"task\":\"D1-1\""), "\(out.stdout)")

        // Cancel, then the invalid moves: each exits 1 and changes nothing.
        #expect(try nextbest("tasks", "cancel", "D2-1", "--store", url).status == 0)
        let before = try nextbest("tasks", "list", "--store", url, "--format", "json").stdout
        let countsBefore = try await storeCounts(url)
        out = try nextbest("tasks", "done", "D2-1", "--outcome", "accepted", "--store", url)
        #expect(out.status == 1 && out.stderr.contains("cannot mark done task D2-1: it was cancelled on"), "\(out.stderr)")
        out = try nextbest("tasks", "assign", "D1-1", "--to", "Marco", "--store", url)
        #expect(out.status == 1 && out.stderr.contains("it is already done by Giulia (accepted)"), "\(out.stderr)")
        out = try nextbest("tasks", "cancel", "NOPE-1", "--store", url)
        #expect(out.status == 1 && out.stderr.contains("there is no task NOPE-1"), "\(out.stderr)")
        out = try nextbest("tasks", "assign", "D3-1", "--to", "Marco", "--store", url)
        #expect(out.status == 1 && out.stderr.contains("it expired on 2026-11-04T00:00:00Z"), "\(out.stderr)")
        out = try nextbest("tasks", "done", "D1-2", "--outcome", "acepted", "--store", url)
        #expect(out.status == 2 && out.stderr.contains("unknown outcome 'acepted'"), "\(out.stderr)")
        let after = try nextbest("tasks", "list", "--store", url, "--format", "json").stdout
        // The expired task's status was written by the refused move; read as expired before and after.
        #expect(before == after)
        #expect(try await storeCounts(url) == countsBefore)

        // A set with its own outcomes: `done --policies` takes them; without the set, only the default list.
        try write("""
            channel "email" { }
            department "marketing" { }
            action "newsletter" { department = "marketing", channel = "email" }
            policy "everyone" { propose = function(c) return { { action = "newsletter", priority = 50 } } end }
            contact_policy { outcomes = { "accepted", "callback" } }
            """, to: dir + "/own/set.lua")
        out = try nextbest("tasks", "done", "D1-2", "--outcome", "callback", "--store", url)
        #expect(out.status == 2 && out.stderr.contains("unknown outcome 'callback'"), "\(out.stderr)")
        out = try nextbest("tasks", "done", "D1-2", "--outcome", "declined", "--policies", dir + "/own", "--store", url)
        #expect(out.status == 2 && out.stderr.contains("known: accepted, callback"), "\(out.stderr)")
        out = try nextbest("tasks", "done", "D1-2", "--outcome", "callback", "--policies", dir + "/own", "--store", url)
        #expect(out.status == 0 && out.stdout == "task D1-2: done (callback); outcome recorded\n", "\(out.stderr)")
        out = try nextbest("history", "--store", url, "--customer", "C1", "--format", "json")
        #expect(out.stdout.contains("\"outcome\":\"callback\"") && out.stdout.contains("\"task\":\"D1-2\""), "\(out.stdout)")
    }

    @Test("two people assigning the same task at the same moment: exactly one wins, the other is told who has it",
          arguments: CLIBackend.available)
    func concurrentAssign(_ backend: CLIBackend) async throws {
        let dir = try temporaryDirectory()
        let url = try freshStoreURL(backend, in: dir)
        let rounds = 6
        try await fill(url, (0..<rounds).map { i in
            decision("R\(i)", "C\(i)", "2026-11-01T09:00:00Z", name: "N\(i)", tasks: [("retention_offer", "sales", "phone", nil)])
        })
        for i in 0..<rounds {
            let a = try start(["tasks", "assign", "R\(i)-1", "--to", "Anna", "--store", url], dir: dir, tag: "a\(i)")
            let b = try start(["tasks", "assign", "R\(i)-1", "--to", "Bruno", "--store", url], dir: dir, tag: "b\(i)")
            a.waitUntilExit()
            b.waitUntilExit()
            let statuses = [a.terminationStatus, b.terminationStatus]
            #expect(statuses.sorted() == [0, 1], "round \(i): \(statuses)")
            let (s, _) = try await openStore(try StoreURL(url))
            let holder = try await s.task("R\(i)-1")?.assignee
            await s.close()
            let loser = a.terminationStatus == 1 ? "a\(i)" : "b\(i)"
            let message = (try? String(contentsOfFile: "\(dir)/\(loser).err", encoding: .utf8)) ?? ""
            #expect(holder != nil && message.contains("it is assigned to \(holder ?? "?")"), "round \(i): \(message)")
        }
    }

    @Test("report on a store: the JSON numbers of a small hand-worked window", arguments: CLIBackend.available)
    func reportJSON(_ backend: CLIBackend) async throws {
        let dir = try temporaryDirectory()
        let url = try freshStoreURL(backend, in: dir)
        try await fill(url, [
            decision("D0", "C0", "2026-10-20T09:00:00Z", name: "Out", tasks: [("retention_offer", "sales", "phone", nil)]),
            decision("D1", "C1", "2026-11-02T09:00:00Z", name: "A",
                     tasks: [("retention_offer", "sales", "phone", "2026-11-05"), ("newsletter", "marketing", "email", "2026-11-04")]),
            decision("D2", "C2", "2026-11-03T09:00:00Z", name: "B", tasks: [("retention_offer", "sales", "phone", nil)],
                     plan: "{\"customer\":\"C2\",\"segments\":[\"at_risk\"]}"),
            decision("D3", "C3", "2026-11-04T09:00:00Z", name: "C", tasks: [],
                     plan: "{\"customer\":\"C3\",\"segments\":[],\"holdout\":\"universal\"}"),
        ])
        let (s, _) = try await openStore(try StoreURL(url))
        _ = try await s.assign(task: "D1-1", to: "Giulia", at: at("2026-11-02T21:00:00Z"))
        _ = try await s.done(task: "D1-1", outcome: "accepted", note: nil, at: at("2026-11-03T09:00:00Z"))
        _ = try await s.cancel(task: "D2-1", at: at("2026-11-03T10:00:00Z"))
        _ = try await s.importOutcomes([OutcomeRow(id: "o1", customer: "C2", action: "retention_offer", channel: "phone",
                                                   outcome: "converted", at: at("2026-11-06T10:00:00Z"), value: 100)])
        await s.close()

        let out = try nextbest("report", "--store", url, "--from", "2026-11-01", "--to", "2026-11-10", "--now", "2026-11-10",
                               "--out", dir + "/report.json")
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("3 decisions, 3 tasks, 2 outcomes (from 2026-11-01T00:00:00Z to 2026-11-10T00:00:00Z)"), "\(out.stdout)")
        let r = try ReportData.fromJSON(try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json")))
        // D0 is before the window. C1 is reached (a done and an expired task); C2's only task was cancelled.
        #expect(r.output.decisions == 3 && r.output.customersDecided == 3 && r.output.tasks == 3)
        #expect(r.output.customersReached == 1 && r.output.customersNotReached == 2 && r.output.outcomes == 2)
        #expect(r.output.actionsPerDepartment.map { "\($0.name)=\($0.count)" } == ["sales=2", "marketing=1"])
        let offer = try #require(r.output.ratesPerAction.first { $0.name == "retention_offer" })
        #expect(offer.contacts == 1 && offer.accepted == 1 && offer.converted == 1 && offer.value == 100)
        #expect(r.output.lift.overall.treatedCustomers == 1 && r.output.lift.overall.treatedResponded == 1)
        #expect(r.output.lift.overall.heldOutCustomers == 1 && r.output.lift.overall.heldOutResponded == 0)
        #expect(r.output.lift.overall.lift == 1.0)
        let sales = try #require(r.process.departments.first { $0.department == "sales" })
        #expect(sales.byStatus.done == 1 && sales.byStatus.cancelled == 1 && sales.tasks == 2)
        #expect(sales.timeToAssign.p50Hours == 12 && sales.timeToDone.p50Hours == 24)
        let marketing = try #require(r.process.departments.first { $0.department == "marketing" })
        #expect(marketing.byStatus.expired == 1 && marketing.pastSLA.expired == 1)

        // HTML by default, written whole; a bad window is refused before anything is written.
        #expect(try nextbest("report", "--store", url, "--out", dir + "/report.html").status == 0)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg"))
        let bad = try nextbest("report", "--store", url, "--from", "2026-11-10", "--to", "2026-11-01", "--out", dir + "/bad.html")
        #expect(bad.status == 2 && !FileManager.default.fileExists(atPath: dir + "/bad.html"))
    }
}

@Suite("Recorded tasks carry the department's fields")
struct RecordedFieldsTests {
    @Test("run --record: each task keeps its department's declared profile fields, as the route files show them",
          arguments: CLIBackend.available)
    func recordedTasksHaveFields(_ backend: CLIBackend) async throws {
        let dir = try temporaryDirectory()
        let url = try freshStoreURL(backend, in: dir)
        let samples = packageRoot + "/policies/samples/customers.jsonl"
        let out = try nextbest("run", "--policies", packageRoot + "/policies", "--profiles", samples, "--now", "2026-11-01",
                               "--store", url, "--record", "--run-id", "fields", "--routes", dir + "/routes", "--quiet", "--jobs", "2")
        #expect(out.status == 0, "\(out.stderr)")
        // Every route line of sales names a task whose fields are the line's name, email, phone and city.
        let routes = try String(contentsOfFile: dir + "/routes/sales.jsonl", encoding: .utf8)
            .split(separator: "\n").compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!routes.isEmpty)
        let listed = try nextbest("tasks", "list", "--store", url, "--department", "sales", "--format", "json", "--now", "2026-11-01")
        let doc = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]
        let tasks = doc?["tasks"] as? [[String: Any]] ?? []
        #expect(tasks.count == routes.count)
        var byKey: [String: [String: Any]] = [:]
        for t in tasks { byKey["\(t["customer"] ?? "") \(t["action"] ?? "")"] = t["fields"] as? [String: Any] }
        for r in routes {
            let fields = byKey["\(r["customer"] ?? "") \(r["action"] ?? "")"]
            #expect(fields?.count == 4, "\(r)")
            for name in ["name", "email", "phone", "city"] {
                #expect("\(fields?[name] ?? "missing")" == "\(r[name] ?? NSNull())", "\(name) of \(r)")
            }
        }
    }
}
