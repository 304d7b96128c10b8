// Capacity across customers (policy-language.md §8.4): the capacities of a set, the claims a plan makes on them, and the report.
import Foundation

/// What capacity did in one batch run (policy-language.md §8.4).
public struct CapacityReport: Sendable, Hashable {
    /// One department's or action's capacity in the run.
    public struct Limit: Sendable, Hashable {
        /// `department` or `action`.
        public var kind: String
        /// The department's or action's name.
        public var name: String
        /// The capacity this run had: the declared one, less what was taken before it.
        public var capacity: Int
        /// The capacity as declared.
        public var declared: Int
        /// Actions already taken against it before the run (with a store: earlier the same UTC day).
        public var takenBefore = 0
        /// Actions taken against it (in a sharded run, by this shard's customers).
        public var taken = 0
        /// In a sharded run, the actions taken against it by every shard's customers (the
        /// shards agree on them); `nil` otherwise.
        public var takenByAllShards: Int?
        /// Customers who proposed it and lost it to capacity (in a sharded run, this shard's).
        public var customersTurnedAway = 0
    }
    /// Every capacity of the set, departments first, in declaration order.
    public var limits: [Limit]
    /// Customers decided again because they lost an action to capacity (each counted once).
    public var customersMoved = 0
    /// Rounds of re-deciding it took until no capacity was exceeded.
    public var rounds = 0

    /// `department sales: 500 of 500 taken, 37 customers turned away`, one per limit; a shard
    /// says `167 of 500 taken by this shard (500 by all shards)`.
    public var lines: [String] {
        limits.map { l in
            let before = l.takenBefore > 0 ? " (\(l.takenBefore) of \(l.declared) already taken today)" : ""
            let shards = l.takenByAllShards.map { " by this shard (\($0) by all shards)" } ?? ""
            return "\(l.kind) \(l.name): \(l.taken) of \(l.capacity) taken\(shards)\(before), \(l.customersTurnedAway) customers turned away"
        }
    }
}

/// One taken action's claim on a capacity: the plan's priority, the customer id's text (for
/// ties), the record and its output line.
struct CapacityClaim {
    var priority: Double
    var id: String
    var action: String
    var record: Int
    var line: Int
    var key: Int

    /// Whether `self` goes before `other`: priority descending, then the id's text ascending
    /// (by bytes), then the input record.
    func isBetter(than other: CapacityClaim) -> Bool {
        if priority != other.priority { return priority > other.priority }
        if id != other.id { return id.utf8.lexicographicallyPrecedes(other.id.utf8) }
        return record < other.record
    }
}

/// Actions already taken against capacities before a run (with a store: earlier the same UTC day).
public struct CapacityTaken: Sendable, Hashable {
    /// Actions taken, per department.
    public var departments: [String: Int]
    /// Actions taken, per action.
    public var actions: [String: Int]

    /// Counts per department and per action (none by default).
    public init(departments: [String: Int] = [:], actions: [String: Int] = [:]) {
        self.departments = departments
        self.actions = actions
    }
}

/// The set's capacities, by key: departments and actions that declare `capacity`.
struct CapacityKeys {
    struct Key { var kind: String; var name: String; var capacity: Int; var declared: Int; var before: Int }
    var keys: [Key] = []
    var department: [String: Int] = [:]
    var action: [String: Int] = [:]

    /// The capacities of `description`, less what was `taken` already. A sharded run has them
    /// whole too: its shards agree on the winners across the whole population (§8.4).
    init(_ description: SetDescription, taken: CapacityTaken = CapacityTaken()) {
        func key(_ kind: String, _ name: String, _ c: Int, _ before: Int) -> Key {
            Key(kind: kind, name: name, capacity: max(0, c - before), declared: c, before: before)
        }
        for d in description.departments {
            guard let c = d.capacity else { continue }
            department[d.name] = keys.count
            keys.append(key("department", d.name, c, taken.departments[d.name] ?? 0))
        }
        for a in description.actions {
            guard let c = a.capacity else { continue }
            action[a.name] = keys.count
            keys.append(key("action", a.name, c, taken.actions[a.name] ?? 0))
        }
    }

    var isEmpty: Bool { keys.isEmpty }

    /// Why an action is suppressed once it lost to capacity `key`.
    func reason(_ key: Int) -> String { "\(keys[key].kind) \(keys[key].name) is at capacity (\(keys[key].declared))" }

    /// The JSON text `set_blocked` reads for the given customers: per id (JSON string text),
    /// the actions blocked now and those blocked before this round, each with its reason.
    func blockedJSON(_ entries: [CapacityBlock]) -> String {
        var out = "{"
        for (i, e) in entries.enumerated() {
            if i > 0 { out += "," }
            func object(_ actions: ArraySlice<(name: String, key: Int)>) -> String {
                "{" + actions.map { "\"\($0.name)\":\"\(reason($0.key))\"" }.joined(separator: ",") + "}"
            }
            out += "\"\(e.id)\":{\"now\":\(object(e.actions[...])),\"before\":\(object(e.actions.prefix(e.before)))}"
        }
        return out + "}"
    }
}

