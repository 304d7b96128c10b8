// Reading what `--record` needs from a plan line (customer, segments, actions, holdouts) without building a JSON tree.
import Foundation
import NextBest
import NextBestStore

/// A JSON text's members and elements found by their byte ranges; values are decoded only when
/// asked for. Made for the engine's own plan lines (valid JSON); anything unexpected returns `nil`
/// and the caller falls back to the full parser.
struct JSONScan {
    let u: UnsafeRawBufferPointer

    private func space(_ i: inout Int, _ end: Int) {
        while i < end, u[i] == 32 || u[i] == 9 || u[i] == 10 || u[i] == 13 { i += 1 }
    }

    /// The end (exclusive) of the value starting at `i`, or `nil`.
    func valueEnd(_ start: Int, _ end: Int) -> Int? {
        var i = start
        guard i < end else { return nil }
        switch u[i] {
        case 0x22:
            i += 1
            while i < end {
                if u[i] == 0x5C { i += 2; continue }
                if u[i] == 0x22 { return i + 1 }
                i += 1
            }
            return nil
        case 0x7B, 0x5B:
            var depth = 0
            while i < end {
                let b = u[i]
                if b == 0x22 {
                    guard let e = valueEnd(i, end) else { return nil }
                    i = e
                    continue
                }
                if b == 0x7B || b == 0x5B { depth += 1 } else if b == 0x7D || b == 0x5D {
                    depth -= 1
                    if depth == 0 { return i + 1 }
                }
                i += 1
            }
            return nil
        default:
            while i < end, u[i] != 0x2C, u[i] != 0x7D, u[i] != 0x5D, u[i] != 32, u[i] != 10, u[i] != 13, u[i] != 9 { i += 1 }
            return i > start ? i : nil
        }
    }

    /// Calls `body` with each member's key (bytes between the quotes) and value range of the object in `range`.
    func members(_ range: Range<Int>, _ body: (Range<Int>, Range<Int>) -> Void) -> Bool {
        membersWhile(range) { body($0, $1); return true }
    }

    /// The same, until `body` returns `false` (then the rest is not read, and this returns `true`).
    func membersWhile(_ range: Range<Int>, _ body: (Range<Int>, Range<Int>) -> Bool) -> Bool {
        var i = range.lowerBound
        let end = range.upperBound
        space(&i, end)
        guard i < end, u[i] == 0x7B else { return false }
        i += 1
        space(&i, end)
        if i < end, u[i] == 0x7D { return true }
        while i < end {
            space(&i, end)
            guard i < end, u[i] == 0x22, let kEnd = valueEnd(i, end) else { return false }
            let key = (i + 1)..<(kEnd - 1)
            i = kEnd
            space(&i, end)
            guard i < end, u[i] == 0x3A else { return false }
            i += 1
            space(&i, end)
            guard let vEnd = valueEnd(i, end) else { return false }
            if !body(key, i..<vEnd) { return true }
            i = vEnd
            space(&i, end)
            guard i < end else { return false }
            if u[i] == 0x7D { return true }
            guard u[i] == 0x2C else { return false }
            i += 1
        }
        return false
    }

    /// Calls `body` with each element range of the array in `range`.
    func elements(_ range: Range<Int>, _ body: (Range<Int>) -> Void) -> Bool {
        var i = range.lowerBound
        let end = range.upperBound
        space(&i, end)
        guard i < end, u[i] == 0x5B else { return false }
        i += 1
        space(&i, end)
        if i < end, u[i] == 0x5D { return true }
        while i < end {
            space(&i, end)
            guard let vEnd = valueEnd(i, end) else { return false }
            body(i..<vEnd)
            i = vEnd
            space(&i, end)
            guard i < end else { return false }
            if u[i] == 0x5D { return true }
            guard u[i] == 0x2C else { return false }
            i += 1
        }
        return false
    }

    /// Whether the bytes in `range` are `word`.
    func equals(_ range: Range<Int>, _ word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for k in 0..<range.count where u[range.lowerBound + k] != w[k] { return false }
        return true
    }

