// Batch runs: many profiles through one engine, in parallel, plans written in input order.
import Foundation

/// What a batch run did: every input record ends as one plan or one error record.
public struct BatchSummary: Sendable {
    /// Input records read (`records == plans + errorRecords`).
    public var records = 0
    /// Plans written.
    public var plans = 0
    /// Plans that carry at least one policy error.
    public var plansWithErrors = 0
    /// Records that gave an error record instead of a plan.
    public var errorRecords = 0
    /// Actions chosen, per action name.
    public var actionsByAction: [String: Int] = [:]
    /// Actions chosen, per department.
    public var actionsByDepartment: [String: Int] = [:]
    /// Customers per segment.
    public var segmentSizes: [String: Int] = [:]
    /// Suppressed proposals, per action.
    public var suppressedByAction: [String: Int] = [:]
    /// Suppressed proposals, per action and then per reason (cooldowns count as one reason).
    public var suppressedByReason: [String: [String: Int]] = [:]
    /// Policy errors, per distinct error (`policy 'x' (file:line): message`).
    public var policyErrors: [String: Int] = [:]
    /// Plans with no action at all.
    public var plansWithoutAction = 0
    /// Actions chosen, per channel.
    public var actionsByChannel: [String: Int] = [:]
    /// Actions chosen, per department and then per channel (each department's channel mix).
    public var channelsByDepartment: [String: [String: Int]] = [:]
    /// Data problems in the profiles (a value of the wrong type for the schema, a consent
    /// value that is not a boolean, an unreadable contact), per field.
    public var fieldErrors: [String: Int] = [:]
    /// The first message seen for each field in ``fieldErrors``.
    public var fieldErrorExamples: [String: String] = [:]
    /// Each policy's funnel, by policy name (every policy of the set, those that never ran too).
    public var policyFunnels: [String: PolicyFunnel] = [:]
    /// The evaluation time the run used (ISO-8601).
    public var now = ""
    /// Whether that time was given (`EngineOptions.now`, `--now`) rather than the current time.
    public var nowGiven = false
    /// The first few error records, for the summary.
    public var errorExamples: [String] = []
    /// Records whose customer id an earlier record already had (each is still decided).
    public var duplicateIds = 0
    /// The first few duplicates: `customer "C1": inputs 3 and 7`.
    public var duplicateExamples: [String] = []
    /// Set when the run was too long to check every id for repeats: the last record checked.
    public var duplicatesCheckedUpTo: Int?
    /// Wall-clock time of the run, in seconds.
    public var seconds: Double = 0
    /// The shard this run decided, when it was one of several (`Shard.swift`).
    public var shard: Shard?
    /// Records left to the other shards (not counted in `records`).
    public var skippedForOtherShards = 0
    /// What capacity across customers did (policy-language.md §8.4), when the set has any.
    public var capacity: CapacityReport?

    /// Total actions chosen.
    public var actions: Int { actionsByAction.values.reduce(0, +) }
    /// Whether everything went through cleanly (no error record, no policy error).
    public var isClean: Bool { errorRecords == 0 && plansWithErrors == 0 && duplicateIds == 0 }