/// The actions one customer lost to capacity: their id (JSON string text), output line, the
/// actions with the capacity each lost to, and how many of those were lost before this round.
struct CapacityBlock {
    var id: String
    var line: Int
    var actions: [(name: String, key: Int)] = []
    var before = 0
}

/// Reads the claims out of one plan line written by our encoder, without a general JSON
/// parser: the top-level keys are walked, and only `"actions"` is looked into.
struct PlanClaimScanner {
    let keys: CapacityKeys

    /// The claims of the plan in `line` (record `record`, output line `lineNumber`); `id` is
    /// the customer id's JSON text without its quotes.
    func claims(in line: UnsafeRawBufferPointer, id: String, record: Int, lineNumber: Int, into out: inout [CapacityClaim]) {
        // Our encoder writes "customer" and "segments" first, and neither can hold this text
        // unescaped: the first match is the plan's own "actions".
        guard let at = PlanClaimScanner.find(PlanClaimScanner.actionsKey, in: line) else { return }
        var s = Scan(b: line, i: at + PlanClaimScanner.actionsKey.count)
        while s.peek == UInt8(ascii: "{") {
            guard let a = action(&s) else { return }
            if let name = a.action {
                if let k = keys.action[name] {
                    out.append(CapacityClaim(priority: a.priority, id: id, action: name, record: record, line: lineNumber, key: k))
                }
                if let d = a.department, let k = keys.department[d] {
                    out.append(CapacityClaim(priority: a.priority, id: id, action: name, record: record, line: lineNumber, key: k))
                }
            }
            _ = s.eat(UInt8(ascii: ","))
        }
    }

    /// Where `needle` first is in `hay`.
    static func find(_ needle: [UInt8], in hay: UnsafeRawBufferPointer) -> Int? {
        guard let base = hay.baseAddress, !needle.isEmpty else { return nil }
        var i = 0
        while i + needle.count <= hay.count, let p = memchr(base + i, Int32(needle[0]), hay.count - i - needle.count + 1) {
            let j = UnsafeRawPointer(p) - base
            if needle.withUnsafeBytes({ memcmp(base + j, $0.baseAddress!, needle.count) }) == 0 { return j }
            i = j + 1
        }
        return nil
    }

    private static let actionsKey = Array("\"actions\":[".utf8)
    private static let actionKey = Array("action".utf8), departmentKey = Array("department".utf8), priorityKey = Array("priority".utf8)

    /// One action object: its name, department and priority.
    private func action(_ s: inout Scan) -> (action: String?, department: String?, priority: Double)? {
        guard s.eat(UInt8(ascii: "{")) else { return nil }
        var name: String?, dept: String?, priority = 0.0
        while let key = s.stringRange() {
            guard s.eat(UInt8(ascii: ":")) else { return nil }
            if s.equals(key, PlanClaimScanner.actionKey) { name = s.string() }
            else if s.equals(key, PlanClaimScanner.departmentKey) { dept = s.string() }
            else if s.equals(key, PlanClaimScanner.priorityKey) { priority = s.number() ?? 0 }
            else { guard s.skipValue() else { return nil } }
            _ = s.eat(UInt8(ascii: ","))
        }
        return s.eat(UInt8(ascii: "}")) ? (name, dept, priority) : nil
    }

    /// A cursor over compact JSON (our encoder writes no spaces).
    struct Scan {
        let b: UnsafeRawBufferPointer
        var i = 0
        var peek: UInt8? { i < b.count ? b[i] : nil }

        mutating func eat(_ c: UInt8) -> Bool {
            guard peek == c else { return false }
            i += 1
            return true
        }

        /// The range of the text of the string at `i` (escapes kept), moving past it.
        mutating func stringRange() -> Range<Int>? {
            guard let end = stringEnd() else { return nil }
            defer { i = end }
            return (i + 1)..<(end - 1)
        }

        /// Whether the bytes in `range` are `text`.
        func equals(_ range: Range<Int>, _ text: [UInt8]) -> Bool {
            range.count == text.count && text.withUnsafeBytes { memcmp(b.baseAddress! + range.lowerBound, $0.baseAddress!, text.count) == 0 }
        }

        /// A string's raw text (escapes kept: names and ids here need no unescaping to compare).
        mutating func string() -> String? {
            guard let end = stringEnd() else { return nil }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[(i + 1)..<(end - 1)]), as: UTF8.self)
            i = end
            return text
        }

        /// The index just past the string that starts at `i`, or nil when none starts there.
        func stringEnd() -> Int? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            var j = i + 1
            while j < b.count {
                switch b[j] {
                case UInt8(ascii: "\\"): j += 2
                case UInt8(ascii: "\""): return j + 1
                default: j += 1
                }
            }
            return nil
        }

        mutating func number() -> Double? {
            let start = i
            while let c = peek, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) { i += 1 }
            return Double(String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self))
        }

        /// Skips one value of any kind (up to the `,`, `}` or `]` after it).
        mutating func skipValue() -> Bool {
            var depth = 0
            while let c = peek {
                switch c {
                case UInt8(ascii: "\""):
                    guard let end = stringEnd() else { return false }
                    i = end
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; i += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return true }
                    depth -= 1; i += 1
                case UInt8(ascii: ","):
                    if depth == 0 { return true }
                    i += 1
                default: i += 1
                }
            }
            return depth == 0
        }
    }
}

