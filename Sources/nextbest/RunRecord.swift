// `run --record`: every plan of a chunk gets its decision id and revision and is recorded with its tasks, one transaction per chunk.
import Foundation
import NextBest
import NextBestStore

/// Records the plans a run writes. It sits between the engine and the output: each chunk of
/// plan lines is parsed, given `"decision"` and `"revision"`, recorded (decisions and tasks,
/// one transaction), and only then written out. A resumed run (same run id) keeps the decision
/// ids already recorded for its customers; the store skips what it already holds.
final class PlanRecorder: @unchecked Sendable {
    let store: any Store
    let run: String
    let revision: String
    let at: Date
    /// Days until a task is due, by action (`sla_days`).
    let sla: [String: Double]
    private let ids = DecisionIDGenerator()
    /// What was recorded so far (used by the consuming thread only).
    private(set) var result = RecordResult()

    init(store: any Store, run: String, revision: String, at: Date, sla: [String: Double]) {
        self.store = store
        self.run = run
        self.revision = revision
        self.at = at
        self.sla = sla
    }

    /// One chunk of output lines: records its plans, then hands the lines, with their decision
    /// ids, to `write`.
    func handle(_ bytes: UnsafeRawBufferPointer, write: (UnsafeRawBufferPointer) throws -> Void) throws {
        var plans: [(range: Range<Int>, customer: String, plan: JSONValue)] = []
        var lines: [Range<Int>] = []
        var start = 0
        let prefix = Array("{\"customer\":".utf8)
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            let line = start..<(i + 1)
            lines.append(line)
            if line.count > prefix.count + 2, zip(bytes[line].prefix(prefix.count), prefix).allSatisfy({ $0 == $1 }),
               let v = try? JSONValue(parsing: UnsafeRawBufferPointer(rebasing: bytes[start..<i])),
               let c = v["customer"] {
                plans.append((line, c.stringValue ?? c.jsonText, v))
            }
            start = i + 1
        }
        if start < bytes.count { lines.append(start..<bytes.count) }
        guard !plans.isEmpty else { try write(bytes); return }
        let store = self.store, run = self.run
        let customers = plans.map(\.customer)
        let existing = try blocking { try await store.recordedDecisions(run: run, customers: customers) }
        var decisions: [RecordedDecision] = []
        var tagged: [Range<Int>: String] = [:]
        decisions.reserveCapacity(plans.count)
        for p in plans {
            let id = existing[p.customer] ?? ids.next()
            var text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[p.range.lowerBound..<(p.range.upperBound - 2)]), as: UTF8.self)
            text += ",\"decision\":\"\(id)\",\"revision\":\"\(revision)\"}"
            tagged[p.range] = text
            let segments = p.plan["segments"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let tasks = (p.plan["actions"]?.arrayValue ?? []).compactMap { a -> RecordedTask? in
                guard let action = a["action"]?.stringValue else { return nil }
                let due = sla[action].map { at.addingTimeInterval($0 * 86_400) }
                return RecordedTask(action: action, department: a["department"]?.stringValue ?? "", channel: a["channel"]?.stringValue ?? "",
                                    priority: a["priority"]?.doubleValue ?? 0, dueAt: due, policy: a["policy"]?.stringValue,
                                    segments: segments)
            }
            decisions.append(RecordedDecision(id: id, run: run, customer: p.customer, revision: revision, at: at, plan: text, tasks: tasks))
        }
        let batch = decisions
        let r = try blocking { try await store.record(batch) }
        result.decisions += r.decisions
        result.tasks += r.tasks
        result.skipped += r.skipped
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + plans.count * 64)
        for line in lines {
            if let t = tagged[line] { out.append(contentsOf: t.utf8); out.append(0x0A) }
            else { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[line])) }
        }
        try out.withUnsafeBytes { try write($0) }
    }
}