    /// The raw text in `range`.
    func text(_ range: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: u[range]), as: UTF8.self) }

    /// The string value in `range` (`nil` for null or a non-string).
    func string(_ range: Range<Int>) -> String? {
        guard range.count >= 2, u[range.lowerBound] == 0x22 else { return nil }
        let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
        if !u[inner].contains(0x5C) { return text(inner) }
        return (try? JSONValue(parsing: UnsafeRawBufferPointer(rebasing: u[range])))?.stringValue
    }

    /// The number in `range`, or `nil`.
    func number(_ range: Range<Int>) -> Double? {
        guard !range.isEmpty, u[range.lowerBound] != 0x22 else { return nil }
        return Double(text(range))
    }
}

/// What `--record` keeps of one plan line.
struct ScannedPlan {
    /// The customer id's text (a number's digits when the id is a number).
    var customer: String
    /// The customer's segments.
    var segments: [String] = []
    /// The actions taken: name, department, channel, priority, policy.
    var actions: [(action: String, department: String, channel: String, priority: Double, policy: String?)] = []
    /// What holdouts kept back, as the plan's JSON text (`held_out`), if anything.
    var heldOut: String?

    /// Reads a plan line (without its newline); `nil` when it is not a plan (an error record).
    static func read(_ line: UnsafeRawBufferPointer) -> ScannedPlan? {
        var fast = EnginePlanLine(u: line)
        if let plan = fast.read() { return plan }
        let scan = JSONScan(u: line)
        var customer: String?, segments: Range<Int>?, actions: Range<Int>?, heldOut: Range<Int>?, isError = false
        let ok = scan.membersWhile(0..<line.count, { key, value in
            if scan.equals(key, "customer") { customer = scan.string(value) ?? scan.text(value) }
            else if scan.equals(key, "segments") { segments = value }
            else if scan.equals(key, "actions") {
                actions = value
                // The engine writes `held_out` last, when at all: without it, the rest (what was
                // suppressed, errors) is not read.
                return Self.mentionsHeldOut(UnsafeRawBufferPointer(rebasing: line[value.upperBound...]))
            }
            else if scan.equals(key, "held_out") { heldOut = value }
            else if scan.equals(key, "error") { isError = true }
            return true
        })
        guard ok else { return slow(line) }
        guard !isError, let customer, let actions else { return nil }
        var plan = ScannedPlan(customer: customer)
        if let segments {
            guard scan.elements(segments, { if let s = scan.string($0) { plan.segments.append(s) } }) else { return slow(line) }
        }
        var fine = true
        let listed = scan.elements(actions) { a in
            var name: String?, department = "", channel = "", priority = 0.0, policy: String?
            fine = fine && scan.members(a) { key, value in
                if scan.equals(key, "action") { name = scan.string(value) }
                else if scan.equals(key, "department") { department = scan.string(value) ?? "" }
                else if scan.equals(key, "channel") { channel = scan.string(value) ?? "" }
                else if scan.equals(key, "priority") { priority = scan.number(value) ?? 0 }
                else if scan.equals(key, "policy") { policy = scan.string(value) }
            }
            if let name { plan.actions.append((name, department, channel, priority, policy)) }
        }
        guard listed, fine else { return slow(line) }
        if let heldOut, heldOut.count > 2 { plan.heldOut = scan.text(heldOut) }
        return plan
    }

