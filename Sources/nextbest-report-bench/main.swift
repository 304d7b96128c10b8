// Bench and sample for the report: feeds generated decisions, tasks and outcomes to ReportBuilder.
//
//   nextbest-report-bench [--tasks N] [--outcomes N]       time the builder on N generated rows
//   nextbest-report-bench --sample DIR                     write a realistic report.html and report.json
import Foundation
import NextBestReport

/// A small, fast, reproducible random number generator (SplitMix64).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One action of the generated world: who handles it, on what channel, from which policy.
struct ActionSpec {
    let name, department, channel, policy: String
    let slaDays: Double
    let acceptRate, convertRate, value: Double
}

let actions = [
    ActionSpec(name: "retention_offer", department: "sales", channel: "phone", policy: "retention", slaDays: 3, acceptRate: 0.30, convertRate: 0.12, value: 240),
    ActionSpec(name: "upgrade_call", department: "sales", channel: "phone", policy: "growth", slaDays: 5, acceptRate: 0.22, convertRate: 0.08, value: 180),
    ActionSpec(name: "card_upgrade", department: "marketing", channel: "email", policy: "growth", slaDays: 7, acceptRate: 0.10, convertRate: 0.04, value: 60),
    ActionSpec(name: "event_invite_milan", department: "marketing", channel: "email", policy: "events", slaDays: 4, acceptRate: 0.18, convertRate: 0.0, value: 0),
    ActionSpec(name: "newsletter_signup", department: "marketing", channel: "app push", policy: "fallback", slaDays: 10, acceptRate: 0.07, convertRate: 0.0, value: 0),
    ActionSpec(name: "service_check_in", department: "service", channel: "sms", policy: "service", slaDays: 2, acceptRate: 0.35, convertRate: 0.0, value: 0),
    ActionSpec(name: "complaint_follow_up", department: "service", channel: "phone", policy: "service", slaDays: 1, acceptRate: 0.45, convertRate: 0.0, value: 0),
]
let segmentChoices = [["high_value"], ["at_risk"], ["new_customer"], ["high_value", "at_risk"], ["young_professional"], []]
let assignees = ["Giulia", "Marco", "Sara", "Luca", "Anna"]

/// Generates a world of decisions, tasks and outcomes and feeds it to `builder` in batches.
/// Returns the seconds spent inside the builder, wall clock and CPU (generation not counted).
func feed(into builder: inout ReportBuilder, customers: Int, tasks: Int, outcomes: Int, now: Date, days: Double) throws -> (wall: Double, cpu: Double) {
    var rng = SplitMix(state: 2026)
    var spent = 0.0
    var cpu = 0.0
    let start = now.addingTimeInterval(-days * 86_400)
    let universalShare = 0.05
    func timed(_ body: () throws -> Void) rethrows {
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = threadCPU()
        try body()
        spent += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        cpu += threadCPU() - c0
    }
    // Decisions: one per customer, a universal holdout of 5%; policy "retention" holds out 10%.
    let batch = 100_000
    var held = [Bool](repeating: false, count: customers)
    var segs = [Int](repeating: 0, count: customers)
    var when = [Double](repeating: 0, count: customers)
    var heldList: [(customer: Int, action: Int)] = []
    var i = 0
    while i < customers {
        var rows: [ReportDecision] = []
        rows.reserveCapacity(batch)
        for c in i..<min(customers, i + batch) {
            held[c] = Double.random(in: 0..<1, using: &rng) < universalShare
            segs[c] = Int.random(in: 0..<segmentChoices.count, using: &rng)
            when[c] = Double.random(in: 0..<(days * 86_400), using: &rng)
            let retentionHeld = !held[c] && Double.random(in: 0..<1, using: &rng) < 0.10
            var heldOut: [ReportHeldOut] = []
            if held[c] {
                heldOut.append(ReportHeldOut(action: actions[c % actions.count].name, policy: actions[c % actions.count].policy, holdout: "universal"))
                heldList.append((c, c % actions.count))
            }
            if retentionHeld {
                heldOut.append(ReportHeldOut(action: "retention_offer", policy: "retention", holdout: "retention"))
                heldList.append((c, 0))
            }
            rows.append(ReportDecision(id: "d\(c)", customer: "c\(c)", revision: "r1", at: start.addingTimeInterval(when[c]),
                                       segments: segmentChoices[segs[c]], holdout: held[c] ? "universal" : nil, heldOut: heldOut))
        }
        try timed { for r in rows { try builder.add(r) } }
        i += batch
    }
    // Tasks: customers outside the universal holdout, round-robin; statuses by age.
    var made = 0
    var taskAction = [Int](repeating: 0, count: 0)
    taskAction.reserveCapacity(tasks)
    var taskCustomer = [Int](repeating: 0, count: 0)
    taskCustomer.reserveCapacity(tasks)
    while made < tasks {
        var rows: [ReportTask] = []
        rows.reserveCapacity(batch)
        while rows.count < batch && made < tasks {
            let c = Int.random(in: 0..<customers, using: &rng)
            if held[c] { continue }
            let a = Int.random(in: 0..<actions.count, using: &rng)
            let spec = actions[a]
            let created = start.addingTimeInterval(when[c])
            let age = now.timeIntervalSince(created)
            let due = created.addingTimeInterval(spec.slaDays * 86_400)
            let roll = Double.random(in: 0..<1, using: &rng)
            var status = ReportTaskStatus.open
            var statusAt: Date?, assignedAt: Date?, outcome: String?
            let assignAfter = Double.random(in: 0.2...(spec.slaDays * 10), using: &rng) * 3600
            let doneAfter = assignAfter + Double.random(in: 0.5...(spec.slaDays * 30), using: &rng) * 3600
            if roll < 0.03 {
                status = .cancelled; statusAt = created.addingTimeInterval(3600)
            } else if age > doneAfter && roll < 0.85 {
                status = .done; assignedAt = created.addingTimeInterval(assignAfter)
                statusAt = created.addingTimeInterval(doneAfter)
                outcome = roll < 0.3 ? "accepted" : "declined"
            } else if age > assignAfter && roll < 0.92 {
                status = .assigned; statusAt = created.addingTimeInterval(assignAfter)
            } else if now > due.addingTimeInterval(2 * 86_400) {
                status = .expired; statusAt = due
            }
            rows.append(ReportTask(id: "t\(made)", decision: "d\(c)", customer: "c\(c)", action: spec.name,
                                   department: spec.department, channel: spec.channel, priority: 50, createdAt: created,
                                   status: status, assignee: status == .open ? nil : assignees[made % assignees.count],
                                   statusAt: statusAt, assignedAt: assignedAt, dueAt: due, outcome: outcome,
                                   policy: spec.policy, segments: segmentChoices[segs[c]]))
            taskAction.append(a)
            taskCustomer.append(c)
            made += 1
        }
        try timed { for r in rows { try builder.add(r) } }
    }
    // Outcomes: mostly answers to tasks; some from held-out customers, who sometimes buy anyway.
    made = 0
    let heldShare = Double(heldList.count) / Double(max(1, customers))
    while made < outcomes {
        var rows: [ReportOutcome] = []
        rows.reserveCapacity(batch)
        while rows.count < batch && made < outcomes {
            if !heldList.isEmpty && Double.random(in: 0..<1, using: &rng) < heldShare * 0.4 {
                let h = heldList[Int.random(in: 0..<heldList.count, using: &rng)]
                let spec = actions[h.action]
                let r = Double.random(in: 0..<1, using: &rng)
                let outcome = r < spec.convertRate / 2 ? "converted" : r < (spec.convertRate + spec.acceptRate) / 2 ? "accepted" : "ignored"
                rows.append(ReportOutcome(customer: "c\(h.customer)", action: spec.name, channel: spec.channel,
                                          outcome: outcome, at: now.addingTimeInterval(-Double(made % 86_400)),
                                          value: outcome == "converted" ? spec.value : nil))
            } else {
                let k = Int.random(in: 0..<max(1, taskAction.count), using: &rng)
                let spec = actions[taskAction[k]]
                let r = Double.random(in: 0..<1, using: &rng)
                let outcome = r < spec.convertRate ? "converted" : r < spec.convertRate + spec.acceptRate ? "accepted" : r < 0.8 ? "ignored" : "declined"
                rows.append(ReportOutcome(task: "t\(k)", customer: "c\(taskCustomer[k])", action: spec.name, channel: spec.channel,
                                          outcome: outcome, at: now.addingTimeInterval(-Double(made % 86_400)),
                                          value: outcome == "converted" ? spec.value : nil))
            }
            made += 1
        }
        try timed { for r in rows { try builder.add(r) } }
    }
    return (spent, cpu)
}

