// `run --record`: plans recorded by a writer thread beside the deciding, several chunks per transaction, each plan written out once recorded.
import Foundation
import NextBest
import NextBestStore

/// Records the plans a run writes. It sits between the engine and the output: the engine hands
/// it each chunk of plan lines (in input order) and goes on deciding; a writer thread takes the
/// chunks waiting (several at once), gives every plan `"decision"` and `"revision"`, records
/// them with their tasks in one transaction, and only then writes the lines out, in order. While
/// one batch's transaction runs, the writer prepares the next. At
/// most `queueLimit` chunks wait, so a slow store holds the run back instead of filling memory.
/// The store skips a customer it already holds for this run id (a resumed run, or a customer met
/// twice) and says which id it keeps; that customer's lines then carry the kept id.
final class PlanRecorder: @unchecked Sendable {
    let store: any Store
    let run: String
    let revision: String
    let at: Date
    /// Days until a task is due, by action (`sla_days`).
    let sla: [String: Double]
    private let ids = DecisionIDGenerator()

    /// The profile fields each department declares (copied into its tasks).
    let departmentFields: [String: [String]]
    /// A chunk of plan lines, its line count, its work items (department, JSON line) and where its lines go.
    private typealias Chunk = (bytes: [UInt8], lines: Int, items: [(String, [UInt8])], write: (UnsafeRawBufferPointer) throws -> Void)
    /// Chunks waiting to be recorded.
    private var queue: [Chunk] = []
    /// The work items of the chunk about to be handed over (engine's writing thread only).
    private var items: [(String, [UInt8])] = []
    private var closed = false
    private var failure: (any Error)?
    private var writer: Thread?
    private var writerDone = false
    private let condition = NSCondition()
    /// Chunks waiting at most (each is about 256 KiB of input's plans).
    static let queueLimit = 8
    /// Lines per transaction at most (whole chunks; one chunk alone may be larger).
    static let batchPlans = 4000

    /// What was recorded so far (final once `finish` has returned).
    private(set) var result = RecordResult()

    init(store: any Store, run: String, revision: String, at: Date, sla: [String: Double], fields: [String: [String]] = [:]) {
        self.departmentFields = fields.filter { !$0.value.isEmpty }
        self.store = store
        self.run = run
        self.revision = revision
        self.at = at
        self.sla = sla
    }

    /// Whether tasks need the work items (some department declares profile fields).
    var wantsItems: Bool { !departmentFields.isEmpty }

    /// A chunk's work items, just before its lines: kept for the chunk's tasks (their fields).
    func take(_ w: WorkItems) {
        w.forEach { department, line in
            if departmentFields[department] != nil { items.append((department, Array(line))) } else { items.append((department, [])) }
        }
    }

    /// One chunk of output lines, from the engine's writing thread: queued for the writer thread
    /// (waiting while the queue is full). Throws the writer's failure, which stops the run.
    func handle(_ bytes: UnsafeRawBufferPointer, write: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        if writer == nil {
            let t = Thread { [self] in self.drain() }
            t.stackSize = 1 << 20
            writer = t
            t.start()
        }
        while failure == nil && queue.count >= Self.queueLimit { condition.wait() }
        if let failure { throw failure }
        var lines = 0
        for b in bytes where b == 0x0A { lines += 1 }
        queue.append((Array(bytes), lines, items, write))
        items = []
        condition.broadcast()
    }

    /// Waits until every queued chunk is recorded and written; throws what went wrong, if anything.
    func finish() throws {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        condition.broadcast()
        while writer != nil && !writerDone { condition.wait() }
        if let failure { throw failure }
    }