/// A record source that keeps only the wanted records (by input number, ascending) and gives
/// each chunk the capacity blocks of its customers (`RecordChunk.blocked`).
struct SelectedRecordsSource: RecordSource {
    var base: any RecordSource
    /// The wanted record numbers, ascending; `nil`: every record.
    let wanted: [Int]?
    let inputNumbers: Bool
    /// The blocks of the customers, by record number.
    let blocks: [Int: CapacityBlock]
    let keys: CapacityKeys
    private var next = 0

    init(base: any RecordSource, wanted: [Int]?, inputNumbers: Bool, keys: CapacityKeys,
         blocks: [Int: CapacityBlock]) {
        self.base = base
        self.wanted = wanted
        self.inputNumbers = inputNumbers
        self.keys = keys
        self.blocks = blocks
    }

    var bytesRead: Int { base.bytesRead }

    mutating func nextChunk() throws(ProfileReadError) -> RecordChunk? {
        while var chunk = try base.nextChunk() {
            chunk.inputNumbers = inputNumbers
            if let wanted {
                if next >= wanted.count { return nil }
                var kept: [RecordSlice] = []
                for r in chunk.records {
                    while next < wanted.count && wanted[next] < r.number { next += 1 }
                    if next < wanted.count && wanted[next] == r.number { kept.append(r); next += 1 }
                }
                chunk.records = kept
                if kept.isEmpty { continue }
            }
            var entries: [CapacityBlock] = []
            for r in chunk.records { if let b = blocks[r.number] { entries.append(b) } }
            chunk.blocked = keys.blockedJSON(entries)
            return chunk
        }
        return nil
    }
}

/// The chunks a pass reads, in order, so the writer can take the one behind each result
/// (workers read chunks in the order their results are written).
final class ChunkTap: @unchecked Sendable {
    private var queue: [RecordChunk] = []
    private var head = 0
    private let lock = NSLock()

    func push(_ chunk: RecordChunk) {
        lock.lock()
        queue.append(chunk)
        lock.unlock()
    }

    /// The oldest chunk not taken yet.
    func pop() -> RecordChunk {
        lock.lock()
        defer { lock.unlock() }
        let chunk = queue[head]
        queue[head] = RecordChunk()  // its bytes go now, not when the queue is compacted
        head += 1
        if head >= 64 { queue.removeFirst(head); head = 0 }
        return chunk
    }
}

/// A record source that hands every chunk it reads to a tap as well.
struct TappedSource: RecordSource {
    var base: any RecordSource
    let tap: ChunkTap
    var bytesRead: Int { base.bytesRead }

    mutating func nextChunk() throws(ProfileReadError) -> RecordChunk? {
        guard let chunk = try base.nextChunk() else { return nil }
        tap.push(chunk)
        return chunk
    }
}

/// Where a claimant's record was kept (in the claimants' spill file), where it is in its
/// input, and where its first plan line is (in the output file or the spill).
struct KeptRecord {
    var offset: Int
    var count: Int
    var line: Int
    var column: Int
    var plan: Int
    var planCount: Int
}

/// The records of the customers to decide again, read back from the claimants' spill file (not
/// from the input: only they are read), in record order, each chunk with its customers' blocks.
struct KeptRecordsSource: RecordSource {
    let spill: SpillFile.Reader
    let kept: [Int: KeptRecord]
    let wanted: [Int]
    let inputNumbers: Bool
    let keys: CapacityKeys
    let blocks: [Int: CapacityBlock]
    let chunkBytes: Int
    private var next = 0
    private(set) var bytesRead = 0

    init(spill: SpillFile, kept: [Int: KeptRecord], wanted: [Int], inputNumbers: Bool, keys: CapacityKeys,
         blocks: [Int: CapacityBlock], chunkBytes: Int) {
        self.spill = SpillFile.Reader(spill)
        self.kept = kept
        self.wanted = wanted
        self.inputNumbers = inputNumbers
        self.keys = keys
        self.blocks = blocks
        self.chunkBytes = chunkBytes
    }

    mutating func nextChunk() throws(ProfileReadError) -> RecordChunk? {
        guard next < wanted.count else { return nil }
        var chunk = RecordChunk()
        chunk.inputNumbers = inputNumbers
        var entries: [CapacityBlock] = []
        while next < wanted.count && chunk.bytes.count < chunkBytes {
            let number = wanted[next]
            next += 1
            guard let k = kept[number] else { continue }
            let start = chunk.bytes.count
            chunk.bytes.append(contentsOf: try spill.bytes(offset: k.offset, count: k.count))  // the records come in spill order
            chunk.records.append(RecordSlice(start: start, end: chunk.bytes.count, line: k.line, column: k.column, number: number))
            if let b = blocks[number] { entries.append(b) }
        }
        bytesRead += chunk.bytes.count
        chunk.blocked = keys.blockedJSON(entries)
        return chunk
    }
}

