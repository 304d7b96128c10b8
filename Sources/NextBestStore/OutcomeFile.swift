// Reading outcome files: JSON Lines of flat objects, or CSV with a header row; each row with its line.
import Foundation

/// One row of an outcome file before it is checked: its fields as text, and where it starts.
public struct RawRow: Sendable, Hashable {
    /// The 1-based line the row starts on.
    public var line: Int
    /// Field name → text (numbers keep the digits they were written with); `nil` when the row
    /// could not be read at all, with `problem` saying why.
    public var fields: [String: String]
    /// Why the row could not be read, if it could not.
    public var problem: String?
}

/// The formats an outcome file may have.
public enum OutcomeFileFormat: String, Sendable, CaseIterable {
    /// One JSON object per line.
    case jsonl
    /// Comma-separated, with a header row naming the fields.
    case csv

    /// The format a path's extension says, or what its first character suggests (`{` → JSONL).
    public static func guess(path: String, firstByte: UInt8?) -> OutcomeFileFormat {
        let ext = (path as NSString).pathExtension.lowercased()
        if ext == "csv" { return .csv }
        if ["jsonl", "json", "ndjson"].contains(ext) { return .jsonl }
        return firstByte == UInt8(ascii: "{") ? .jsonl : .csv
    }
}

/// Reads an outcome file's rows one at a time, from memory (a file is mapped, not copied).
public struct OutcomeFileReader: Sequence, IteratorProtocol {
    private let bytes: [UInt8]
    private var i = 0
    private var line = 1
    private let format: OutcomeFileFormat
    private var header: [String]?

    /// A reader over a file's bytes.
    public init(bytes: [UInt8], format: OutcomeFileFormat) {
        self.bytes = bytes
        self.format = format
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }  // a UTF-8 byte-order mark
    }

    /// Opens a file (`-` reads standard input); the format comes from `format` or is guessed.
    public init(path: String, format: OutcomeFileFormat? = nil) throws {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard FileManager.default.fileExists(atPath: path) else {
                throw StoreError.unreachable(path, "there is no such file")
            }
            do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
                throw StoreError.unreachable(path, "it cannot be read (\(error.localizedDescription))")
            }
        }
        let bytes = [UInt8](data)
        let first = bytes.first { $0 != 0xEF && $0 != 0xBB && $0 != 0xBF && $0 != 32 && $0 != 10 && $0 != 13 && $0 != 9 }
        self.init(bytes: bytes, format: format ?? .guess(path: path, firstByte: first))
    }

    /// The next row, or `nil` at the end. Blank lines are skipped.
    public mutating func next() -> RawRow? {
        switch format {
        case .jsonl: return nextJSON()
        case .csv: return nextCSV()
        }
    }

    // MARK: JSON Lines

    private mutating func nextJSON() -> RawRow? {
        while i < bytes.count {
            let start = i
            while i < bytes.count && bytes[i] != 10 { i += 1 }
            var end = i
            if i < bytes.count { i += 1 }
            let here = line
            line += 1
            if end > start && bytes[end - 1] == 13 { end -= 1 }
            var p = start
            while p < end && (bytes[p] == 32 || bytes[p] == 9) { p += 1 }
            if p == end { continue }
            var parser = FlatJSON(bytes: bytes, at: p, end: end)
            do {
                return RawRow(line: here, fields: try parser.object())
            } catch {
                return RawRow(line: here, fields: [:], problem: error.message)
            }
        }
        return nil
    }

    // MARK: CSV

    private mutating func nextCSV() -> RawRow? {
        if header == nil {
            guard let first = csvRecord() else { return nil }
            header = first.cells.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        }
        while let record = csvRecord() {
            if record.cells.count == 1 && record.cells[0].trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if let problem = record.problem { return RawRow(line: record.line, fields: [:], problem: problem) }
            guard let header else { return nil }
            if record.cells.count != header.count {
                return RawRow(line: record.line, fields: [:],
                              problem: "it has \(record.cells.count) fields but the header names \(header.count)")
            }
            var fields: [String: String] = [:]
            for (name, cell) in zip(header, record.cells) { fields[name] = cell }
            return RawRow(line: record.line, fields: fields)
        }
        return nil
    }

    private mutating func csvRecord() -> (line: Int, cells: [String], problem: String?)? {
        guard i < bytes.count else { return nil }
        let startLine = line
        var cells: [String] = []
        var cell: [UInt8] = []
        var quoted = false
        var problem: String?
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == 34 {
                    if i + 1 < bytes.count && bytes[i + 1] == 34 { cell.append(34); i += 2; continue }
                    quoted = false
                    i += 1
                    continue
                }
                if b == 10 { line += 1 }
                cell.append(b)
                i += 1
                continue
            }
            switch b {
            case 34:
                if cell.isEmpty { quoted = true } else { cell.append(b) }
                i += 1
            case 44:
                cells.append(String(decoding: cell, as: UTF8.self))
                cell.removeAll(keepingCapacity: true)
                i += 1
            case 13 where i + 1 < bytes.count && bytes[i + 1] == 10:
                i += 1
            case 10:
                i += 1
                line += 1
                cells.append(String(decoding: cell, as: UTF8.self))
                return (startLine, cells, problem)
            default:
                cell.append(b)
                i += 1
            }
        }
        if quoted { problem = "a quoted field is not closed before the end of the file" }
        cells.append(String(decoding: cell, as: UTF8.self))
        return (startLine, cells, problem)
    }
}

