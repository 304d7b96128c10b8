// CLI tests for the engine's memory: run --store --record over several days, caps, pauses and cooldowns from recorded contacts, --history, resumed and concurrent recording.
import Foundation
import NextBestStore
import Testing

/// A small policy set with a cooldown, a channel cap and a group outcome rule.
private let memoryPolicies = """
    channel "email" { max = 1, per_days = 7 }
    channel "phone" { }
    department "marketing" { }
    department "sales" { }
    group "offers" { suppress = { after = 2, outcome = "declined", within_days = 30, for_days = 60 } }
    action "newsletter" { department = "marketing", channel = "email", cooldown_days = 10 }
    action "webinar" { department = "marketing", channel = "email" }
    action "offer_call" { department = "sales", channel = "phone", group = "offers", sla_days = 3 }
    policy "everyone" {
      propose = function(c)
        return { { action = "newsletter", priority = 50 }, { action = "webinar", priority = 40 },
                 { action = "offer_call", priority = 30 } }
      end,
    }
    contact_policy { max_per_channel = 2 }
    """

/// `n` profiles that consent to email and phone.
private func memoryProfiles(_ n: Int, prefix: String = "C") -> String {
    (1...n).map { "{\"id\":\"\(prefix)\($0)\",\"consent\":{\"email\":true,\"phone\":true}}\n" }.joined()
}

/// The JSON objects of a run's plan lines.
private func plans(_ out: Output) -> [[String: Any]] {
    out.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
}

/// The suppression reason of `action` in a plan, if suppressed.
private func reason(_ plan: [String: Any], _ action: String) -> String? {
    (plan["suppressed"] as? [[String: Any]])?.first { $0["action"] as? String == action }?["reason"] as? String
}

/// The actions taken in a plan.
private func taken(_ plan: [String: Any]) -> [String] {
    (plan["actions"] as? [[String: Any]])?.compactMap { $0["action"] as? String } ?? []
}

