// Capacity across customers (policy-language.md §8.4): a batch run in rounds — decide everyone, give each capacity to its best claims, decide the losers again — with the plans spilled to disk.
import Foundation

extension Engine {
    /// Whether a department or action of the set has a `capacity` (policy-language.md §8.4),
    /// which `run(profiles:...)` applies across the whole population.
    public var hasCapacity: Bool { !CapacityKeys(description).isEmpty }

    /// Sets a chunk's capacity blocks in `state`; when that fails, every record of the chunk
    /// gets an error record (and false is returned).
    static func applyBlocks(_ blocked: String, chunk: RecordChunk, state: LuaState, result r: ChunkResult) -> Bool {
        do {
            try state.setBlocked(blocked)
            return true
        } catch {
            for rec in chunk.records {
                r.records += 1
                writeErrorRecord(r, number: rec.number, customer: nil, message: "capacity could not be applied to this record: \(error)")
            }
            return false
        }
    }

    /// Runs `source` through `states` (in parallel when there are several) and hands each
    /// chunk's result to `consume` in input order, with the bytes read so far.
    private func drive(_ source: any RecordSource, states: [LuaState], routes: Bool, history: (any ContactHistoryProvider)?,
                       ifAllLost: Bool = false, consume: (ChunkResult, Int) throws -> Void) throws {
        // Past contacts older than the set's rules reach back are not fetched (ContactHistory.swift).
        let since = history == nil ? nil : historySince(now: try nowSeconds(states[0]))
        if states.count == 1 {
            var source = source
            while let chunk = try source.nextChunk() {
                if let history { try Engine.loadHistory(history, since: since, chunk: chunk, state: states[0]) }
                try consume(Engine.process(chunk, state: states[0], routes: routes, ifAllLost: ifAllLost), source.bytesRead)
            }
        } else {
            try ParallelRun(states: states, source: source, routes: routes, history: history, since: since, ifAllLost: ifAllLost).run(consume)
        }
    }

    /// Calls `body` with each line of `r`'s output (newline included) and, for a plan, its
    /// record number and customer id's JSON text (without quotes).
    private static func lines(of r: ChunkResult, _ body: (UnsafeRawBufferPointer, (number: Int, id: UnsafeRawBufferPointer)?) throws -> Void) rethrows {
        try r.out.withBytes { out in
            var start = 0, next = 0
            while start < out.count {
                let nl = memchr(out.baseAddress! + start, 0x0A, out.count - start)
                let end = nl.map { UnsafeRawPointer($0) - out.baseAddress! + 1 } ?? out.count
                var plan: (number: Int, id: UnsafeRawBufferPointer)?
                if next < r.ids.count, r.ids[next].start < end {
                    let e = r.ids[next]
                    next += 1
                    let quoted = e.end - e.start >= 2 && out[e.start] == UInt8(ascii: "\"")
                    let idRange = quoted ? (e.start + 1)..<(e.end - 1) : e.start..<e.end
                    plan = (e.number, UnsafeRawBufferPointer(rebasing: out[idRange]))
                }
                try body(UnsafeRawBufferPointer(rebasing: out[start..<end]), plan)
                start = end
            }
        }
    }