    /// Adds one state's counters. What a plan's choice counts may be taken back in another
    /// state than the one that counted it (capacity, §8.4), so a count may be negative in one
    /// state: a sum back at 0 is removed, as the states remove theirs (stats.lua).
    mutating func add(_ c: RunCounters) {
        func merge(_ counts: inout [String: Int], _ more: [String: Int]) {
            for (k, n) in more { let sum = (counts[k] ?? 0) + n; counts[k] = sum == 0 ? nil : sum }
        }
        func merge(_ nested: inout [String: [String: Int]], _ more: [String: [String: Int]]) {
            for (k, m) in more {
                var inner = nested[k] ?? [:]
                merge(&inner, m)
                nested[k] = inner.isEmpty ? nil : inner
            }
        }
        merge(&actionsByAction, c.actions)
        merge(&actionsByDepartment, c.departments)
        merge(&actionsByChannel, c.channels)
        merge(&channelsByDepartment, c.departmentChannels)
        segmentSizes.merge(c.segments, uniquingKeysWith: +)
        merge(&suppressedByAction, c.suppressed.mapValues { $0.values.reduce(0, +) })
        merge(&suppressedByReason, c.suppressed)
        policyErrors.merge(c.errors, uniquingKeysWith: +)
        plansWithoutAction += c.noAction
        fieldErrors.merge(c.fieldErrors, uniquingKeysWith: +)
        fieldErrorExamples.merge(c.fieldExamples) { old, _ in old }
        for (name, f) in c.policies {
            var p = policyFunnels[name] ?? PolicyFunnel()
            p.ranFor += f.ran
            p.proposals += f.proposals
            p.taken += f.taken
            merge(&p.suppressed, f.suppressed)
            policyFunnels[name] = p
        }
        if now.isEmpty { now = c.now }
    }

    /// Adds one chunk's records, plans and errors.
    mutating func count(_ r: ChunkResult) {
        records += r.records
        plans += r.plans
        plansWithErrors += r.plansWithErrors
        errorRecords += r.errorRecords
        for e in r.errorExamples where errorExamples.count < 5 { errorExamples.append(e) }
    }

    /// Lists every declared segment and policy, with 0 for those that reached nobody.
    mutating func includeDeclared(_ d: SetDescription) {
        for s in d.segments where segmentSizes[s.name] == nil { segmentSizes[s.name] = 0 }
        for p in d.policies where policyFunnels[p.name] == nil { policyFunnels[p.name] = PolicyFunnel() }
    }
}

/// What one policy did over a run: the customers it ran for, what it proposed, and what
/// became of the proposals (taken, dropped for a better proposal of the same action, suppressed).
public struct PolicyFunnel: Sendable, Hashable {
    /// Customers it ran for (its segments matched and its `when` held).
    public var ranFor = 0
    /// Proposals it made.
    public var proposals = 0
    /// Proposals taken into plans.
    public var taken = 0
    /// Proposals suppressed, per reason.
    public var suppressed: [String: Int] = [:]
    /// Proposals dropped because the same action had a better proposal (from this or another policy).
    public var dropped: Int { max(0, proposals - taken - suppressed.values.reduce(0, +)) }

    /// An empty funnel.
    public init() {}
}

/// Where a batch run's output goes.
public struct BatchOutput {
    /// Receives plan and error lines, in input order.
    var write: (UnsafeRawBufferPointer) throws -> Void
    /// Receives route lines (`department\t{json}\n`) when routes are wanted.
    var routes: RouteWriter?
}

/// Options for a batch run.
public struct BatchOptions: Sendable {
    /// Worker threads, each with its own Lua state.
    public var jobs: Int
    /// The input format.
    public var format: ProfileFormat
    /// Bytes of input per chunk handed to a worker.
    public var chunkBytes: Int
    /// Decide only this shard's records (`Shard.swift`); `nil` decides them all.
    public var shard: Shard?
    /// Give every plan its 1-based input record number (`"input":N`), as error records have.
    public var inputNumbers = false
    /// How CSV cells are typed when the set declares a profile schema (decimal commas, dates).
    public var csv = CSVReading()
    /// Past contacts from outside the profiles (a store, a history file), fetched once per chunk
    /// of input for the chunk's customers; `nil`: the profiles' own contacts only.
    public var history: (any ContactHistoryProvider)?
    /// Receives each chunk's work items (one per action taken, with the department's profile
    /// fields, as the route files get them) just before the chunk's plan lines reach `output`.
    public var workItems: (@Sendable (WorkItems) throws -> Void)?
    /// Actions already taken against capacities (policy-language.md §8.4; with a store, those
    /// recorded earlier the same UTC day), by department and by action: each capacity hands out
    /// only what is left.
    public var capacityAlreadyTaken = CapacityTaken()
    /// The file descriptor `output` writes to, when it is a regular file the run may read back
    /// and rewrite: a run with capacity then writes its first decisions straight into it (at
    /// the descriptor's offset, with `pwrite`, not through `output`) and rewrites the lines
    /// capacity changed in place at the end, instead of keeping them in a temporary file and
    /// writing them all again. Not used when it is not such a file; `nil` (the default): plans
    /// go through `output` only.
    public var outputDescriptor: Int32?
    /// The most bytes one chunk's output may grow to (0: as many as memory allows). Tests lower
    /// it to see a buffer that cannot grow give its record an error.
    var outputLimit = 0
    /// How far a run with capacity may read ahead in memory when it rewrites the output in
    /// place (`outputDescriptor`); beyond it, the rest is copied to a temporary file first.
    /// Tests lower it to take that way.
    var capacityReadAhead = LineMerge.aheadLimit
    /// Whether a run with capacity takes, for a customer who lost every capacity their plan
    /// claimed, the plan pass 1 made for that case instead of deciding them again (tests compare both).
    var capacityIfAllLost = true

