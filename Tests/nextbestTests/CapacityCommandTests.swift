// Capacity across customers (policy-language.md §8.4) through `nextbest run`: the best claims win, whatever --jobs, input order or shards.
import Foundation
import NextBest
import Testing

/// A set where every customer proposes a sales call (priority = score), some an event seat
/// (priority = seat), and everyone a newsletter mail (priority 0); one action per plan, so a
/// customer who loses the call gets the next proposal that still fits.
private let capacitySet = """
    channel "email" { requires_consent = false }
    channel "phone" { requires_consent = false }
    channel "in_person" { requires_consent = false }
    department "sales" { capacity = 500 }
    department "marketing" {}
    action "call" { department = "sales", channel = "phone" }
    action "seat" { department = "marketing", channel = "in_person", capacity = 300 }
    action "mail" { department = "marketing", channel = "email" }
    contact_policy { max_actions = 1 }
    policy "offers" {
      holdout = { share = 0.1, salt = "capacity-test" },
      propose = function(c)
        local out = { { action = "call", priority = c.score } }
        if c.seat then out[2] = { action = "seat", priority = c.seat } end
        return out
      end,
    }
    policy "newsletter" { action = "mail", priority = 0 }
    """

/// 5,000 customers (about 1.3 MB, so several chunks): scores with many ties, every third one a seat.
private let capacityProfiles: [String] = (0..<5000).map { i in
    let score = (i * 7919) % 97
    let seat = i % 3 == 0 ? ",\"seat\":\((i * 31) % 89 + 5)" : ""
    return "{\"id\":\"K\(String(format: "%05d", (i * 3571) % 100_000))\",\"score\":\(score)\(seat),\"pad\":\"\(String(repeating: "x", count: 200))\"}"
}

/// Writes the set and the profiles (shuffled with `seed` when given); returns the folder.
private func capacityFixture(shuffle seed: UInt64? = nil) throws -> String {
    let dir = try temporaryDirectory()
    try write(capacitySet, to: dir + "/set/offers.lua")
    var lines = capacityProfiles
    if let seed {
        var g = SplitMix(seed: seed)
        lines.shuffle(using: &g)
    }
    try write(lines.joined(separator: "\n") + "\n", to: dir + "/p.jsonl")
    return dir
}

