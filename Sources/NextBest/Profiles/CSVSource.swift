// CSV profiles: a header row, then one profile per row. `a.b` columns become nested fields,
// `true`/`false` booleans, JSON-style numbers numbers, empty cells absent; each row is
// rewritten as one JSON object for the bridge.
import Foundation

struct CSVSource: RecordSource {
    private var rows: [(line: Int, cells: [String])] = []
    private var header: [[String]] = []  // each column's path (a.b -> ["a", "b"])
    private var next = 0
    private var number = 0
    let chunkBytes: Int
    let bytesRead: Int

    init(reader: ByteReader, chunkBytes: Int) throws(ProfileReadError) {
        var reader = reader
        let all = try reader.readAll()
        reader.close()
        bytesRead = all.count
        self.chunkBytes = chunkBytes
        // Invalid bytes become U+FFFD so the other rows still read; such rows are reported.
        let valid = String(validating: all, as: UTF8.self)
        badUTF8 = valid == nil
        var parsed = CSVSource.parse(valid ?? String(decoding: all, as: UTF8.self))
        guard !parsed.isEmpty else { return }
        let head = parsed.removeFirst()
        var seen = Set<String>()
        for name in head.cells {
            let name = name.trimmingCharacters(in: .whitespaces)
            if name.isEmpty { throw ProfileReadError(message: "CSV header (line \(head.line)): a column has no name") }
            if !seen.insert(name).inserted { throw ProfileReadError(message: "CSV header (line \(head.line)): column '\(name)' appears twice") }
            header.append(name.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
        }
        rows = parsed.filter { !($0.cells.count == 1 && $0.cells[0].isEmpty) }  // blank lines
    }

    private var badUTF8 = false

    /// RFC 4180 rows with their starting line numbers (quoted cells may span lines).
    static func parse(_ text: String) -> [(line: Int, cells: [String])] {
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
            case ",": cells.append(cell); cell = ""; quoted = false
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
                for (path, cell) in zip(header, row.cells) where !cell.isEmpty {
                    CSVSource.set(&object, path[...], CSVSource.value(cell))
                }
                chunk.bytes.append(contentsOf: JSONValue.object(object).jsonText.utf8)
                slice.end = chunk.bytes.count
            }
            chunk.records.append(slice)
        }
        return chunk
    }

    /// A cell's value: booleans, JSON-style numbers, otherwise the text.
    static func value(_ cell: String) -> JSONValue {
        if cell == "true" { return .bool(true) }
        if cell == "false" { return .bool(false) }
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
