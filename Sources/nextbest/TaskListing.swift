// Writing `tasks list` as the store streams it: JSON written task by task, table and CSV from compact cells, all through one byte buffer.
import Foundation
import NextBest
import NextBestStore

/// Standard output through one byte buffer, written in large pieces.
final class ByteOutput: @unchecked Sendable {
    private var buffer: [UInt8] = []
    private let fd: Int32

    /// A buffer in front of file descriptor `fd` (standard output by default).
    init(fd: Int32 = 1) {
        self.fd = fd
        buffer.reserveCapacity(1 << 17)
    }

    /// Adds text.
    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Adds text as a JSON string (quoted, escaped as the core's writer does).
    func writeJSON(_ text: String) {
        var plain = true
        for b in text.utf8 where b < 0x20 || b == 0x22 || b == 0x5C { plain = false; break }
        if plain {
            buffer.append(0x22)
            buffer.append(contentsOf: text.utf8)
            buffer.append(0x22)
        } else {
            var s = ""
            JSONValue.writeString(text, into: &s)
            buffer.append(contentsOf: s.utf8)
        }
    }

    /// Adds text as a JSON string, or `null`.
    func writeJSON(_ text: String?) {
        if let text { writeJSON(text) } else { write("null") }
    }

    /// Adds `n` spaces.
    func pad(_ n: Int) {
        if n > 0 { buffer.append(contentsOf: repeatElement(0x20, count: n)) }
    }

    /// Drops the spaces at the end of what is buffered (the end of a table line).
    func trimTrailingSpaces() {
        Self.trim(&buffer)
    }

    /// Adds a CSV cell: in double quotes, quotes doubled.
    func writeCSV(_ cell: String) {
        Self.quote(cell, into: &buffer)
    }

    // The byte loops work on the buffer passed in: one exclusive access per call, not one per byte
    // (a class's stored property is checked at run time on every access).
    private static func quote(_ cell: String, into b: inout [UInt8]) {
        b.append(0x22)
        for x in cell.utf8 {
            if x == 0x22 { b.append(0x22) }
            b.append(x)
        }
        b.append(0x22)
    }

    private static func trim(_ b: inout [UInt8]) {
        while b.last == 0x20 { b.removeLast() }
    }

    /// Writes what is buffered.
    func flush() {
        var at = 0
        buffer.withUnsafeBytes { all in
            while at < all.count {
                let n = Foundation.write(fd, all.baseAddress! + at, all.count - at)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                at += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// A department's profile fields as stored with a task (a JSON object text), read without
/// building a JSON tree: each name with its value's text. Values our own writer stored are
/// copied as they are; anything else goes through the JSON parser, so the output is the same.
enum FieldText {
    /// The object's names and raw value texts, in stored order; `nil` when it is not a flat
    /// read of a JSON object (then the caller uses `TaskRecord.fieldList`).
    static func pairs(_ text: String) -> [(name: String, raw: String)]? {
        var copy = text
        return copy.withUTF8 { u -> [(name: String, raw: String)]? in
            var i = 0, out: [(name: String, raw: String)] = []
            func space() { while i < u.count, u[i] == 32 || u[i] == 9 || u[i] == 10 || u[i] == 13 { i += 1 } }
            /// The end (exclusive) of the string starting at `i`, and whether it holds an escape.
            func stringEnd() -> (Int, Bool)? {
                var j = i + 1, escaped = false
                while j < u.count {
                    if u[j] == 0x5C { escaped = true; j += 2; continue }
                    if u[j] == 0x22 { return (j + 1, escaped) }
                    j += 1
                }
                return nil
            }
            func valueEnd() -> Int? {
                guard i < u.count else { return nil }
                if u[i] == 0x22 { return stringEnd()?.0 }
                var j = i, depth = 0
                while j < u.count {
                    let b = u[j]
                    if b == 0x22 {
                        let save = i
                        i = j
                        guard let (e, _) = stringEnd() else { return nil }
                        i = save
                        j = e
                        continue
                    }
                    if b == 0x7B || b == 0x5B { depth += 1 } else if b == 0x7D || b == 0x5D {
                        if depth == 0 { return j }
                        depth -= 1
                        if depth == 0 { return j + 1 }
                    } else if b == 0x2C && depth == 0 { return j }
                    j += 1
                }
                return depth == 0 ? j : nil
            }
            func text(_ a: Int, _ b: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: u[a..<b]), as: UTF8.self) }
            space()
            guard i < u.count, u[i] == 0x7B else { return nil }
            i += 1
            space()
            if i < u.count, u[i] == 0x7D { i += 1; space(); return i == u.count ? [] : nil }
            while true {
                space()
                guard i < u.count, u[i] == 0x22, let (end, escaped) = stringEnd() else { return nil }
                if escaped { return nil }
                let name = text(i + 1, end - 1)
                i = end
                space()
                guard i < u.count, u[i] == 0x3A else { return nil }
                i += 1
                space()
                guard let vEnd = valueEnd(), vEnd > i else { return nil }
                var last = vEnd
                while last > i, u[last - 1] == 32 || u[last - 1] == 9 || u[last - 1] == 10 || u[last - 1] == 13 { last -= 1 }
                out.append((name, text(i, last)))
                i = vEnd
                space()
                guard i < u.count else { return nil }
                if u[i] == 0x2C { i += 1; continue }
                guard u[i] == 0x7D else { return nil }
                i += 1
                space()
                return i == u.count ? out : nil
            }
        }
    }

    /// Whether `raw` is JSON our writer would write the same way: `null`, `true`, `false`, a
    /// short integer without a leading zero, or a string with no escape and no control character.
    static func isCanonical(_ raw: String) -> Bool {
        if raw == "null" || raw == "true" || raw == "false" { return true }
        let u = raw.utf8
        guard let first = u.first else { return false }
        if first == 0x22 {
            guard u.count >= 2, u.last == 0x22 else { return false }
            for b in u.dropFirst().dropLast() where b < 0x20 || b == 0x5C || b == 0x22 { return false }
            return true
        }
        var digits = u[...]
        if first == 0x2D { digits = digits.dropFirst() }
        guard let d0 = digits.first, digits.count <= 15, !(d0 == 0x30 && digits.count > 1) else { return false }
        return digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// A canonical string value's text: its bytes between the quotes (no escapes to undo).
    static func unquoted(_ raw: String) -> String {
        var copy = raw
        return copy.withUTF8 { String(decoding: UnsafeBufferPointer(rebasing: $0[1..<($0.count - 1)]), as: UTF8.self) }
    }

    /// The value as our writer writes it.
    static func json(_ raw: String) -> String {
        isCanonical(raw) ? raw : ((try? JSONValue(parsing: raw))?.jsonText ?? "null")
    }

    /// The value as a cell: text as is, other values as JSON, `nil` for null.
    static func cell(_ raw: String) -> String? {
        if raw == "null" { return nil }
        if isCanonical(raw) { return raw.utf8.first == 0x22 ? unquoted(raw) : raw }
        guard let v = try? JSONValue(parsing: raw) else { return nil }
        switch v {
        case .null: return nil
        case .string(let s): return s
        default: return v.jsonText
        }
    }

    /// A task's fields as (name, raw JSON value) in stored order.
    static func of(_ t: TaskRecord) -> [(name: String, raw: String)] {
        guard let f = t.fields else { return [] }
        if let p = pairs(f) {
            // A name given twice: the first wins, as the parsed object would keep one. The few
            // names of a task are compared pairwise first; a set only when one repeats.
            var repeated = false
            for i in p.indices.dropFirst() where !repeated {
                for j in 0..<i where p[j].name == p[i].name { repeated = true; break }
            }
            if !repeated { return p }
            var seen = Set<String>()
            return p.filter { seen.insert($0.name).inserted }
        }
        return t.fieldList.map { ($0.name, $0.value.jsonText) }
    }
}

/// `tasks list --format json`: one object, written task by task as the store reads them.
struct JSONTaskWriter: TaskSink, @unchecked Sendable {
    let out: ByteOutput
    let department: String?
    let status: String?
    private var lastPriority: (Double, String)?
    private var first = true

    init(out: ByteOutput, department: String?, status: String?) {
        self.out = out
        self.department = department
        self.status = status
    }

    mutating func expect(tasks n: Int) {
        out.write("{\"count\":\(n),\"department\":")
        out.writeJSON(department)
        out.write(",\"status\":")
        out.writeJSON(status)
        out.write(",\"tasks\":[")
    }

    /// Keys in sorted order, as `TaskRecord.json` writes them.
    mutating func task(_ t: TaskRecord) {
        func time(_ d: Date?) { if let d { out.writeJSON(StoreTime.text(d)) } else { out.write("null") } }
        out.write(first ? "{\"action\":" : ",{\"action\":")
        first = false
        out.writeJSON(t.action)
        out.write(",\"assigned_at\":"); time(t.assignedAt)
        out.write(",\"assignee\":"); out.writeJSON(t.assignee)
        out.write(",\"channel\":"); out.writeJSON(t.channel)
        out.write(",\"created_at\":"); time(t.createdAt)
        out.write(",\"customer\":"); out.writeJSON(t.customer)
        out.write(",\"decision\":"); out.writeJSON(t.decision)
        out.write(",\"department\":"); out.writeJSON(t.department)
        out.write(",\"done_at\":"); time(t.doneAt)
        out.write(",\"due_at\":"); time(t.dueAt)
        out.write(",\"fields\":{")
        for (i, f) in FieldText.of(t).sorted(by: { $0.name < $1.name }).enumerated() {
            if i > 0 { out.write(",") }
            out.writeJSON(f.name)
            out.write(":")
            out.write(FieldText.json(f.raw))
        }
        out.write("},\"id\":"); out.writeJSON(t.id)
        out.write(",\"note\":"); out.writeJSON(t.note)
        out.write(",\"outcome\":"); out.writeJSON(t.outcome)
        out.write(",\"policy\":"); out.writeJSON(t.policy)
        out.write(",\"priority\":")
        if let p = lastPriority, p.0 == t.priority { out.write(p.1) } else {
            let text = JSONValue.double(t.priority).jsonText
            lastPriority = (t.priority, text)
            out.write(text)
        }
        out.write(",\"segments\":[")
        for (i, s) in t.segments.enumerated() {
            if i > 0 { out.write(",") }
            out.writeJSON(s)
        }
        out.write("],\"status\":"); out.writeJSON(t.status.rawValue)
        out.write(",\"status_at\":"); time(t.statusAt)
        out.write("}")
    }

    /// Closes the document.
    func finish() {
        out.write("]}\n")
        out.flush()
    }
}

/// `tasks list` as a table or CSV: the columns need every row first (widths, the field names
/// in first-seen order), so rows are kept as cells — not as tasks or JSON.
struct TaskCells: TaskSink, @unchecked Sendable {
    let csv: Bool
    /// Every row's fixed cells, row after row.
    private(set) var cells: [String] = []
    /// Every row's field cells (name index, cell), and where each row's end.
    private(set) var fieldCells: [(Int, String?)] = []
    private(set) var rowEnds: [Int] = []
    /// The field names in first-seen order.
    private(set) var names: [String] = []
    private var nameIndex: [String: Int] = [:]
    private var lastPriority: (Double, String)?
    /// The widest cell of each fixed column, then of each field (table only).
    private(set) var widths: [Int] = []
    private(set) var fieldWidths: [Int] = []

    /// The fixed columns of a table or CSV row.
    static let tableColumns = ["TASK", "CREATED", "DUE", "CUSTOMER", "ACTION", "CHANNEL", "STATUS", "ASSIGNEE"]
    static let csvColumns = ["id", "created_at", "due_at", "customer", "action", "department", "channel",
                             "priority", "status", "assignee", "status_at", "policy"]

    init(csv: Bool) {
        self.csv = csv
        widths = (csv ? Self.csvColumns : Self.tableColumns).map(shown)
    }

    var width: Int { csv ? Self.csvColumns.count : Self.tableColumns.count }
    var count: Int { rowEnds.count }

    mutating func expect(tasks n: Int) {
        cells.reserveCapacity(n * width)
        rowEnds.reserveCapacity(n)
    }

    mutating func task(_ t: TaskRecord) {
        if csv {
            let priority: String
            if let p = lastPriority, p.0 == t.priority { priority = p.1 } else {
                priority = String(format: "%.2f", t.priority)
                lastPriority = (t.priority, priority)
            }
            cells += [t.id, StoreTime.text(t.createdAt), t.dueAt.map(StoreTime.text) ?? "", t.customer, t.action, t.department,
                      t.channel, priority, t.status.rawValue, t.assignee ?? "", StoreTime.text(t.statusAt), t.policy ?? ""]
        } else {
            let row = [t.id, minutes(t.createdAt), t.dueAt.map(minutes) ?? "-", t.customer, t.action, t.channel,
                       t.status.rawValue, t.assignee ?? "-"]
            for (i, c) in row.enumerated() { widths[i] = max(widths[i], shown(c)) }
            cells += row
        }
        for f in FieldText.of(t) {
            let i: Int
            if let known = nameIndex[f.name] { i = known } else {
                i = names.count
                names.append(f.name)
                nameIndex[f.name] = i
                fieldWidths.append(max(shown(f.name), 1))  // an absent value shows as "-"
            }
            let cell = FieldText.cell(f.raw)
            if !csv, let cell { fieldWidths[i] = max(fieldWidths[i], shown(cell)) }
            fieldCells.append((i, cell))
        }
        rowEnds.append(fieldCells.count)
    }

    /// Calls `body` with each row's fixed cells and its cells per field name (`nil`: none).
    func forEachRow(_ body: (ArraySlice<String>, [String?]) -> Void) {
        var start = 0
        var values = [String?](repeating: nil, count: names.count)
        for (r, end) in rowEnds.enumerated() {
            for k in values.indices { values[k] = nil }
            for (i, v) in fieldCells[start..<end] { values[i] = v }
            start = end
            body(cells[(r * width)..<((r + 1) * width)], values)
        }
    }
}

/// A stored time to the minute, for people: `2026-11-03 10:00`.
func minutes(_ d: Date) -> String {
    var s = StoreTime.text(d)
    return s.withUTF8 { u in
        String(unsafeUninitializedCapacity: min(16, u.count)) { out in
            for i in 0..<out.count { out[i] = u[i] == 0x54 ? 0x20 : u[i] }  // the T between date and time
            return out.count
        }
    }
}

/// How many characters a cell shows (Unicode scalars, as the table has always counted them).
private func shown(_ s: String) -> Int {
    func count(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var n = 0
        for b in bytes where b & 0xC0 != 0x80 { n += 1 }
        return n
    }
    // Over the string's own bytes when it has them in one piece (almost always): a tight loop.
    if let n = s.utf8.withContiguousStorageIfAvailable(count) { return n }
    var copy = s
    return copy.withUTF8(count)
}

extension TaskCells {
    /// The table: a title line, then aligned columns two spaces apart (trailing spaces trimmed).
    func writeTable(scope: String, what: String, to out: ByteOutput) {
        guard count > 0 else {
            out.write("\(scope): no \(what)s\n")
            out.flush()
            return
        }
        out.write("\(scope): \(nextbest.count(count, what)), oldest first (times in UTC)\n")
        let all = widths + fieldWidths
        let last = all.count - 1
        func cell(_ c: String, _ i: Int) {
            out.write(c)
            if i < last { out.pad(all[i] - shown(c) + 2) }
        }
        for (i, c) in (Self.tableColumns + names).enumerated() { cell(c, i) }
        out.trimTrailingSpaces()
        out.write("\n")
        forEachRow { fixed, values in
            for (i, c) in fixed.enumerated() { cell(c, i) }
            for (k, v) in values.enumerated() { cell(v ?? "-", fixed.count + k) }
            out.trimTrailingSpaces()
            out.write("\n")
        }
        out.flush()
    }

    /// The route files' CSV: a byte-order mark, a header row, every cell quoted, CRLF.
    func writeCSV(to out: ByteOutput) {
        func row(_ cells: [String]) {
            for (i, c) in cells.enumerated() {
                if i > 0 { out.write(",") }
                out.writeCSV(c)
            }
            out.write("\r\n")
        }
        out.write("\u{FEFF}")
        row(Self.csvColumns + names)
        forEachRow { fixed, values in row(Array(fixed) + values.map { $0 ?? "" }) }
        out.flush()
    }
}
