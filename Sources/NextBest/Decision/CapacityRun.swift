// Capacity across customers (policy-language.md §8.4): a batch run in rounds — decide everyone, give each capacity to its best claims, decide the losers again — with the plans spilled to disk.
import Foundation

/// A temporary file plan lines are appended to and read back from. It is unlinked as soon as
/// it is open, so it goes away with the process whatever happens.
final class SpillFile {
    private let fd: Int32
    /// Bytes written so far.
    private(set) var size = 0

    /// A new spill file in `directory`.
    init(directory: String) throws {
        let path = directory + "/nextbest-capacity-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).spill"
        fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw ProfileReadError(message: "cannot write the temporary file \(path) that a run with capacity needs: \(String(cString: strerror(errno))) (set TMPDIR to a folder with room)")
        }
        unlink(path)
    }

    deinit { close(fd) }

    /// Appends `bytes`.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ProfileReadError(message: "cannot write the temporary file of a run with capacity: \(String(cString: strerror(errno)))") }
            done += n
        }
        size += bytes.count
    }

    /// Reads up to `count` bytes at `offset` into `buffer`; returns how many (0 at the end).
    func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: Int) throws -> Int {
        while true {
            let n = pread(fd, buffer, count, off_t(offset))
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ProfileReadError(message: "cannot read back the temporary file of a run with capacity: \(String(cString: strerror(errno)))") }
            return n
        }
    }

    /// The `count` bytes at `offset`.
    func bytes(offset: Int, count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buf, done in
            done = 0
            while done < count {
                let n = try read(into: buf.baseAddress! + done, count: count - done, offset: offset + done)
                guard n > 0 else { throw ProfileReadError(message: "the temporary file of a run with capacity ended early") }
                done += n
            }
        }
    }
}

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
                       consume: (ChunkResult, Int) throws -> Void) throws {
        // Past contacts older than the set's rules reach back are not fetched (ContactHistory.swift).
        let since = history == nil ? nil : historySince(now: try nowSeconds(states[0]))
        if states.count == 1 {
            var source = source
            while let chunk = try source.nextChunk() {
                if let history { try Engine.loadHistory(history, since: since, chunk: chunk, state: states[0]) }
                try consume(Engine.process(chunk, state: states[0], routes: routes), source.bytesRead)
            }
        } else {
            try ParallelRun(states: states, source: source, routes: routes, history: history, since: since).run(consume)
        }
    }

    /// Calls `body` with each line of `r`'s output (newline included) and, for a plan, its
    /// record number and customer id text (without quotes).
    private static func lines(of r: ChunkResult, _ body: (UnsafeRawBufferPointer, (number: Int, id: String)?) throws -> Void) rethrows {
        try r.out.withBytes { out in
            var start = 0, next = 0
            while start < out.count {
                let nl = memchr(out.baseAddress! + start, 0x0A, out.count - start)
                let end = nl.map { UnsafeRawPointer($0) - out.baseAddress! + 1 } ?? out.count
                var plan: (number: Int, id: String)?
                if next < r.ids.count, r.ids[next].start < end {
                    let e = r.ids[next]
                    next += 1
                    let quoted = e.end - e.start >= 2 && out[e.start] == UInt8(ascii: "\"")
                    let idRange = quoted ? (e.start + 1)..<(e.end - 1) : e.start..<e.end
                    plan = (e.number, String(decoding: UnsafeRawBufferPointer(rebasing: out[idRange]), as: UTF8.self))
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
        let spill = try SpillFile(directory: tmp), redone = try SpillFile(directory: tmp), claimants = try SpillFile(directory: tmp)
        let jobs = min(options.jobs, options.jobs > 1 ? self.options.concurrency : 1)
        var report = CapacityReport(limits: keys.keys.map {
            CapacityReport.Limit(kind: $0.kind, name: $0.name, capacity: $0.capacity, declared: $0.declared, takenBefore: $0.before)
        })
        let sharded = options.shard.flatMap { $0.count > 1 ? $0 : nil }
        var summary = try pool.withStates(jobs) { states -> BatchSummary in
            for s in states {
                try refreshClock(s)
                try s.resetCounters()
                try s.setBlocked("")
            }
            defer { for s in states { try? s.setBlocked(""); if options.history != nil { try? s.clearHistory() } } }
            var summary = BatchSummary()
            var seen = RepeatedIds()
            var current = [[CapacityClaim]](repeating: [], count: keys.keys.count)
            var lineCount = 0

            // Pass 1: everyone, into the spill; only the claims stay in memory.
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
            try drive(first, states: states, routes: false, history: options.history) { r, bytes in
                let chunk = tap.pop()
                var index = 0
                keptBytes.removeAll(keepingCapacity: true)
                try Self.lines(of: r) { line, plan in
                    if let shard = sharded, index < chunk.records.count {
                        own.append(chunk.bytes.withUnsafeBytes { shard.owns(chunk.records[index], in: $0) })
                    }
                    if let plan {
                        let before = found.count
                        scanner.claims(in: line, id: plan.id, record: plan.number, lineNumber: lineCount, into: &found)
                        if found.count > before, index < chunk.records.count, chunk.records[index].number == plan.number {
                            let rec = chunk.records[index]
                            kept[rec.number] = KeptRecord(offset: claimants.size + keptBytes.count, count: rec.end - rec.start,
                                                          line: rec.line, column: rec.column)
                            chunk.bytes.withUnsafeBytes { keptBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[rec.start..<rec.end])) }
                        }
                    }
                    index += 1
                    lineCount += 1
                }
                try keptBytes.withUnsafeBytes { try claimants.append($0) }
                try r.out.withBytes { try spill.append($0) }
                progress?(bytes, lineCount)  // records read so far (a shard's own are counted in its final pass)
                if sharded != nil { return }
                Self.noteRepeats(r, seen: &seen, summary: &summary)
                summary.count(r)
            }
            for c in found { current[c.key].append(c) }
            found = []

            // Rounds: allocate, then decide again whoever lost.
            var bar = [CapacityClaim?](repeating: nil, count: keys.keys.count)
            var blocks: [Int: CapacityBlock] = [:]
            var replaced: [Int: (offset: Int, count: Int)] = [:]
            while true {
                var lost: [Int: CapacityBlock] = [:]
                for k in current.indices {
                    current[k].sort { $0.isBetter(than: $1) }
                    var kept: [CapacityClaim] = []
                    for c in current[k] {
                        if kept.count < keys.keys[k].capacity && (bar[k].map { c.isBetter(than: $0) } ?? true) {
                            kept.append(c)
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
                for (record, l) in lost {
                    var b = blocks[record] ?? CapacityBlock(id: l.id, line: l.line)
                    b.before = b.actions.count
                    for a in l.actions where !b.actions.contains(where: { $0.name == a.name }) { b.actions.append(a) }
                    blocks[record] = b
                }
                let wanted = lost.keys.sorted()
                let source = KeptRecordsSource(spill: claimants, kept: kept, wanted: wanted, inputNumbers: options.inputNumbers,
                                               keys: keys, blocks: blocks.filter { lost[$0.key] != nil }, chunkBytes: options.chunkBytes)
                var position = 0
                try drive(source, states: states, routes: false, history: options.history) { r, _ in
                    try Self.lines(of: r) { line, plan in
                        guard position < wanted.count, let b = blocks[wanted[position]] else { return }
                        replaced[b.line] = (redone.size, line.count)
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

            if routes != nil || options.workItems != nil || sharded != nil {
                // The work queues (and recorded tasks' fields) need the final plans' items, and a
                // shard writes its own customers only: one more pass, plans and items written as
                // they come.
                let final = SelectedRecordsSource(base: ShardFilterSource(base: try makeSource(), shard: options.shard, inputNumbers: false, skipped: skipped),
                                                  wanted: nil, inputNumbers: options.inputNumbers, keys: keys,
                                                  blocks: blocks.mapValues { var b = $0; b.before = b.actions.count; return b })
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
                try Self.merge(spill: spill, lines: lineCount, replaced: replaced, redone: redone, output: output)
            }
            return summary
        }
        summary.capacity = report
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        summary.shard = options.shard
        summary.skippedForOtherShards = skipped.count
        return summary
    }

    /// Writes the spill's lines in order, each replaced line taken from `redone` instead;
    /// `output` gets whole lines, about 256 KiB at a time.
    private static func merge(spill: SpillFile, lines: Int, replaced: [Int: (offset: Int, count: Int)], redone: SpillFile,
                              output: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
        defer { buf.deallocate() }
        var have = 0, offset = 0, line = 0
        while offset < spill.size || have > 0 {
            if have == buf.count {  // a line longer than the buffer: make room
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buf.count * 2, alignment: 1)
                bigger.baseAddress!.copyMemory(from: buf.baseAddress!, byteCount: have)
                buf.deallocate()
                buf = bigger
            }
            if offset < spill.size {
                let n = try spill.read(into: buf.baseAddress! + have, count: min(buf.count - have, spill.size - offset), offset: offset)
                have += n
                offset += n
            }
            let base = buf.baseAddress!
            var start = 0, run = 0   // the next line; the first line not yet written
            while start < have, let nl = memchr(base + start, 0x0A, have - start) {
                let end = UnsafeRawPointer(nl) - UnsafeRawPointer(base) + 1
                if let r = replaced[line] {
                    if run < start { try output(UnsafeRawBufferPointer(start: base + run, count: start - run)) }
                    try redone.bytes(offset: r.offset, count: r.count).withUnsafeBytes(output)
                    run = end
                }
                line += 1
                start = end
            }
            if offset >= spill.size && start < have { start = have }  // a last line without a newline (ours all end in one)
            if run < start { try output(UnsafeRawBufferPointer(start: base + run, count: start - run)) }
            if start > 0 && start < have { memmove(base, base + start, have - start) }
            have -= start
        }
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