    /// Options with the given values.
    public init(jobs: Int = ProcessInfo.processInfo.activeProcessorCount, format: ProfileFormat = .jsonl,
                chunkBytes: Int = 256 << 10) {
        self.jobs = max(1, jobs)
        self.format = format
        self.chunkBytes = chunkBytes
    }
}

/// The output of one chunk, ready to be written in order.
final class ChunkResult {
    let out = NativeBuffer()
    let routes: RouteBatch?
    var records = 0, plans = 0, plansWithErrors = 0, errorRecords = 0
    var errorExamples: [String] = []
    /// Each plan's customer id (as written, JSON) by its place in `out`, for duplicate checks.
    var ids: [(hash: Int, number: Int, start: Int, end: Int)] = []
    /// Capacity's first pass: the plans customers would get if they lost every capacity theirs
    /// claim (`LuaState.setSpeculate`), one line each, and which record's each line is.
    let ifAllLost: NativeBuffer?
    var ifAllLostLines: [(number: Int, start: Int, end: Int)] = []

    init(routes: Bool, outputLimit: Int = 0, ifAllLost: Bool = false) {
        self.routes = routes ? RouteBatch() : nil
        self.ifAllLost = ifAllLost ? NativeBuffer() : nil
        out.maxBytes = outputLimit
    }
}

extension Engine {
    /// Decides every profile in `path` and writes one line per record, in input order. When
    /// departments or actions of the set have a `capacity`, it is applied across the whole
    /// population (policy-language.md §8.4; see `CapacityRun.swift`); a single `decide` cannot
    /// see the population and does not apply it.
    public func run(profiles path: String, options: BatchOptions, output: @escaping (UnsafeRawBufferPointer) throws -> Void,
                    routes: RouteWriter? = nil,
                    progress: ((_ bytesRead: Int, _ records: Int) -> Void)? = nil) throws -> BatchSummary {
        let capacities = CapacityKeys(description, taken: options.capacityAlreadyTaken)
        if !capacities.isEmpty {  // capacity across customers: CapacityRun.swift
            return try runWithCapacity(profiles: path, options: options, keys: capacities, output: output, routes: routes, progress: progress)
        }
        var source = try makeRecordSource(path: path, format: options.format, chunkBytes: options.chunkBytes,
                                          typing: CSVTyping(schema: profileSchema, reading: options.csv))
        let skipped = SkippedRecords()
        if options.shard != nil || options.inputNumbers {
            source = ShardFilterSource(base: source, shard: options.shard, inputNumbers: options.inputNumbers, skipped: skipped)
        }
        let start = DispatchTime.now()
        let jobs = min(options.jobs, options.jobs > 1 ? self.options.concurrency : 1)
        var summary = try pool.withStates(jobs) { states -> BatchSummary in
            for s in states {
                try refreshClock(s)
                try s.resetCounters()
            }
            // Past contacts older than the set's rules reach back are not fetched (ContactHistory.swift).
            let since = options.history == nil ? nil : historySince(now: try nowSeconds(states[0]))
            var summary = BatchSummary()
            var seen = RepeatedIds()
            let wantItems = routes != nil || options.workItems != nil
            func consume(_ r: ChunkResult) throws {
                Engine.noteRepeats(r, seen: &seen, summary: &summary)
                if let items = options.workItems, let rb = r.routes { try items(WorkItems(batch: rb)) }
                try r.out.withBytes(output)
                if let routes, let rb = r.routes { try routes.add(rb) }
                summary.count(r)
            }
            if jobs == 1 {
                while let chunk = try source.nextChunk() {
                    if let h = options.history { try Engine.loadHistory(h, since: since, chunk: chunk, state: states[0]) }
                    try consume(Engine.process(chunk, state: states[0], routes: wantItems, outputLimit: options.outputLimit))
                    progress?(source.bytesRead, summary.records)
                }
            } else {
                try ParallelRun(states: states, source: source, routes: wantItems, history: options.history, since: since,
                                outputLimit: options.outputLimit).run { r, bytes in
                    try consume(r)
                    progress?(bytes, summary.records)
                }
            }
            if options.history != nil { for s in states { try s.clearHistory() } }
            for s in states { summary.add(try s.counters()) }
            summary.includeDeclared(description)
            summary.nowGiven = self.options.now != nil
            summary.duplicatesCheckedUpTo = seen.checkedUpTo
            return summary
        }
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        summary.shard = options.shard
        summary.skippedForOtherShards = skipped.count
        return summary
    }