    /// `run(profiles:...)` for a set with capacities: pass 1 decides everyone into a spill
    /// file and keeps only the claims on capacities; then, round by round, each capacity goes
    /// to its best claims (priority, then id text), and the customers who lost one are
    /// decided again with that action blocked, until no capacity is exceeded. The cut-off of
    /// a capacity only rises, so every winner ranks above every customer turned away.
    func runWithCapacity(profiles givenPath: String, options: BatchOptions, keys: CapacityKeys,
                         output: @escaping (UnsafeRawBufferPointer) throws -> Void, routes: RouteWriter?,
                         progress: ((_ bytesRead: Int, _ records: Int) -> Void)?) throws -> BatchSummary {
        let start = DispatchTime.now()
        let tmp = NSTemporaryDirectory()
        var path = givenPath
        var stdinCopy: String?
        defer { if let stdinCopy { unlink(stdinCopy) } }
        if givenPath == "-" {  // read more than once: standard input is copied to a temporary file first
            let copy = tmp + "/nextbest-capacity-stdin-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            try Self.copyStandardInput(to: copy)
            stdinCopy = copy
            path = copy
        }
        let typing = CSVTyping(schema: profileSchema, reading: options.csv)
        let makeSource = { () throws -> any RecordSource in
            try makeRecordSource(path: path, format: options.format, chunkBytes: options.chunkBytes, typing: typing)
        }
        let skipped = SkippedRecords()
        let scanner = PlanClaimScanner(keys: keys)
        let redone = try SpillFile(directory: tmp), claimants = try SpillFile(directory: tmp)
        // Pass 1 also makes, for each customer whose plan claims a capacity, the plan they get if
        // they lose all it claims: most who lose do, and are not decided again (`IfAllLost`).
        let ifAllLost = options.capacityIfAllLost ? IfAllLost(spill: redone) : nil
        // JSON Lines records can be read back from a regular file; other inputs' are copied aside.
        let input = options.format == .jsonl ? InputFile(path: path) : nil
        let jobs = min(options.jobs, options.jobs > 1 ? self.options.concurrency : 1)
        var report = CapacityReport(limits: keys.keys.map {
            CapacityReport.Limit(kind: $0.kind, name: $0.name, capacity: $0.capacity, declared: $0.declared, takenBefore: $0.before)
        })
        let sharded = options.shard.flatMap { $0.count > 1 ? $0 : nil }
        // The first decisions wait in the output file itself when it can be rewritten in place,
        // or in a spill file; the lines capacity changed are merged in at the end. But the work
        // queues (and recorded tasks' fields) need the final plans' items, and a shard writes its
        // own customers only: then one more pass writes the output.
        let finalPass = routes != nil || options.workItems != nil || sharded != nil
        let inPlace = finalPass ? nil : options.outputDescriptor.flatMap(InPlaceOutput.init(descriptor:))
        let spill = inPlace != nil ? nil : try SpillFile(directory: tmp)
        var summary = try pool.withStates(jobs) { states -> BatchSummary in
            for s in states {
                try refreshClock(s)
                try s.resetCounters()
                try s.setBlocked("")
                if ifAllLost != nil { try s.setSpeculate(true) }
            }
            defer {
                for s in states {
                    try? s.setBlocked("")
                    if ifAllLost != nil { try? s.setSpeculate(false) }
                    if options.history != nil { try? s.clearHistory() }
                }
            }
            var summary = BatchSummary()
            var seen = RepeatedIds()
            var current = [[CapacityClaim]](repeating: [], count: keys.keys.count)
            var lineCount = 0

            // Pass 1: everyone, into the output file or the spill; only the claims stay in memory.
            // The records of customers with claims are kept too: only they may be decided again.
            // A shard decides every shard's customers here too: capacity goes to the best claims of
            // the whole population (§8.4), so every shard must see them all to agree on the winners.
            let tap = ChunkTap()
            let first = TappedSource(base: ShardFilterSource(base: try makeSource(), shard: nil,
                                                             inputNumbers: options.inputNumbers, skipped: SkippedRecords()), tap: tap)
            var own: [Bool] = []  // sharded: by pass 1's line, whether the record is this shard's
            var found: [CapacityClaim] = []
            var kept: [Int: KeptRecord] = [:]
            var keptBytes: [UInt8] = []  // this chunk's claimants' records, appended to the spill in one write
            try drive(first, states: states, routes: false, history: options.history, ifAllLost: ifAllLost != nil) { r, bytes in
                let chunk = tap.pop()
                var index = 0, at = inPlace?.size ?? spill?.size ?? 0  // where the next line goes
                var lostLine = 0  // the next of r.ifAllLostLines
                keptBytes.removeAll(keepingCapacity: true)
                try Self.lines(of: r) { line, plan in
                    if let shard = sharded, index < chunk.records.count {
                        own.append(chunk.bytes.withUnsafeBytes { shard.owns(chunk.records[index], in: $0) })
                    }
                    if let plan {
                        let before = found.count
                        scanner.claims(in: line, id: plan.id, record: plan.number, lineNumber: lineCount, into: &found)
                        if found.count > before, let ifAllLost {
                            try ifAllLost.keep(from: r, at: &lostLine, record: plan.number)
                        }
                        if found.count > before, index < chunk.records.count, chunk.records[index].number == plan.number {
                            let rec = chunk.records[index]
                            if let base = chunk.fileOffset, input != nil {  // read back from the input
                                kept[rec.number] = KeptRecord(inInput: true, offset: base + rec.start, count: rec.end - rec.start,
                                                              line: rec.line, column: rec.column, plan: at, planCount: line.count)
                            } else {
                                kept[rec.number] = KeptRecord(inInput: false, offset: claimants.size + keptBytes.count, count: rec.end - rec.start,
                                                              line: rec.line, column: rec.column, plan: at, planCount: line.count)
                                chunk.bytes.withUnsafeBytes { keptBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[rec.start..<rec.end])) }
                            }
                        }
                    }
                    index += 1
                    lineCount += 1
                    at += line.count
                }
                try keptBytes.withUnsafeBytes { try claimants.append($0) }
                if let inPlace { try r.out.withBytes { try inPlace.append($0) } } else if let spill { try r.out.withBytes { try spill.append($0) } }
                progress?(bytes, lineCount)  // records read so far (a shard's own are counted in its final pass)
                if sharded != nil { return }
                Self.noteRepeats(r, seen: &seen, summary: &summary)
                summary.count(r)
            }
            for c in found { current[c.key].append(c) }
            found = []
            if ifAllLost != nil { for s in states { try s.setSpeculate(false) } }