    /// The writer thread: takes what waits, records it, writes it out; until closed and empty.
    /// One batch is in the store while the next is prepared (its plans read, its decision ids
    /// given): the store's transaction is the run's critical path, and this keeps it busy.
    private func drain() {
        var inFlight: InFlight?
        condition.lock()
        while true {
            while queue.isEmpty && !closed && failure == nil { condition.wait() }
            if queue.isEmpty || failure != nil { break }
            var taken: [Chunk] = []
            var plans = 0
            while let first = queue.first, taken.isEmpty || plans + first.lines <= Self.batchPlans {
                queue.removeFirst()
                plans += first.lines
                taken.append(first)
            }
            condition.broadcast()
            condition.unlock()
            do {
                let next = try prepare(taken)
                if let previous = inFlight {
                    inFlight = nil
                    try finish(previous)
                }
                inFlight = start(next)
            } catch {
                _ = try? inFlight?.transaction.wait()  // a transaction still in the store ends first
                inFlight = nil
                condition.lock()
                failure = failure ?? error
                condition.broadcast()
                break
            }
            condition.lock()
        }
        if let last = inFlight {  // closed and empty: the last batch
            condition.unlock()
            do { try finish(last) } catch {
                condition.lock()
                failure = failure ?? error
                condition.unlock()
            }
            condition.lock()
        }
        writerDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// A batch ready for the store: its decisions, each chunk's tagged lines and writer, and
    /// where each decision's id sits in those lines (output, offset), in the decisions' order.
    private struct Prepared {
        var decisions: [RecordedDecision]
        var outputs: [([UInt8], (UnsafeRawBufferPointer) throws -> Void)]
        var idPlaces: [(output: Int, offset: Int)]
    }

    /// A batch whose transaction is running on the store's own thread.
    private struct InFlight {
        let transaction: Pending<RecordResult>
        let prepared: Prepared
    }

    /// Starts `p`'s transaction without waiting for it.
    private func start(_ p: Prepared) -> InFlight {
        let store = self.store, batch = p.decisions
        return InFlight(transaction: Pending { batch.isEmpty ? RecordResult() : try await store.record(batch) }, prepared: p)
    }

    /// Waits for a batch's transaction, then writes its lines in order: a line is printed only
    /// once its plan is recorded, with the id the store keeps for it.
    private func finish(_ f: InFlight) throws {
        let r = try f.transaction.wait()
        result.decisions += r.decisions
        result.tasks += r.tasks
        result.skipped += r.skipped
        var outputs = f.prepared.outputs
        if !r.kept.isEmpty { Self.retag(&outputs, f.prepared, kept: r.kept) }
        for (out, write) in outputs { try out.withUnsafeBytes { try write($0) } }
    }

    /// Puts the ids the store kept into the lines of the customers it skipped.
    private static func retag(_ outputs: inout [([UInt8], (UnsafeRawBufferPointer) throws -> Void)], _ p: Prepared,
                              kept: [String: String]) {
        var edits: [Int: [(offset: Int, id: [UInt8])]] = [:]
        for (d, place) in zip(p.decisions, p.idPlaces) {
            guard let id = kept[d.customer], id != d.id else { continue }
            edits[place.output, default: []].append((place.offset, Array(id.utf8)))
        }
        for (o, list) in edits {
            let old = outputs[o].0
            var out: [UInt8] = []
            out.reserveCapacity(old.count)
            var copied = 0
            for e in list.sorted(by: { $0.offset < $1.offset }) {
                out.append(contentsOf: old[copied..<e.offset])
                out.append(contentsOf: e.id)
                copied = e.offset + DecisionIDGenerator.length
            }
            out.append(contentsOf: old[copied...])
            outputs[o].0 = out
        }
    }

    /// Reads several chunks' plans and makes their decisions (one transaction's worth) and their
    /// lines tagged with `"decision"` and `"revision"`.
    private func prepare(_ chunks: [Chunk]) throws -> Prepared {
        var decisions: [RecordedDecision] = []
        var outputs: [[UInt8]] = []
        var places: [(output: Int, offset: Int)] = []
        let tail = Array(",\"revision\":\"\(revision)\"}\n".utf8)
        for (o, c) in chunks.enumerated() {
            var out: [UInt8] = []
            out.reserveCapacity(c.bytes.count + c.lines * 80)
            var copied = 0, item = 0
            c.bytes.withUnsafeBytes { bytes in
                var start = 0
                for i in 0..<bytes.count where bytes[i] == 0x0A {
                    defer { start = i + 1 }
                    guard i - start > 12, bytes[start] == 0x7B, bytes[i - 1] == 0x7D,
                          let p = ScannedPlan.read(UnsafeRawBufferPointer(rebasing: bytes[start..<i])) else { continue }
                    let id = ids.next()
                    let lineStart = out.count + (start - copied)
                    out.append(contentsOf: bytes[copied..<(i - 1)])  // the line without "}\n"
                    out.append(contentsOf: ",\"decision\":\"".utf8)
                    places.append((o, out.count))
                    out.append(contentsOf: id.utf8)
                    out.append(0x22)
                    out.append(contentsOf: tail)
                    copied = i + 1
                    let planText = String(decoding: out[lineStart..<(out.count - 1)], as: UTF8.self)
                    let tasks = p.actions.map { a in
                        var fields: String?
                        if item < c.items.count, c.items[item].0 == a.department {
                            fields = departmentFields[a.department].flatMap { Self.fields($0.count, of: c.items[item].1) }
                            item += 1
                        }
                        return RecordedTask(action: a.action, department: a.department, channel: a.channel, priority: a.priority,
                                            dueAt: sla[a.action].map { at.addingTimeInterval($0 * 86_400) }, policy: a.policy,
                                            segments: p.segments, fields: fields)
                    }
                    decisions.append(RecordedDecision(id: id, run: run, customer: p.customer, revision: revision, at: at,
                                                      plan: planText, heldOut: p.heldOut, tasks: tasks))
                }
            }
            out.append(contentsOf: c.bytes[copied...])
            outputs.append(out)
        }
        return Prepared(decisions: decisions, outputs: zip(chunks, outputs).map { ($1, $0.write) }, idPlaces: places)
    }

    /// The department's fields of a work item: its last `n` members (the item ends with them,
    /// in declared order), as a JSON object text; `nil` when the item cannot be read.
    static func fields(_ n: Int, of line: [UInt8]) -> String? {
        line.withUnsafeBytes { u -> String? in
            let scan = JSONScan(u: u)
            var end = u.count
            while end > 0, u[end - 1] == 0x0A || u[end - 1] == 0x0D { end -= 1 }
            var members: [(Range<Int>, Range<Int>)] = []
            guard scan.members(0..<end, { members.append(($0, $1)) }), members.count >= n else { return nil }
            var out: [UInt8] = [0x7B]
            for (i, m) in members.suffix(n).enumerated() {
                if i > 0 { out.append(0x2C) }
                out.append(contentsOf: u[(m.0.lowerBound - 1)..<(m.0.upperBound + 1)])
                out.append(0x3A)
                out.append(contentsOf: u[m.1])
            }
            out.append(0x7D)
            return String(decoding: out, as: UTF8.self)
        }
    }
}