@Suite("The engine's memory (run --store, --record, --history)")
struct MemoryCommandTests {
    @Test("day 1 recorded, outcomes imported, day 4: caps, pauses and cooldowns from the store; --history gives the same plans",
          arguments: CLIBackend.available)
    func multiDay(_ backend: CLIBackend) async throws {
        let dir = try temporaryDirectory()
        try write(memoryPolicies, to: dir + "/policies/set.lua")
        try write(memoryProfiles(3), to: dir + "/customers.jsonl")
        let url = try freshStoreURL(backend, in: dir)
        // Day 1: everyone gets the newsletter and the offer call (the email cap stops the webinar).
        let day1 = try nextbest("run", "--policies", dir + "/policies", "--profiles", dir + "/customers.jsonl",
                                "--now", "2026-11-02T09:00:00Z", "--store", url, "--record", "--run-id", "day1")
        #expect(day1.status == 0, "\(day1.stderr)")
        #expect(day1.stderr.contains("recorded: run day1: 3 decisions, 6 tasks"), "\(day1.stderr)")
        let p1 = plans(day1)
        #expect(p1.count == 3)
        for p in p1 {
            #expect(taken(p) == ["newsletter", "offer_call"])
            #expect((p["decision"] as? String)?.count == 26)
            #expect((p["revision"] as? String)?.count == 16)
        }
        let decisionC1 = p1[0]["decision"] as! String
        // Outcomes: C1 declined the call (and an earlier call made outside NextBest); C2 accepted.
        try write("""
            {"id":"o1","task":"\(decisionC1)-2","customer":"C1","action":"offer_call","outcome":"declined","at":"2026-11-03T10:00:00Z"}
            {"id":"o2","customer":"C1","action":"offer_call","channel":"phone","outcome":"declined","at":"2026-10-20T10:00:00Z"}
            {"id":"o3","customer":"C2","action":"offer_call","channel":"phone","outcome":"accepted","at":"2026-11-03T11:00:00Z"}

            """, to: dir + "/outcomes.jsonl")
        let imported = try nextbest("outcomes", "import", dir + "/outcomes.jsonl", "--store", url)
        #expect(imported.status == 0, "\(imported.stdout) \(imported.stderr)")
        // Day 4, from the store.
        let day4 = try nextbest("run", "--policies", dir + "/policies", "--profiles", dir + "/customers.jsonl",
                                "--now", "2026-11-05T09:00:00Z", "--store", url)
        #expect(day4.status == 0, "\(day4.stderr)")
        let p4 = plans(day4)
        #expect(p4.count == 3)
        for p in p4 {
            #expect(reason(p, "newsletter") == "cooldown: last contact 3 days ago, cooldown is 10 days")
            #expect(reason(p, "webinar") == "channel email: 1 contact in the last 7 days (at most 1)")
            #expect(p["decision"] == nil)
        }
        #expect(reason(p4[0], "offer_call") == "declined 2 times in 30 days: paused until 2027-01-01")
        #expect(taken(p4[1]) == ["offer_call"] && taken(p4[2]) == ["offer_call"])
        // explain names the contacts that counted.
        let explained = try nextbest("explain", "--policies", dir + "/policies", "--profiles", dir + "/customers.jsonl", "--id", "C1",
                                     "--now", "2026-11-05T09:00:00Z", "--store", url)
        #expect(explained.stdout.contains("past contacts that counted: offer_call on phone at 2026-10-20T10:00:00Z (declined); offer_call on phone at 2026-11-02T09:00:00Z (declined)"),
                "\(explained.stdout)")
        #expect(explained.stdout.contains("past contacts that counted: newsletter on email at 2026-11-02T09:00:00Z"), "\(explained.stdout)")
        // The same history as a file (day 1's plans and the outcomes) gives exactly the same plans.
        var rows = "{\"customer\":\"C1\",\"action\":\"offer_call\",\"channel\":\"phone\",\"at\":\"2026-10-20T10:00:00Z\",\"outcome\":\"declined\"}\n"
        for p in p1 {
            let c = p["customer"] as! String
            for a in (p["actions"] as! [[String: Any]]) {
                let name = a["action"] as! String
                let outcome = name == "offer_call" ? (c == "C1" ? ",\"outcome\":\"declined\"" : c == "C2" ? ",\"outcome\":\"accepted\"" : "") : ""
                rows += "{\"customer\":\"\(c)\",\"action\":\"\(name)\",\"channel\":\"\(a["channel"] as! String)\",\"at\":\"2026-11-02T09:00:00Z\"\(outcome)}\n"
            }
        }
        try write(rows, to: dir + "/history.jsonl")
        let fromFile = try nextbest("run", "--policies", dir + "/policies", "--profiles", dir + "/customers.jsonl",
                                    "--now", "2026-11-05T09:00:00Z", "--history", dir + "/history.jsonl")
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(fromFile.stdout == day4.stdout)
        // And as CSV.
        var csv = "customer,action,channel,at,outcome\n"
        for line in rows.split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: String]
            csv += [o["customer"]!, o["action"]!, o["channel"]!, o["at"]!, o["outcome"] ?? ""].joined(separator: ",") + "\n"
        }
        try write(csv, to: dir + "/history.csv")
        let fromCSV = try nextbest("run", "--policies", dir + "/policies", "--profiles", dir + "/customers.jsonl",
                                   "--now", "2026-11-05T09:00:00Z", "--history", dir + "/history.csv")
        #expect(fromCSV.stdout == day4.stdout, "\(fromCSV.stderr)")
    }

    @Test("a bad history file row: exit 2 with its line")
    func badHistoryFile() throws {
        let dir = try temporaryDirectory()
        try write(memoryPolicies, to: dir + "/policies/set.lua")
        try write(memoryProfiles(1), to: dir + "/customers.jsonl")
        try write("{\"customer\":\"C1\",\"action\":\"webinar\",\"channel\":\"email\",\"at\":\"2026-11-02\"}\n{\"customer\":\"C1\",\"action\":\"webinar\",\"at\":\"yesterday\"}\n",
                  to: dir + "/history.jsonl")
        let out = try nextbest("run", "--policies", dir + "/policies", "--profiles", dir + "/customers.jsonl", "--history", dir + "/history.jsonl")
        #expect(out.status == 2)
        #expect(out.stderr.contains("history.jsonl:2: \"at\" must be an ISO-8601 date"), "\(out.stderr)")
    }

    @Test("a run --record killed with SIGKILL leaves whole batches; the same run id again completes it, nothing doubled",
          arguments: CLIBackend.available)
    func killedRecordResumes(_ backend: CLIBackend) async throws {
        let dir = try temporaryDirectory()
        try write(memoryPolicies, to: dir + "/policies/set.lua")
        let n = 40_000
        try write(memoryProfiles(n), to: dir + "/customers.jsonl")
        let url = try freshStoreURL(backend, in: dir)
        #expect(try nextbest("store", "migrate", "--store", url).status == 0)
        func decisionsSoFar() throws -> Int {
            let out = try nextbest("store", "migrate", "--store", url)
            guard let part = out.stdout.components(separatedBy: "; ").last, let first = part.split(separator: " ").first else { return 0 }
            return Int(first.filter(\.isNumber)) ?? 0
        }
        let args = ["run", "--policies", dir + "/policies", "--profiles", dir + "/customers.jsonl", "--now", "2026-11-02",
                    "--store", url, "--record", "--run-id", "nightly", "--jobs", "2"]
        let p = try start(args, dir: dir, tag: "first")
        var seen = 0
        while p.isRunning {
            seen = try decisionsSoFar()
            if seen > 0 { break }
            usleep(5_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "the run finished before it could be killed")
        let left = try await storeCounts(url)
        #expect(left.decisions >= seen && left.decisions < n)
        #expect(left.tasks == 2 * left.decisions, "a decision without its tasks: \(left)")
        let again = try run(nextbestPath, args)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("recorded: run nightly: \(grouped(n - left.decisions)) decisions"), "\(again.stderr)")
        let done = try await storeCounts(url)
        #expect(done.decisions == n && done.tasks == 2 * n)
        // The resumed run's plans carry the ids recorded the first time, and are otherwise as planned.
        let ids = Set(plans(again).compactMap { $0["decision"] as? String })
        #expect(ids.count == n)
        for p in plans(again).prefix(3) { #expect(taken(p) == ["newsletter", "offer_call"]) }
    }

    @Test("a customer met twice, in one batch or far apart, and a run resumed: every line carries the id the store keeps",
          arguments: CLIBackend.available)
    func repeatedCustomersCarryTheStoredID(_ backend: CLIBackend) async throws {
        let dir = try temporaryDirectory()
        try write(memoryPolicies, to: dir + "/policies/set.lua")
        // C1 again right away (same batch) and after 9,000 others (a later batch); C2 again at the end.
        let lines = memoryProfiles(9_000).split(separator: "\n").map(String.init)
        try write(([lines[0], lines[0]] + lines[1...] + [lines[0], lines[1]]).joined(separator: "\n") + "\n",
                  to: dir + "/customers.jsonl")
        let url = try freshStoreURL(backend, in: dir)
        let args = ["run", "--policies", dir + "/policies", "--profiles", dir + "/customers.jsonl", "--now", "2026-11-02",
                    "--store", url, "--record", "--run-id", "twice"]
        let first = try run(nextbestPath, args)
        #expect(first.status == 1, "\(first.stderr)")  // a repeated id is reported, as without a store
        #expect(first.stderr.contains("recorded: run twice: 9,000 decisions, 18,000 tasks (3 already recorded"), "\(first.stderr)")
        var ids: [String: Set<String>] = [:]
        for p in plans(first) { ids[p["customer"] as? String ?? "", default: []].insert(p["decision"] as? String ?? "") }
        #expect(ids.count == 9_000 && ids.values.allSatisfy { $0.count == 1 })
        #expect(plans(first).count == 9_003)
        let c = try await storeCounts(url)
        #expect(c.decisions == 9_000 && c.tasks == 18_000)
        // Again with the same run id: nothing written, and the very same lines (the ids the store holds).
        let again = try run(nextbestPath, args)
        #expect(again.stderr.contains("recorded: run twice: 0 decisions, 0 tasks (9,003 already recorded"), "\(again.stderr)")
        #expect(again.stdout == first.stdout)
    }

    @Test("two processes recording into one SQLite store at once both succeed")
    func twoRecorders() async throws {
        let dir = try temporaryDirectory()
        try write(memoryPolicies, to: dir + "/policies/set.lua")
        try write(memoryProfiles(8000, prefix: "A"), to: dir + "/a.jsonl")
        try write(memoryProfiles(8000, prefix: "B"), to: dir + "/b.jsonl")
        let url = "sqlite:" + dir + "/shared.db"
        let a = try start(["run", "--policies", dir + "/policies", "--profiles", dir + "/a.jsonl", "--now", "2026-11-02",
                           "--store", url, "--record", "--run-id", "a"], dir: dir, tag: "a")
        let b = try start(["run", "--policies", dir + "/policies", "--profiles", dir + "/b.jsonl", "--now", "2026-11-02",
                           "--store", url, "--record", "--run-id", "b"], dir: dir, tag: "b")
        a.waitUntilExit()
        b.waitUntilExit()
        for tag in ["a", "b"] {
            let err = (try? String(contentsOfFile: "\(dir)/\(tag).err", encoding: .utf8)) ?? ""
            #expect(!err.lowercased().contains("locked"), "\(tag): \(err)")
            #expect(err.contains("recorded: run \(tag): 8,000 decisions, 16,000 tasks"), "\(tag): \(err)")
        }
        #expect(a.terminationStatus == 0 && b.terminationStatus == 0)
        let c = try await storeCounts(url)
        #expect(c.decisions == 16_000 && c.tasks == 32_000)
    }
}
