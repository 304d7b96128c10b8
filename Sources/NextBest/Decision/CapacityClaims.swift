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
    /// Decisions made again in the rounds: customers who lost, less those who took the plan
    /// pass 1 made for losing all they claimed (`IfAllLost`).
    var decidedAgain = 0

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

}

/// The JSON text `set_blocked` reads for a chunk's customers (levers.lua, `cap.set`):
/// `{"id":{"now":{"action":"reason",...},"plan":{...}},...}` — per customer id (its JSON
/// string text), the actions blocked now, each with its reason, and, in a round, the plan
/// counted for them so far (their last plan line), which their new plan replaces in the counters.
struct BlockedJSON {
    private let reasons: [[UInt8]]
    private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var empty = true

    init(_ keys: CapacityKeys) {
        reasons = keys.keys.indices.map { Array(keys.reason($0).utf8) }
    }

    /// Adds customer `b`'s blocks, with the plan line counted for them so far when given.
    mutating func add(_ b: CapacityBlock, plan: UnsafeRawBufferPointer? = nil) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        bytes.append(UInt8(ascii: "\""))
        bytes += b.id.utf8
        bytes += #"":{"now":{"#.utf8
        for (i, a) in b.actions.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            bytes += a.name.utf8
            bytes += #"":""#.utf8
            bytes += reasons[a.key]
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        if var plan {
            while let last = plan.last, last == 0x0A || last == 0x0D { plan = UnsafeRawBufferPointer(rebasing: plan.dropLast()) }
            bytes += #","plan":"#.utf8
            bytes.append(contentsOf: plan)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// The text, or "" when no customer was added.
    var text: String { empty ? "" : String(decoding: bytes + [UInt8(ascii: "}")], as: UTF8.self) }
}

/// The actions one customer lost to capacity: their id (JSON string text), output line, and
/// the actions with the capacity each lost to.
struct CapacityBlock {
    var id: String
    var line: Int
    var actions: [(name: String, key: Int)] = []
}

/// Reads the claims out of one plan line written by our encoder, without a general JSON
/// parser: the top-level keys are walked, and only `"actions"` is looked into. Names are
/// compared as bytes; text is made only for the claims found.
struct PlanClaimScanner {
    /// The names of the actions and departments with a capacity, as bytes, with their keys.
    private let actions: [(name: [UInt8], key: Int)], departments: [(name: [UInt8], key: Int)]

    /// `"department":"sales"`, `"action":"call"`, ...: a plan that holds none of these texts
    /// makes no claim (our encoder writes each action's keys so), and is passed over unparsed.
    private let needles: [[UInt8]]

    init(keys: CapacityKeys) {
        actions = keys.action.map { (Array($0.key.utf8), $0.value) }
        departments = keys.department.map { (Array($0.key.utf8), $0.value) }
        needles = departments.map { Array(#""department":""#.utf8) + $0.name + [UInt8(ascii: "\"")] }
            + actions.map { Array(#""action":""#.utf8) + $0.name + [UInt8(ascii: "\"")] }
    }

    /// The claims of the plan in `line` (record `record`, output line `lineNumber`); `id` is
    /// the customer id's JSON text without its quotes.
    func claims(in line: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer, record: Int, lineNumber: Int, into out: inout [CapacityClaim]) {
        guard needles.contains(where: { line.contains(bytes: $0) }) else { return }
        // Our encoder writes "customer" and "segments" first, and neither can hold this text
        // unescaped: the first match is the plan's own "actions".
        guard let at = PlanClaimScanner.find(PlanClaimScanner.actionsKey, in: line) else { return }
        var s = Scan(b: line, i: at + PlanClaimScanner.actionsKey.count)
        var idText: String?
        while s.peek == UInt8(ascii: "{") {
            guard let a = action(&s) else { return }
            if let name = a.action {
                let byAction = key(name, in: actions, s), byDepartment = a.department.flatMap { key($0, in: departments, s) }
                if byAction != nil || byDepartment != nil {
                    let text = idText ?? String(decoding: id, as: UTF8.self)
                    idText = text
                    let actionName = String(decoding: UnsafeRawBufferPointer(rebasing: line[name]), as: UTF8.self)
                    for k in [byAction, byDepartment] {
                        guard let k else { continue }
                        out.append(CapacityClaim(priority: a.priority, id: text, action: actionName, record: record, line: lineNumber, key: k))
                    }
                }
            }
            _ = s.eat(UInt8(ascii: ","))
        }
    }

    /// The key of the name whose text is in `range` of the line, or nil.
    private func key(_ range: Range<Int>, in names: [(name: [UInt8], key: Int)], _ s: Scan) -> Int? {
        for n in names where s.equals(range, n.name) { return n.key }
        return nil
    }

    /// What the run's counters took from the plan in `line` (stats.lua, `count_choice`), as
    /// JSON: `{"actions":[{"action":..,"department":..,"channel":..,"policy":..},...],"suppressed":[...]}`,
    /// or nil when the line is not a plan our encoder wrote. Shorter than the line, so cheaper
    /// to hand over and decode.
    static func choice(of line: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let at = find(actionsKey, in: line) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(line.count)
        out.append(contentsOf: actionsStart)
        var s = Scan(b: line, i: at + actionsKey.count)
        var first = true
        while s.peek == UInt8(ascii: "{") {
            s.i += 1
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            first = false
            var fields = 0
            while let key = s.stringRange() {
                guard s.eat(UInt8(ascii: ":")), s.skipValue() else { return nil }
                if s.equals(key, actionKey) || s.equals(key, departmentKey) || s.equals(key, channelKey) || s.equals(key, policyKey) {
                    if fields > 0 { out.append(UInt8(ascii: ",")) }
                    fields += 1
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[(key.lowerBound - 1)..<s.i]))  // "key":value, as written
                }
                _ = s.eat(UInt8(ascii: ","))
            }
            guard s.eat(UInt8(ascii: "}")) else { return nil }
            out.append(UInt8(ascii: "}"))
            _ = s.eat(UInt8(ascii: ","))
        }
        guard s.eat(UInt8(ascii: "]")) else { return nil }
        out.append(contentsOf: suppressedStart)
        // The top-level keys after "actions": the suppressed list is copied whole.
        while s.eat(UInt8(ascii: ",")), let key = s.stringRange() {
            guard s.eat(UInt8(ascii: ":")) else { return nil }
            let start = s.i
            guard s.skipValue() else { return nil }
            if s.equals(key, suppressedKey) {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[start..<s.i]))
                out.append(UInt8(ascii: "}"))
                return out
            }
        }
        out.append(contentsOf: "[]}".utf8)
        return out
    }