            // Rounds: allocate, then decide again whoever lost.
            let records = try claimants.reader()
            let readFirsts = { () throws -> WindowReader in
                try inPlace.map { o in WindowReader(size: o.size) { try o.read(into: $0, count: $1, offset: $2) } } ?? spill!.reader()
            }
            let firsts = try readFirsts()
            var bar = [CapacityClaim?](repeating: nil, count: keys.keys.count)
            var blocks: [Int: CapacityBlock] = [:]
            var replaced: [Int: (offset: Int, count: Int)] = [:]  // by record: its last plan, in `redone`
            while true {
                var lost: [Int: CapacityBlock] = [:]
                var won = Set<Int>()  // records with a claim kept this round
                for k in current.indices {
                    current[k].sort { $0.isBetter(than: $1) }
                    var kept: [CapacityClaim] = []
                    for c in current[k] {
                        if kept.count < keys.keys[k].capacity && (bar[k].map { c.isBetter(than: $0) } ?? true) {
                            kept.append(c)
                            won.insert(c.record)
                            continue
                        }
                        if bar[k].map({ c.isBetter(than: $0) }) ?? true { bar[k] = c }
                        if sharded == nil || own[c.line] { report.limits[k].customersTurnedAway += 1 }
                        var b = lost[c.record] ?? CapacityBlock(id: c.id, line: c.line)
                        if !b.actions.contains(where: { $0.name == c.action }) { b.actions.append((c.action, k)) }
                        lost[c.record] = b
                    }
                    current[k] = kept
                }
                if lost.isEmpty { break }
                report.rounds += 1
                for k in current.indices { current[k].removeAll { lost[$0.record] != nil } }
                // Who lost every claim of the plan pass 1 made for them gets the plan pass 1 made
                // for that case (the same plan deciding them again would make); the rest are decided again.
                let quick: Set<Int> = ifAllLost?.takers(lost: lost, won: won, blocked: blocks).filter { kept[$0] != nil } ?? []
                for (record, l) in lost {
                    var b = blocks[record] ?? CapacityBlock(id: l.id, line: l.line)
                    for a in l.actions where !b.actions.contains(where: { $0.name == a.name }) { b.actions.append(a) }
                    blocks[record] = b
                }
                if let ifAllLost, !quick.isEmpty {
                    // The counters' changes are worked out on two threads when the run has two:
                    // the first half's on another thread, the rest here as their claims are read.
                    let order = quick.sorted(), half = states.count > 1 ? order.count / 2 : 0, keptNow = kept
                    var other: BackgroundJob<ChoiceCounts>?
                    if half > 0 {
                        let theirPlans = try ifAllLost.reader(), theirFirsts = try readFirsts()
                        other = BackgroundJob { try ifAllLost.choiceCounts(order[..<half], kept: keptNow, firsts: theirFirsts, plans: theirPlans) }
                    }
                    let plans = try ifAllLost.reader()
                    var counts = ChoiceCounts()
                    for (i, record) in order.enumerated() {
                        guard let b = blocks[record], let first = kept[record], let place = ifAllLost.place(of: record) else { continue }
                        let line = try ifAllLost.line(of: record, from: plans)
                        replaced[record] = place
                        Array(b.id.utf8).withUnsafeBytes { id in
                            scanner.claims(in: line, id: id, record: record, lineNumber: b.line, into: &found)
                        }
                        if i >= half { counts.replace(try firsts.bytes(offset: first.plan, count: first.planCount), with: line) }
                    }
                    if let other { counts.add(try other.wait()) }
                    if let json = counts.json { try states[0].recount(json) }
                }
                let wanted = quick.isEmpty ? lost.keys.sorted() : lost.keys.filter { !quick.contains($0) }.sorted()
                // Each customer's plan counted so far goes with their blocks: their new plan replaces it in the counters.
                let previous = wanted.map { r in
                    replaced[r].map { LinePlace(redone: true, offset: $0.offset, count: $0.count) }
                        ?? LinePlace(redone: false, offset: kept[r]?.plan ?? 0, count: kept[r]?.planCount ?? 0)
                }
                let source = KeptRecordsSource(input: input?.reader, records: records, firsts: firsts, redone: try redone.reader(), kept: kept, wanted: wanted,
                                               previous: previous, inputNumbers: options.inputNumbers, keys: keys,
                                               blocks: blocks.filter { lost[$0.key] != nil }, chunkBytes: options.chunkBytes)
                report.decidedAgain += wanted.count
                var position = 0
                try drive(source, states: states, routes: false, history: options.history) { r, _ in
                    try Self.lines(of: r) { line, plan in
                        guard position < wanted.count, let b = blocks[wanted[position]] else { return }
                        replaced[wanted[position]] = (redone.size, line.count)
                        try redone.append(line)
                        if let plan { scanner.claims(in: line, id: plan.id, record: plan.number, lineNumber: b.line, into: &found) }
                        position += 1
                    }
                }
                for c in found { current[c.key].append(c) }
                found = []
            }
            for k in current.indices {
                report.limits[k].taken = current[k].count { sharded == nil || own[$0.line] }
                if sharded != nil { report.limits[k].takenByAllShards = current[k].count }
            }
            report.customersMoved = blocks.count { sharded == nil || own[$0.value.line] }