/// A small deterministic generator for the shuffles.
private struct SplitMix: RandomNumberGenerator {
    var seed: UInt64
    mutating func next() -> UInt64 {
        seed &+= 0x9E37_79B9_7F4A_7C15
        var z = seed
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One customer's plan, read.
private struct Decided {
    var id: String
    var line: String
    var actions: [String]
    var capacityReasons: [String: String]   // action -> reason, for those lost to capacity
    var heldOut: Bool

    init(_ line: String) throws {
        let v = try JSONValue(parsing: line)
        id = try #require(v["customer"]?.stringValue)
        self.line = line
        actions = (v["actions"]?.arrayValue ?? []).compactMap { $0["action"]?.stringValue }
        capacityReasons = [:]
        for s in v["suppressed"]?.arrayValue ?? [] {
            if let r = s["reason"]?.stringValue, r.contains("is at capacity"), let a = s["action"]?.stringValue { capacityReasons[a] = r }
        }
        heldOut = v["held_out"] != nil
    }
}

private func decided(_ out: Output) throws -> [String: Decided] {
    var byId: [String: Decided] = [:]
    for line in out.lines { let d = try Decided(line); byId[d.id] = d }
    return byId
}

/// The score and seat of each customer, by id.
private let capacityInputs: [String: (score: Int, seat: Int?)] = {
    var out: [String: (Int, Int?)] = [:]
    for line in capacityProfiles {
        let v = try! JSONValue(parsing: line)
        out[v["id"]!.stringValue!] = (v["score"]!.intValue!, v["seat"]?.intValue)
    }
    return out
}()

/// Whether (p1, id1) ranks above (p2, id2): priority descending, then id text ascending.
/// A run summary's counts of plans, actions, segments, suppressions and policy funnels, by
/// their path in the summary ("per_action.call", "policies.offers.taken", ...).
private func summaryCounts(_ path: String) throws -> [String: Double] {
    let summary = try JSONValue(parsing: try String(contentsOfFile: path, encoding: .utf8))
    var out: [String: Double] = [:]
    func walk(_ v: JSONValue, _ at: String) {
        if let o = v.objectValue { for (k, x) in o { walk(x, at + "." + k) } }
        else if let n = v.doubleValue, n != 0 { out[at] = n }
    }
    for key in ["plans", "per_action", "per_department", "per_channel", "segments", "suppressed", "policies"] {
        if let v = summary[key] { walk(v, key) }
    }
    return out
}

private func ranksAbove(_ p1: Int, _ id1: String, _ p2: Int, _ id2: String) -> Bool {
    p1 != p2 ? p1 > p2 : id1.utf8.lexicographicallyPrecedes(id2.utf8)
}

@Suite("nextbest run with capacity")
struct CapacityCommandTests {
    @Test func theBestClaimsWinAndTheOthersGetTheirNextProposal() throws {
        let dir = try capacityFixture()
        let r = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--jobs", "2", "--summary", dir + "/summary.json")
        #expect(r.status == 0, "\(r.stderr)")
        let plans = try decided(r)
        #expect(plans.count == 5000)
        let calls = plans.values.filter { $0.actions == ["call"] }
        let lostCall = plans.values.filter { $0.capacityReasons["call"] != nil }
        #expect(calls.count == 500)
        #expect(lostCall.count > 1000)
        #expect(lostCall.allSatisfy { $0.capacityReasons["call"] == "department sales is at capacity (500)" })
        // Every winner ranks above every customer who lost the call to capacity.
        let worstWinner = try #require(calls.map { ($0.id, capacityInputs[$0.id]!.score) }.min { ranksAbove($1.1, $1.0, $0.1, $0.0) })
        let bestLoser = try #require(lostCall.map { ($0.id, capacityInputs[$0.id]!.score) }.min { ranksAbove($0.1, $0.0, $1.1, $1.0) })
        #expect(ranksAbove(worstWinner.1, worstWinner.0, bestLoser.1, bestLoser.0))
        #expect(worstWinner.1 == bestLoser.1, "the cut-off falls inside a tie, which the id text decides")
        // The seats: the same, among the customers whose best remaining proposal was a seat.
        let seats = plans.values.filter { $0.actions == ["seat"] }
        let lostSeat = plans.values.filter { $0.capacityReasons["seat"] != nil }
        #expect(seats.count == 300)
        #expect(lostSeat.allSatisfy { $0.capacityReasons["seat"] == "action seat is at capacity (300)" })
        #expect(lostSeat.count > 0)
        let worstSeat = try #require(seats.map { ($0.id, capacityInputs[$0.id]!.seat!) }.min { ranksAbove($1.1, $1.0, $0.1, $0.0) })
        let bestSeatLoser = try #require(lostSeat.map { ($0.id, capacityInputs[$0.id]!.seat!) }.min { ranksAbove($0.1, $0.0, $1.1, $1.0) })
        #expect(ranksAbove(worstSeat.1, worstSeat.0, bestSeatLoser.1, bestSeatLoser.0))
        // A loser gets their next proposal that still fits: a seat (if they proposed one and
        // did not lose it too), else the mail.
        for l in lostCall where !l.heldOut {
            let expected = capacityInputs[l.id]!.seat != nil && l.capacityReasons["seat"] == nil ? ["seat"] : ["mail"]
            #expect(l.actions == expected, "\(l.id): \(l.line)")
        }
        // Held-out customers take no capacity: they proposed a call but hold none, and are never turned away.
        let held = plans.values.filter(\.heldOut)
        #expect(held.count > 250)
        #expect(held.allSatisfy { $0.actions == ["mail"] && $0.capacityReasons.isEmpty })
        // The summary says what capacity did.
        #expect(r.stderr.contains("capacity: "), "\(r.stderr)")
        #expect(r.stderr.contains("department sales: 500 of 500 taken"))
        #expect(r.stderr.contains("action seat: 300 of 300 taken"))
        let summary = try JSONValue(parsing: try String(contentsOfFile: dir + "/summary.json", encoding: .utf8))
        let limits = try #require(summary["capacity"]?["limits"]?.arrayValue)
        #expect(limits.map { $0["name"]?.stringValue } == ["sales", "seat"])
        #expect(limits.map { $0["taken"]?.intValue } == [500, 300])
        #expect(summary["per_action"]?["call"]?.intValue == 500)
        #expect(summary["per_action"]?["mail"]?.intValue == plans.values.filter { $0.actions == ["mail"] }.count)
    }

    @Test func theAllocationIsTheSameWhateverJobsAndInputOrder() throws {
        let dir = try capacityFixture()
        let common = ["run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01"]
        let one = try run(nextbestPath, common + ["--jobs", "1"])
        let two = try run(nextbestPath, common + ["--jobs", "2"])
        #expect(one.status == 0 && two.status == 0)
        #expect(one.stdout == two.stdout)
        let shuffled = try capacityFixture(shuffle: 7)
        let other = try run(nextbestPath, ["run", "--policies", shuffled + "/set", "--profiles", shuffled + "/p.jsonl",
                                           "--now", "2026-11-01", "--jobs", "2"])
        #expect(other.status == 0)
        #expect(other.stdout != two.stdout)  // another order of lines ...
        #expect(try decided(other).mapValues(\.line) == decided(two).mapValues(\.line))  // ... the same plans
        // Standard input is read once and spilled, with the same result.
        let piped = try run(nextbestPath, ["run", "--policies", dir + "/set", "--profiles", "-", "--now", "2026-11-01"],
                            stdin: try String(contentsOfFile: dir + "/p.jsonl", encoding: .utf8))
        #expect(piped.stdout == two.stdout)
    }

    /// With its output a regular file, a run with capacity keeps its first decisions there and
    /// rewrites the changed lines in place: the same bytes as through a pipe, after whatever
    /// the file held when it was opened for appending, and with --out.
    @Test func anOutputFileGetsTheSamePlansAsAPipe() throws {
        let dir = try capacityFixture()
        let command = "'\(nextbestPath)' run --policies '\(dir)/set' --profiles '\(dir)/p.jsonl' --now 2026-11-01 --jobs 2 --quiet"
        let piped = try run("/bin/sh", ["-c", command])
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout.contains("at capacity"))
        let redirected = try run("/bin/sh", ["-c", command + " > '\(dir)/plans.jsonl'"])
        #expect(redirected.status == 0, "\(redirected.stderr)")
        #expect(try String(contentsOfFile: dir + "/plans.jsonl", encoding: .utf8) == piped.stdout)
        try write("first line\n", to: dir + "/appended.jsonl")
        let appended = try run("/bin/sh", ["-c", command + " >> '\(dir)/appended.jsonl'"])
        #expect(appended.status == 0, "\(appended.stderr)")
        #expect(try String(contentsOfFile: dir + "/appended.jsonl", encoding: .utf8) == "first line\n" + piped.stdout)
        let named = try run("/bin/sh", ["-c", command + " --out '\(dir)/named.jsonl'"])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(try String(contentsOfFile: dir + "/named.jsonl", encoding: .utf8) == piped.stdout)
    }

    @Test func theShardsTogetherAreTheUnshardedRunWithCapacity() throws {
        let dir = try capacityFixture()
        let common = ["run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01"]
        let whole = try run(nextbestPath, common + ["--jobs", "2", "--summary", dir + "/whole.json"])
        #expect(whole.status == 0)
        let unsharded = try decided(whole).mapValues(\.line)
        for count in [1, 3, 7] {
            var union: [String: String] = [:]
            var calls = 0, seats = 0
            var counted: [String: Double] = [:]  // the shards' summaries added up
            for index in 0..<count {
                let summary = dir + "/shard-\(index)-of-\(count).json"
                let r = try run(nextbestPath, common + ["--shard", "\(index)/\(count)", "--jobs", index % 2 == 0 ? "2" : "1", "--summary", summary])
                counted.merge(try summaryCounts(summary), uniquingKeysWith: +)
                #expect(r.status == 0, "\(r.stderr)")
                let plans = try decided(r)
                for (id, d) in plans {
                    #expect(union[id] == nil, "customer \(id) in two shards")
                    union[id] = d.line
                }
                let mine = plans.values.filter { $0.actions == ["call"] }.count
                calls += mine
                seats += plans.values.filter { $0.actions == ["seat"] }.count
                if count > 1 {
                    #expect(r.stderr.contains("department sales: \(mine) of 500 taken by this shard (500 by all shards)"), "\(r.stderr)")
                }
            }
            #expect(union == unsharded, "\(count) shards")
            #expect(calls == 500 && seats == 300, "\(count) shards: \(calls) calls, \(seats) seats")
            // Customers decided again count once, with their final plan, in their own shard's summary.
            let expected = try summaryCounts(dir + "/whole.json")
            for (key, n) in expected where counted[key] != n { Issue.record("\(count) shards: \(key) adds up to \(counted[key] ?? 0), not \(n)") }
            #expect(Set(counted.keys) == Set(expected.keys), "\(count) shards")
        }
        // Input order changes nothing, sharded or not.
        let shuffled = try capacityFixture(shuffle: 11)
        var union: [String: String] = [:]
        for index in 0..<3 {
            let r = try run(nextbestPath, ["run", "--policies", shuffled + "/set", "--profiles", shuffled + "/p.jsonl",
                                           "--now", "2026-11-01", "--shard", "\(index)/3"])
            for (id, d) in try decided(r) { union[id] = d.line }
        }
        #expect(union == unsharded)
    }

    @Test func routesAndDiffSeeTheFinalPlans() throws {
        let dir = try capacityFixture()
        let r = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--routes", dir + "/routes", "--out", dir + "/plans.jsonl")
        #expect(r.status == 0, "\(r.stderr)")
        let plain = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01")
        #expect(try String(contentsOfFile: dir + "/plans.jsonl", encoding: .utf8) == plain.stdout)
        let sales = try String(contentsOfFile: dir + "/routes/sales.jsonl", encoding: .utf8)
        #expect(sales.split(separator: "\n").count == 500)

        // A baseline without capacity: diff says whom capacity moved, and where to.
        try write(capacitySet.replacingOccurrences(of: "{ capacity = 500 }", with: "{}")
                             .replacingOccurrences(of: ", capacity = 300 }", with: " }"), to: dir + "/base/offers.lua")
        let d = try nextbest("diff", "--policies", dir + "/set", "--baseline", dir + "/base", "--profiles", dir + "/p.jsonl",
                             "--now", "2026-11-01", "--format", "json")
        #expect(d.status == 0, "\(d.stderr)")
        let diff = try JSONValue(parsing: d.stdout)
        let moved = try #require(diff["capacity_moved"]?["after"]?.intValue)
        #expect(moved == (try decided(plain)).values.filter { !$0.capacityReasons.isEmpty }.count)
        #expect(diff["capacity_moved"]?["before"]?.intValue == 0)
        let example = try #require(diff["capacity_moved"]?["examples"]?.arrayValue?.first?.stringValue)
        #expect(example.contains(" call → ") || example.contains(" seat → "), "\(example)")
        let text = try nextbest("diff", "--policies", dir + "/set", "--baseline", dir + "/base", "--profiles", dir + "/p.jsonl",
                                "--now", "2026-11-01")
        #expect(text.stdout.contains("capacity moved "), "\(text.stdout)")
        #expect(text.stdout.contains(" customers to their next action:"))
    }

    @Test func theSampleSetFillsTheEventSeatsAndTheContactCentre() throws {
        let r = try nextbest("run", "--policies", "policies", "--profiles", "policies/samples/customers.jsonl", "--now", "2026-11-01")
        #expect(r.status == 0, "\(r.stderr)")
        let plans = try decided(r)
        let all = try r.lines.map { try JSONValue(parsing: $0) }
        let service = all.flatMap { $0["actions"]?.arrayValue ?? [] }.filter { $0["department"]?.stringValue == "customer_service" }
        #expect(service.count == 80)
        #expect(plans.values.filter { $0.actions.contains("invite_event") }.count == 3)
        let turnedAway = plans.values.filter { $0.capacityReasons["invite_event"] != nil }
        #expect(!turnedAway.isEmpty)
        #expect(turnedAway.allSatisfy { $0.capacityReasons["invite_event"] == "action invite_event is at capacity (3)" })
        #expect(plans.values.contains { $0.capacityReasons.values.contains("department customer_service is at capacity (80)") })
        #expect(r.stderr.contains("department customer_service: 80 of 80 taken"))
    }

    @Test(arguments: CLIBackend.available)
    func withAStoreCapacityIsPerDayAndCountsWhatWasRecorded(_ backend: CLIBackend) throws {
        let dir = try temporaryDirectory()
        try write(capacitySet.replacingOccurrences(of: "capacity = 500", with: "capacity = 30")
                             .replacingOccurrences(of: "capacity = 300", with: "capacity = 20"), to: dir + "/set/offers.lua")
        let lines = capacityProfiles.prefix(300)
        try write(lines.prefix(200).joined(separator: "\n") + "\n", to: dir + "/a.jsonl")
        try write(lines.suffix(100).joined(separator: "\n") + "\n", to: dir + "/b.jsonl")
        let url = try freshStoreURL(backend, in: dir)
        func calls(_ r: Output) throws -> Int { try decided(r).values.filter { $0.actions == ["call"] }.count }
        let morning = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/a.jsonl", "--now", "2026-11-02T08:00:00Z",
                                   "--store", url, "--record")
        #expect(morning.status == 0, "\(morning.stderr)")
        #expect(try calls(morning) == 30)
        // Later the same day: the morning's 30 calls used the whole capacity.
        let noon = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/b.jsonl", "--now", "2026-11-02T12:00:00Z",
                                "--store", url, "--record")
        #expect(noon.status == 0, "\(noon.stderr)")
        #expect(try calls(noon) == 0)
        #expect(noon.stderr.contains("department sales: 0 of 0 taken (30 of 30 already taken today)"), "\(noon.stderr)")
        // The next day the capacity is whole again.
        let tomorrow = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/b.jsonl", "--now", "2026-11-03T08:00:00Z",
                                    "--store", url)
        #expect(try calls(tomorrow) == 30)
    }

    @Test func capacityMustBeAWholeNumber() throws {
        let dir = try temporaryDirectory()
        try write(capacitySet.replacingOccurrences(of: "capacity = 300", with: "capacity = 2.5"), to: dir + "/set/offers.lua")
        let r = try nextbest("check", "--policies", dir + "/set")
        #expect(r.status != 0)
        #expect((r.stdout + r.stderr).contains("capacity must be a whole number of actions"))
    }
}