    /// Decides every record of a chunk with one state.
    static func process(_ chunk: RecordChunk, state: LuaState, routes: Bool, outputLimit: Int = 0, ifAllLost: Bool = false) -> ChunkResult {
        let r = ChunkResult(routes: routes, outputLimit: outputLimit, ifAllLost: ifAllLost)
        if let blocked = chunk.blocked, !applyBlocks(blocked, chunk: chunk, state: state, result: r) { return r }
        chunk.bytes.withUnsafeBytes { all in
            for rec in chunk.records {
                r.records += 1
                if let error = rec.error {
                    writeErrorRecord(r, number: rec.number, customer: nil, message: error)
                    continue
                }
                let slice = UnsafeRawBufferPointer(rebasing: all[rec.start..<rec.end])
                let lostBefore = r.ifAllLost?.count ?? 0
                switch state.decide(slice, line: rec.line, column: rec.column, out: r.out, routes: r.routes, ifAllLost: r.ifAllLost) {
                case .plan(let hasErrors, let customer):
                    noteCustomer(r, number: rec.number, at: customer)
                    if let lost = r.ifAllLost, lost.count > lostBefore { r.ifAllLostLines.append((rec.number, lostBefore, lost.count)) }
                    if chunk.inputNumbers { tagInputNumber(r, number: rec.number) }
                    r.plans += 1
                    if hasErrors { r.plansWithErrors += 1 }
                case .badRecord(let m, let c, let placed):
                    writeErrorRecord(r, number: rec.number, customer: c, message: placed ? m : "line \(rec.line): \(m)")
                case .failed(let m, let c):
                    writeErrorRecord(r, number: rec.number, customer: c, message: "line \(rec.line): \(m)")
                }
            }
        }
        return r
    }

    /// Counts in `summary` the plans of `r` whose customer id an earlier record had already.
    static func noteRepeats(_ r: ChunkResult, seen: inout RepeatedIds, summary: inout BatchSummary) {
        r.out.withBytes { out in
            for e in r.ids {
                guard let first = seen.earlierInput(hash: e.hash, number: e.number) else { continue }
                summary.duplicateIds += 1
                if summary.duplicateExamples.count < 5 {
                    let id = String(decoding: UnsafeRawBufferPointer(rebasing: out[e.start..<e.end]), as: UTF8.self)
                    summary.duplicateExamples.append("customer \(id): inputs \(first) and \(e.number)")
                }
            }
        }
    }