            if sharded != nil {  // counted afresh in the final pass: this shard's customers only
                for s in states { try s.resetCounters() }
            } else {
                for s in states { summary.add(try s.counters()) }
                summary.duplicatesCheckedUpTo = seen.checkedUpTo
            }
            summary.includeDeclared(description)
            summary.nowGiven = self.options.now != nil

            if finalPass {  // plans and items written as they come
                let final = SelectedRecordsSource(base: ShardFilterSource(base: try makeSource(), shard: options.shard, inputNumbers: false, skipped: skipped),
                                                  wanted: nil, inputNumbers: options.inputNumbers, keys: keys,
                                                  blocks: blocks)
                try drive(final, states: states, routes: true, history: options.history) { r, _ in
                    if sharded != nil {
                        summary.count(r)
                        Self.noteRepeats(r, seen: &seen, summary: &summary)
                    }
                    if let items = options.workItems, let rb = r.routes { try items(WorkItems(batch: rb)) }
                    try r.out.withBytes(output)
                    if let routes, let rb = r.routes { try routes.add(rb) }
                }
                if sharded != nil {
                    for s in states { summary.add(try s.counters()) }
                    summary.duplicatesCheckedUpTo = seen.checkedUpTo
                }
            } else {
                let changes = replaced.compactMap { record, new in
                    kept[record].map { LineChange(offset: $0.plan, count: $0.planCount, newOffset: new.offset, newCount: new.count) }
                }.sorted { $0.offset < $1.offset }
                try Self.writeFinal(changes: changes, redone: redone, spill: spill, inPlace: inPlace, readAhead: options.capacityReadAhead,
                                   output: output)
            }
            return summary
        }
        summary.capacity = report
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        summary.shard = options.shard
        summary.skippedForOtherShards = skipped.count
        return summary
    }

    /// Writes the final plans: the first decisions with the `changes` (in offset order) merged
    /// in, rewritten in place in the output file or read from the spill into `output`.
    private static func writeFinal(changes: [LineChange], redone: SpillFile, spill: SpillFile?, inPlace: InPlaceOutput?,
                                   readAhead: Int, output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        if let spill {
            _ = try LineMerge(size: spill.size, inPlace: false, read: spill.read, write: { bytes, _ in try output(bytes) })
                .run(from: 0, changes: changes, redone: redone)
            return
        }
        guard let inPlace else { return }
        guard let first = changes.first?.offset else { return try inPlace.finish(count: inPlace.size) }
        var merge = LineMerge(size: inPlace.size, inPlace: true, read: inPlace.read, write: inPlace.write)
        if LineMerge.maximumAhead(changes) > readAhead {
            // The lines grew too much to read ahead in memory: the tail is copied out first.
            let tail = try SpillFile(directory: NSTemporaryDirectory())
            let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { block.deallocate() }
            var offset = first
            while offset < inPlace.size {
                let n = try inPlace.read(into: block.baseAddress!, count: min(block.count, inPlace.size - offset), offset: offset)
                guard n > 0 else { throw ProfileReadError(message: "the output ended early while it was read back") }
                try tail.append(UnsafeRawBufferPointer(start: block.baseAddress!, count: n))
                offset += n
            }
            merge = LineMerge(size: inPlace.size, inPlace: false, read: { try tail.read(into: $0, count: $1, offset: $2 - first) },
                              write: inPlace.write)
        }
        try inPlace.finish(count: try merge.run(from: first, changes: changes, redone: redone))
    }

    /// Copies standard input into a new file at `path`.
    private static func copyStandardInput(to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ProfileReadError(message: "cannot copy standard input to \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { Foundation.read(0, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ProfileReadError(message: "cannot read standard input: \(String(cString: strerror(errno)))") }
            if n == 0 { return }
            var done = 0
            while done < n {
                let w = buf.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, n - done) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { throw ProfileReadError(message: "cannot copy standard input to \(path): \(String(cString: strerror(errno)))") }
                done += w
            }
        }
    }
}
