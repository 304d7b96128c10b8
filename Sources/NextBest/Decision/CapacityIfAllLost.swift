// Capacity across customers (policy-language.md §8.4): the plans pass 1 makes for customers who lose every capacity their plan claims.
import Foundation

/// Pass 1 of a run with capacity also makes, for each customer whose plan claims a capacity,
/// the plan they get if they lose every capacity it claims (`LuaState.setSpeculate`; the
/// bridge writes it aside). A customer who loses all their claims in the round where they
/// first lose one would be decided again with exactly those actions blocked, each with the
/// reason of its department's capacity first: that same plan. Most who lose are such
/// customers; they take the plan kept here instead of being decided again.
final class IfAllLost {
    private let spill: SpillFile
    private var lines: [Int: (offset: Int, count: Int)] = [:]

    /// Plans appended to `spill` (the run's file of plans decided again: a plan taken stays
    /// where it is, and the final merge reads it there).
    init(spill: SpillFile) { self.spill = spill }

    /// Keeps record `record`'s plan for losing all from `r`, if the bridge made one; `next` is a
    /// cursor into `r.ifAllLostLines` (called in record order).
    func keep(from r: ChunkResult, at next: inout Int, record: Int) throws {
        let made = r.ifAllLostLines
        while next < made.count && made[next].number < record { next += 1 }
        guard next < made.count, made[next].number == record, let buffer = r.ifAllLost else { return }
        let l = made[next]
        lines[record] = (spill.size, l.end - l.start)
        try buffer.withBytes { try spill.append(UnsafeRawBufferPointer(rebasing: $0[l.start..<l.end])) }
    }

    /// Of the records that `lost` claims this round, those that take their plan for losing all:
    /// none of their claims `won`, never `blocked` before (their counted plan is pass 1's), the
    /// only record of their id among those who lost, and a plan kept for them.
    func takers(lost: [Int: CapacityBlock], won: Set<Int>, blocked: [Int: CapacityBlock]) -> Set<Int> {
        var ids: [String: Int] = [:]
        for l in lost.values { ids[l.id, default: 0] += 1 }
        var out = Set<Int>()
        for (record, l) in lost where !won.contains(record) && blocked[record] == nil && ids[l.id] == 1 && lines[record] != nil {
            out.insert(record)
        }
        return out
    }

    /// The net choices of the plans of `records` (who take their plan for losing all): their
    /// first plans (read with `firsts`, where `kept` says) out, their plans for losing all in.
    /// May run on another thread than the one that kept the plans, once they are all kept.
    func choiceCounts(_ records: ArraySlice<Int>, kept: [Int: KeptRecord], firsts: WindowReader, plans reader: WindowReader) throws -> ChoiceCounts {
        var counts = ChoiceCounts()
        for record in records {
            guard let first = kept[record], let l = lines[record] else { continue }
            counts.replace(try firsts.bytes(offset: first.plan, count: first.planCount), with: try reader.bytes(offset: l.offset, count: l.count))
        }
        return counts
    }

    /// Where record `record`'s plan for losing all is in the spill file.
    func place(of record: Int) -> (offset: Int, count: Int)? { lines[record] }

    /// A reader of the plans kept (once they all are; call it on the thread that kept them).
    func reader() throws(ProfileReadError) -> WindowReader { try spill.reader() }

    /// Record `record`'s plan for losing all, as one line read with `reader` (valid until its next read).
    func line(of record: Int, from reader: WindowReader) throws(ProfileReadError) -> UnsafeRawBufferPointer {
        guard let l = lines[record] else { throw ProfileReadError(message: "no plan was kept for record \(record) of a run with capacity") }
        return try reader.bytes(offset: l.offset, count: l.count)
    }
}

/// Net counts of plans' choices (what the counters take from a plan, `PlanClaimScanner.choice`)
/// to take into (positive) or out of (negative) a state's counters with `LuaState.recount`.
struct ChoiceCounts {
    /// A choice's JSON text, hashed as one run of bytes (an array hashes byte by byte).
    private struct Choice: Hashable {
        var bytes: [UInt8]
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }
    private var net: [Choice: Int] = [:]

    /// Adds `other`'s counts.
    mutating func add(_ other: ChoiceCounts) { net.merge(other.net, uniquingKeysWith: +) }

    /// Counts the choice of the plan in `line` `n` more times.
    private mutating func add(_ line: UnsafeRawBufferPointer, _ n: Int) {
        net[Choice(bytes: PlanClaimScanner.choice(of: line) ?? Array(line)), default: 0] += n
    }

    /// Takes the choice of the plan `old` out and counts that of `new` instead.
    mutating func replace(_ old: UnsafeRawBufferPointer, with new: UnsafeRawBufferPointer) {
        add(old, -1)
        add(new, 1)
    }

    /// `[{"n":-2,"plan":{...}},...]` for the choices whose count is not 0; nil when there is none.
    var json: String? {
        var out: [UInt8] = []
        for (choice, n) in net where n != 0 {
            out += (out.isEmpty ? "[" : ",").utf8
            out += #"{"n":\#(n),"plan":"#.utf8
            out += choice.bytes
            out.append(UInt8(ascii: "}"))
        }
        if out.isEmpty { return nil }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// Work run on a thread of its own, waited for by the thread that started it.
final class BackgroundJob<Result>: @unchecked Sendable {
    private let done = NSCondition()
    private var result: Swift.Result<Result, any Error>?
    private let work: () throws -> Result

    /// Starts `work` on a new thread.
    init(_ work: @escaping () throws -> Result) {
        self.work = work
        Thread { [self] in
            let r = Swift.Result { try self.work() }
            done.lock()
            result = r
            done.broadcast()
            done.unlock()
        }.start()
    }

    /// The work's result, once it is done (its error thrown).
    func wait() throws -> Result {
        done.lock()
        defer { done.unlock() }
        while result == nil { done.wait() }
        return try result!.get()
    }
}
