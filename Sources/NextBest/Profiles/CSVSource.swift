// CSV profiles as Excel and CRMs write them: a header row, then one profile per row. A UTF-8
// byte-order mark is skipped, the separator (`,` `;` tab `|`) is found from the header, CRLF or
// LF; `a.b` columns become nested fields, `true`/`false` (any case) booleans, JSON-style numbers
// numbers, empty cells absent, and the `id` column always stays text. Each row is rewritten as
// one JSON object for the bridge.
import Foundation

struct CSVSource: RecordSource {
    private var rows: [(line: Int, cells: [String])] = []
    private var header: [[String]] = []  // each column's path (a.b -> ["a", "b"])
    private var next = 0
    private var number = 0
    let chunkBytes: Int
    let bytesRead: Int

    private var typing: CSVTyping?
    private var columnTypes: [String?] = []

    init(reader: ByteReader, chunkBytes: Int, delimiter: UInt8? = nil, typing: CSVTyping? = nil) throws(ProfileReadError) {
        self.typing = typing
        var reader = reader
        var all = try reader.readAll()
        if all.starts(with: [0xEF, 0xBB, 0xBF]) { all.removeFirst(3) }  // Excel's UTF-8 byte-order mark
        reader.close()
        bytesRead = all.count
        self.chunkBytes = chunkBytes
        // Invalid bytes become U+FFFD so the other rows still read; such rows are reported.
        let valid = String(validating: all, as: UTF8.self)
        badUTF8 = valid == nil
        let text = valid ?? String(decoding: all, as: UTF8.self)
        let separator = Unicode.Scalar(delimiter ?? CSVSource.detectDelimiter(text))
        var parsed = CSVSource.parse(text, separator: separator)
        guard !parsed.isEmpty else { return }
        let head = parsed.removeFirst()
        var seen = Set<String>()
        for name in head.cells {
            let name = name.trimmingCharacters(in: .whitespaces)
            if name.isEmpty { throw ProfileReadError(message: "CSV header (line \(head.line)): a column has no name") }
            if !seen.insert(name).inserted { throw ProfileReadError(message: "CSV header (line \(head.line)): column '\(name)' appears twice") }
            header.append(name.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
        }
        idColumn = header.firstIndex(of: ["id"])
        if let typing { columnTypes = header.map { typing.types[$0.joined(separator: ".")] } }
        rows = parsed.filter { !($0.cells.count == 1 && $0.cells[0].isEmpty) }  // blank lines
    }

    private var badUTF8 = false
    private var idColumn: Int?

    /// The separator of a CSV text, found from its header line: the most frequent of `,` `;`
    /// tab `|` outside quotes (a comma when there is none).
    static func detectDelimiter(_ text: String) -> UInt8 {
        var counts: [UInt8: Int] = [:]
        var inQuotes = false
        for b in text.utf8 {
            if b == UInt8(ascii: "\"") { inQuotes.toggle(); continue }
            if inQuotes { continue }
            if b == 0x0A { break }
            if b == UInt8(ascii: ",") || b == UInt8(ascii: ";") || b == 0x09 || b == UInt8(ascii: "|") {
                counts[b, default: 0] += 1
            }
        }
        var best = UInt8(ascii: ","), bestCount = 0
        for candidate in [UInt8(ascii: ","), UInt8(ascii: ";"), 0x09, UInt8(ascii: "|")] {
            if let n = counts[candidate], n > bestCount { best = candidate; bestCount = n }
        }
        return best
    }

    /// RFC 4180 rows with their starting line numbers (quoted cells may span lines).
    static func parse(_ text: String, separator: Unicode.Scalar = ",") -> [(line: Int, cells: [String])] {
        var rows: [(line: Int, cells: [String])] = []
        var cells: [String] = []
        var cell = ""
        var inQuotes = false, line = 1, rowLine = 1, quoted = false
        var it = text.unicodeScalars.makeIterator()
        var pendingChar: Unicode.Scalar? = nil
        func endRow() {
            cells.append(cell)
            rows.append((rowLine, cells))
            cells = []; cell = ""; quoted = false
        }
        while let ch = pendingChar ?? it.next() {
            pendingChar = nil
            if inQuotes {
                if ch == "\"" {
                    if let nx = it.next() {
                        if nx == "\"" { cell.unicodeScalars.append("\"") } else { inQuotes = false; pendingChar = nx }
                    } else { inQuotes = false }
                } else {
                    if ch == "\n" { line += 1 }
                    cell.unicodeScalars.append(ch)
                }
                continue
            }
            switch ch {
            case "\"" where cell.isEmpty && !quoted: inQuotes = true; quoted = true
            case separator: cells.append(cell); cell = ""; quoted = false
            case "\r": break
            case "\n":
                endRow()
                line += 1
                rowLine = line
            default: cell.unicodeScalars.append(ch)
            }
        }
        if !cell.isEmpty || !cells.isEmpty || quoted { endRow() }
        return rows
    }

    mutating func nextChunk() throws(ProfileReadError) -> RecordChunk? {
        guard next < rows.count else { return nil }
        var chunk = RecordChunk()
        while next < rows.count && chunk.bytes.count < chunkBytes {
            let row = rows[next]
            next += 1
            number += 1
            let start = chunk.bytes.count
            var slice = RecordSlice(start: start, end: start, line: row.line, column: 1, number: number)
            if row.cells.count != header.count {
                slice.error = "line \(row.line): \(row.cells.count) cell\(row.cells.count == 1 ? "" : "s"), but the header has \(header.count) columns"
            } else if badUTF8 && row.cells.contains(where: { $0.unicodeScalars.contains("\u{FFFD}") }) {
                slice.error = "line \(row.line): the row has bytes that are not valid UTF-8"
            } else {
                var object: [String: JSONValue] = [:]
                for (column, (path, cell)) in zip(header, row.cells).enumerated() where !cell.isEmpty {
                    // Ids are text: `0042` stays `0042`, a 20-digit code keeps its digits.
                    let value: JSONValue
                    if column == idColumn { value = .string(cell) }
                    else if let typing { value = typing.value(cell, type: columnTypes[column]) }
                    else { value = CSVSource.value(cell) }
                    CSVSource.set(&object, path[...], value)
                }
                chunk.bytes.append(contentsOf: JSONValue.object(object).jsonText.utf8)
                slice.end = chunk.bytes.count
            }
            chunk.records.append(slice)
        }
        return chunk
    }

    /// A cell's value: booleans (`true`/`false` in any case), JSON-style numbers, otherwise the text.
    static func value(_ cell: String) -> JSONValue {
        if cell.count <= 5 {
            let lower = cell.lowercased()
            if lower == "true" { return .bool(true) }
            if lower == "false" { return .bool(false) }
        }
        if let first = cell.utf8.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39),
           let v = try? JSONValue(parsing: cell), v.doubleValue != nil {
            return v
        }
        return .string(cell)
    }

    static func set(_ object: inout [String: JSONValue], _ path: ArraySlice<String>, _ value: JSONValue) {
        guard let key = path.first else { return }
        if path.count == 1 { object[key] = value; return }
        var inner = object[key]?.objectValue ?? [:]
        set(&inner, path.dropFirst(), value)
        object[key] = .object(inner)
    }
}