    /// Records the customer id of a plan, at `range` in the output (as the encoder noted it).
    static func noteCustomer(_ r: ChunkResult, number: Int, at range: Range<Int>) {
        r.out.withBytes { out in
            var h = Hasher()
            h.combine(bytes: UnsafeRawBufferPointer(rebasing: out[range]))
            r.ids.append((h.finalize(), number, range.lowerBound, range.upperBound))
        }
    }

    /// `{"input":17,"customer":"C1","error":"line 17: ..."}`.
    static func writeErrorRecord(_ r: ChunkResult, number: Int, customer: String?, message: String) {
        r.errorRecords += 1
        let start = r.out.count
        var ok = r.out.append("{\"input\":\(number),")
        if ok, let customer { ok = r.out.append("\"customer\":\(customer),") }
        ok = ok && r.out.append("\"error\":") && r.out.appendJSONString(message) && r.out.append("}\n")
        // A buffer that cannot grow: no half line; the summary still names the record.
        let shown = ok ? message : "\(message) (and there was no memory left to write this error)"
        if !ok { r.out.truncate(to: start) }
        if r.errorExamples.count < 5 { r.errorExamples.append("input \(number): \(shown)") }
    }
}

/// Workers pull chunks from the reader, decide them with their own state, and hand the
/// results back; the calling thread writes them in input order. Memory stays bounded: the
/// workers never run more than a few chunks ahead of the writer.
final class ParallelRun: @unchecked Sendable {
    private let condition = NSCondition()
    private let states: [LuaState]
    private var source: any RecordSource
    private let routes: Bool
    private let history: (any ContactHistoryProvider)?
    private let since: Int64?
    private let outputLimit: Int
    private var nextToRead = 0
    private var nextToWrite = 0
    private var done: [Int: (ChunkResult, Int)] = [:]
    private var finished = false
    private var failure: (any Error)?
    private var running = 0
    private let window: Int

    private let ifAllLost: Bool

    init(states: [LuaState], source: any RecordSource, routes: Bool, history: (any ContactHistoryProvider)? = nil, since: Int64? = nil,
         outputLimit: Int = 0, ifAllLost: Bool = false) {
        self.states = states
        self.ifAllLost = ifAllLost
        self.outputLimit = outputLimit
        self.since = since
        self.source = source
        self.routes = routes
        self.history = history
        self.window = states.count * 4
    }

    func run(_ consume: (ChunkResult, Int) throws -> Void) throws {
        running = states.count
        for w in 0..<states.count {
            let t = Thread { [self] in self.work(self.states[w]) }
            t.stackSize = 4 << 20
            t.start()
        }
        var consumeError: (any Error)?
        condition.lock()
        while true {
            if let item = done.removeValue(forKey: nextToWrite) {
                nextToWrite += 1
                condition.broadcast()
                condition.unlock()
                do { try consume(item.0, item.1) } catch { consumeError = error }
                condition.lock()
                if consumeError != nil { failure = failure ?? consumeError; finished = true; condition.broadcast() }
                continue
            }
            if running == 0 { break }
            condition.wait()
        }
        condition.unlock()
        if let failure { throw failure }
    }

    private func work(_ state: LuaState) {
        condition.lock()
        while true {
            while !finished && nextToRead - nextToWrite >= window { condition.wait() }
            if finished { break }
            let seq = nextToRead
            let chunk: RecordChunk?
            do { chunk = try source.nextChunk() } catch { failure = failure ?? error; finished = true; break }
            guard let chunk else { finished = true; break }
            nextToRead += 1
            let bytes = source.bytesRead
            condition.unlock()
            if let history {
                do { try Engine.loadHistory(history, since: since, chunk: chunk, state: state) } catch {
                    condition.lock()
                    failure = failure ?? error
                    finished = true
                    break
                }
            }
            let result = Engine.process(chunk, state: state, routes: routes, outputLimit: outputLimit, ifAllLost: ifAllLost)
            condition.lock()
            done[seq] = (result, bytes)
            condition.broadcast()
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }
}