    /// Whether `rest` holds the key `"held_out"` (these bytes, with their quotes, cannot be inside
    /// a JSON string, where a quote is escaped).
    static func mentionsHeldOut(_ rest: UnsafeRawBufferPointer) -> Bool {
        let key: StaticString = "\"held_out\""
        let k = key.utf8Start, n = key.utf8CodeUnitCount
        var i = 0
        while i + n <= rest.count {
            if rest[i] == 0x22 {
                var j = 1
                while j < n && rest[i + j] == k[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }

    /// The same through the full JSON parser, for a line the scanner does not follow.
    private static func slow(_ line: UnsafeRawBufferPointer) -> ScannedPlan? {
        guard let v = try? JSONValue(parsing: line), v["error"] == nil, let c = v["customer"], let list = v["actions"]?.arrayValue else {
            return nil
        }
        var plan = ScannedPlan(customer: c.stringValue ?? c.jsonText)
        plan.segments = v["segments"]?.arrayValue?.compactMap(\.stringValue) ?? []
        for a in list {
            guard let name = a["action"]?.stringValue else { continue }
            plan.actions.append((name, a["department"]?.stringValue ?? "", a["channel"]?.stringValue ?? "",
                                 a["priority"]?.doubleValue ?? 0, a["policy"]?.stringValue))
        }
        if let h = v["held_out"], let items = h.arrayValue, !items.isEmpty { plan.heldOut = h.jsonText }
        return plan
    }
}

/// The plan lines the engine itself writes, read in one pass in the order it writes them
/// (`nb_encode_plan`): customer, segments, then each action's action, department, channel,
/// priority and policy. `read` gives `nil` for anything else (an escaped character, a
/// `held_out`, another order), which `ScannedPlan.read` then reads member by member.
struct EnginePlanLine {
    let u: UnsafeRawBufferPointer
    private var i = 0

    init(u: UnsafeRawBufferPointer) { self.u = u }

    /// Whether `word` comes next (and steps over it).
    private mutating func expect(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount, w = word.utf8Start
        guard i + n <= u.count else { return false }
        for k in 0..<n where u[i + k] != w[k] { return false }
        i += n
        return true
    }

    /// A string's text, the opening quote already passed; `nil` when it has an escape.
    private mutating func string() -> String? {
        let start = i
        while i < u.count {
            let b = u[i]
            if b == 0x22 {
                defer { i += 1 }
                return String(decoding: UnsafeRawBufferPointer(rebasing: u[start..<i]), as: UTF8.self)
            }
            if b == 0x5C { return nil }
            i += 1
        }
        return nil
    }

    /// A number or a bare word's text (up to `,`, `}` or `]`).
    private mutating func bare() -> Range<Int>? {
        let start = i
        while i < u.count, u[i] != 0x2C, u[i] != 0x7D, u[i] != 0x5D { i += 1 }
        return i > start && i < u.count ? start..<i : nil
    }

    mutating func read() -> ScannedPlan? {
        guard expect("{\"customer\":") else { return nil }
        let customer: String
        if expect("\"") {
            guard let c = string() else { return nil }
            customer = c
        } else {
            guard let r = bare() else { return nil }
            customer = String(decoding: UnsafeRawBufferPointer(rebasing: u[r]), as: UTF8.self)
        }
        var plan = ScannedPlan(customer: customer)
        guard expect(",\"segments\":[") else { return nil }
        if !expect("]") {
            repeat {
                guard expect("\""), let s = string() else { return nil }
                plan.segments.append(s)
            } while expect(",")
            guard expect("]") else { return nil }
        }
        guard expect(",\"actions\":[") else { return nil }
        if !expect("]") {
            repeat {
                let object = i
                guard expect("{\"action\":\""), let action = string(), expect(",\"department\":\""), let department = string(),
                      expect(",\"channel\":\""), let channel = string(), expect(",\"priority\":"), let p = bare(),
                      let priority = Double(Substring(decoding: UnsafeRawBufferPointer(rebasing: u[p]), as: UTF8.self)) else {
                    return nil
                }
                var policy: String?
                if expect(",\"policy\":\"") {
                    guard let s = string() else { return nil }
                    policy = s
                }
                guard let end = JSONScan(u: u).valueEnd(object, u.count) else { return nil }  // the rest of the action
                i = end
                plan.actions.append((action, department, channel, priority, policy))
            } while expect(",")
            guard expect("]") else { return nil }
        }
        // What follows (suppressed, errors) is not needed, unless a holdout kept something back.
        guard expect(",\"suppressed\":"), !ScannedPlan.mentionsHeldOut(UnsafeRawBufferPointer(rebasing: u[i...])) else { return nil }
        return plan
    }
}