/// Why a JSON line could not be read.
struct FlatJSONError: Error {
    var message: String
}

/// A parser for one flat JSON object: string, number, boolean or null values (no nesting).
struct FlatJSON {
    let bytes: [UInt8]
    var p: Int
    let end: Int

    init(bytes: [UInt8], at start: Int, end: Int) {
        self.bytes = bytes
        self.p = start
        self.end = end
    }

    private mutating func space() { while p < end && (bytes[p] == 32 || bytes[p] == 9 || bytes[p] == 13) { p += 1 } }

    private func fail(_ why: String) -> FlatJSONError {
        FlatJSONError(message: "not a readable JSON object: \(why) (column \(p + 1 - lineStart))")
    }

    private var lineStart: Int {
        var s = p
        while s > 0 && bytes[s - 1] != 10 { s -= 1 }
        return s
    }

    mutating func object() throws(FlatJSONError) -> [String: String] {
        space()
        guard p < end, bytes[p] == 123 else { throw fail("it does not start with {") }
        p += 1
        var out: [String: String] = [:]
        space()
        if p < end && bytes[p] == 125 { p += 1; return try finish(out) }
        while true {
            space()
            guard p < end, bytes[p] == 34 else { throw fail("expected a field name in quotes") }
            let key = try string()
            space()
            guard p < end, bytes[p] == 58 else { throw fail("expected ':' after \"\(key)\"") }
            p += 1
            space()
            guard p < end else { throw fail("the line ends after \"\(key)\":") }
            switch bytes[p] {
            case 34: out[key] = try string()
            case 123, 91: throw FlatJSONError(message: "field '\(key)' must be text or a number, not a list or an object")
            case 110: try word("null"); out[key] = nil
            case 116: try word("true"); out[key] = "true"
            case 102: try word("false"); out[key] = "false"
            default: out[key] = try number()
            }
            space()
            guard p < end else { throw fail("the line ends inside the object") }
            if bytes[p] == 44 { p += 1; continue }
            if bytes[p] == 125 { p += 1; return try finish(out) }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func finish(_ out: [String: String]) throws(FlatJSONError) -> [String: String] {
        space()
        guard p == end else { throw fail("more text after the closing }") }
        return out
    }

    private mutating func word(_ w: StaticString) throws(FlatJSONError) {
        let n = w.utf8CodeUnitCount
        guard p + n <= end else { throw fail("unexpected end") }
        for k in 0..<n where bytes[p + k] != w.utf8Start[k] { throw fail("unexpected text") }
        p += n
    }

    private mutating func number() throws(FlatJSONError) -> String {
        let start = p
        while p < end, "+-.0123456789eE".utf8.contains(bytes[p]) { p += 1 }
        guard p > start, Double(String(decoding: bytes[start..<p], as: UTF8.self)) != nil else {
            throw fail("expected a value")
        }
        return String(decoding: bytes[start..<p], as: UTF8.self)
    }

    private mutating func hex4() throws(FlatJSONError) -> UInt32 {
        guard p + 4 <= end else { throw fail("a \\u escape is cut short") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[p]
            let d: UInt8
            switch c {
            case 48...57: d = c - 48
            case 65...70: d = c - 55
            case 97...102: d = c - 87
            default: throw fail("a \\u escape has a non-hex digit")
            }
            v = v << 4 | UInt32(d)
            p += 1
        }
        return v
    }

    private mutating func string() throws(FlatJSONError) -> String {
        p += 1  // the opening quote
        let start = p
        while p < end && bytes[p] != 34 && bytes[p] != 92 { p += 1 }
        if p < end && bytes[p] == 34 {  // no escapes: the common case
            defer { p += 1 }
            return String(decoding: bytes[start..<p], as: UTF8.self)
        }
        var out = Array(bytes[start..<p])
        while p < end {
            let b = bytes[p]
            if b == 34 { p += 1; return String(decoding: out, as: UTF8.self) }
            if b != 92 { out.append(b); p += 1; continue }
            p += 1
            guard p < end else { break }
            let e = bytes[p]
            p += 1
            switch e {
            case 34, 92, 47: out.append(e)
            case 98: out.append(8)
            case 102: out.append(12)
            case 110: out.append(10)
            case 114: out.append(13)
            case 116: out.append(9)
            case 117:
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar), p + 6 <= end, bytes[p] == 92, bytes[p + 1] == 117 {
                    p += 2
                    let low = try hex4()
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low &- 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("a \\u escape is not a character") }
                out += Array(String(Character(u)).utf8)
            default: throw fail("unknown escape \\\(Character(Unicode.Scalar(e)))")
            }
        }
        throw fail("a text value is not closed")
    }
}