    private static let actionsStart = Array(#"{"actions":["#.utf8), suppressedStart = Array(#"],"suppressed":"#.utf8)
    private static let channelKey = Array("channel".utf8), policyKey = Array("policy".utf8)
    private static let suppressedKey = Array("suppressed".utf8)

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

    /// One action object: where its name and department are (their text, escapes kept: names
    /// here need no unescaping to compare), and its priority.
    private func action(_ s: inout Scan) -> (action: Range<Int>?, department: Range<Int>?, priority: Double)? {
        guard s.eat(UInt8(ascii: "{")) else { return nil }
        var name: Range<Int>?, dept: Range<Int>?, priority = 0.0
        while let key = s.stringRange() {
            guard s.eat(UInt8(ascii: ":")) else { return nil }
            if s.equals(key, PlanClaimScanner.actionKey) { name = s.stringRange() }
            else if s.equals(key, PlanClaimScanner.departmentKey) { dept = s.stringRange() }
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

        /// A number: a whole one of up to 15 digits read directly, any other through `Double`'s parser.
        mutating func number() -> Double? {
            let start = i
            var whole = true, value = 0
            while let c = peek, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) {
                if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { value = value &* 10 &+ Int(c - UInt8(ascii: "0")) }
                else if !(c == UInt8(ascii: "-") && i == start) { whole = false }
                i += 1
            }
            let digits = i - start - (b[start] == UInt8(ascii: "-") ? 1 : 0)
            if whole && digits > 0 && digits <= 15 { return Double(b[start] == UInt8(ascii: "-") ? -value : value) }
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
            var json = BlockedJSON(keys)
            for r in chunk.records { if let b = blocks[r.number] { json.add(b) } }
            chunk.blocked = json.text
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

/// Where a claimant's record is kept (in the input file itself, or a copy in the claimants'
/// spill file), where it is in its input, and where its first plan line is (in the output file
/// or the spill).
struct KeptRecord {
    var inInput: Bool
    var offset: Int
    var count: Int
    var line: Int
    var column: Int
    var plan: Int
    var planCount: Int
}

/// Where a plan line is: in the first decisions (the output file or the spill), or among
/// the plans decided again.
struct LinePlace {
    var redone: Bool
    var offset: Int
    var count: Int
}

/// The records of the customers to decide again, read back from the input file or the
/// claimants' spill file (only they are read), in record order, each chunk with its customers' blocks
/// and the plans counted for them so far. Its readers may run on a worker thread.
struct KeptRecordsSource: RecordSource {
    let input: WindowReader?
    let records: WindowReader
    let firsts: WindowReader
    let redone: WindowReader
    let kept: [Int: KeptRecord]
    let wanted: [Int]
    /// Each wanted record's last plan line, in `wanted`'s order.
    let previous: [LinePlace]
    let inputNumbers: Bool
    let keys: CapacityKeys
    let blocks: [Int: CapacityBlock]
    let chunkBytes: Int
    private var next = 0
    private(set) var bytesRead = 0

    init(input: WindowReader?, records: WindowReader, firsts: WindowReader, redone: WindowReader, kept: [Int: KeptRecord], wanted: [Int],
         previous: [LinePlace], inputNumbers: Bool, keys: CapacityKeys, blocks: [Int: CapacityBlock], chunkBytes: Int) {
        self.input = input
        self.records = records
        self.firsts = firsts
        self.redone = redone
        self.kept = kept
        self.wanted = wanted
        self.previous = previous
        self.inputNumbers = inputNumbers
        self.keys = keys
        self.blocks = blocks
        self.chunkBytes = chunkBytes
    }

    mutating func nextChunk() throws(ProfileReadError) -> RecordChunk? {
        guard next < wanted.count else { return nil }
        var chunk = RecordChunk()
        chunk.inputNumbers = inputNumbers
        var json = BlockedJSON(keys)
        while next < wanted.count && chunk.bytes.count < chunkBytes {
            let number = wanted[next], place = previous[next]
            next += 1
            guard let k = kept[number] else { continue }
            let start = chunk.bytes.count
            // The records come in file order: each reader reads ahead.
            let from = k.inInput ? input : records
            guard let from else { throw ProfileReadError(message: "the input of a run with capacity cannot be read again") }
            chunk.bytes.append(contentsOf: try from.bytes(offset: k.offset, count: k.count))
            chunk.records.append(RecordSlice(start: start, end: chunk.bytes.count, line: k.line, column: k.column, number: number))
            if let b = blocks[number] {
                let line = try (place.redone ? redone : firsts).bytes(offset: place.offset, count: place.count)
                (PlanClaimScanner.choice(of: line) ?? Array(line)).withUnsafeBytes { json.add(b, plan: $0) }
            }
        }
        bytesRead += chunk.bytes.count
        chunk.blocked = json.text
        return chunk
    }
}