/// CPU seconds this thread has used (what the machine's other load does not inflate).
func threadCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, in args: [String]) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}
let now = Date()
do {
    if let dir = option("--sample", in: args) {
        let from = now.addingTimeInterval(-14 * 86_400)
        var builder = ReportBuilder(from: from, to: nil, now: now)
        _ = try feed(into: &builder, customers: 3_000, tasks: 4_000, outcomes: 2_500, now: now, days: 14)
        let data = builder.finish()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try data.jsonData().write(to: URL(fileURLWithPath: dir + "/report.json"))
        try ReportHTML.render(data).write(toFile: dir + "/report.html", atomically: true, encoding: .utf8)
        print("bench-report: wrote \(dir)/report.html and \(dir)/report.json")
    } else {
        let tasks = Int(option("--tasks", in: args) ?? "") ?? 1_000_000
        let outcomes = Int(option("--outcomes", in: args) ?? "") ?? 1_000_000
        let customers = Int(option("--customers", in: args) ?? "") ?? 700_000
        print("bench-report: \(customers) decisions, \(tasks) tasks, \(outcomes) outcomes (generated, not timed)")
        var builder = ReportBuilder(from: now.addingTimeInterval(-30 * 86_400), to: nil, now: now, expectedCustomers: customers)
        let fed = try feed(into: &builder, customers: customers, tasks: tasks, outcomes: outcomes, now: now, days: 28)
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = threadCPU()
        let data = builder.finish()
        let finish = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, finishCPU = threadCPU() - c0
        let t1 = DispatchTime.now().uptimeNanoseconds
        let json = try data.jsonData()
        let html = ReportHTML.render(data)
        let write = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9
        print(String(format: "bench-report: feeding %.2f s (CPU %.2f s), finishing %.2f s (CPU %.2f s), JSON+HTML %.3f s (%d + %d bytes)",
                     fed.wall, fed.cpu, finish, finishCPU, write, json.count, html.utf8.count))
        print(String(format: "bench-report: builder total %.2f s wall, %.2f s CPU", fed.wall + finish, fed.cpu + finishCPU))
        print("bench-report: \(data.output.tasks) tasks, \(data.output.outcomes) outcomes, \(data.output.customersReached) customers reached in the window")
    }
} catch {
    FileHandle.standardError.write(Data("bench-report: \(error)\n".utf8))
    exit(2)
}
