// RouteWriter: one work queue per department (JSON Lines, or CSV for spreadsheets), written beside and renamed whole.
import Foundation

/// The format of the route files: JSON Lines, or CSV that opens in a spreadsheet.
public enum RouteFormat: String, Sendable, CaseIterable {
    /// `DIR/<department>.jsonl`, one JSON object per line.
    case jsonl
    /// `DIR/<department>.csv`: UTF-8 byte-order mark, a header row, every cell quoted, CRLF,
    /// priority rounded to 2 decimals, params as JSON text.
    case csv
}

/// Writes `DIR/<department>.jsonl` (or `.csv`), one line per action to carry out. Each queue
/// is an `OutputFile`: lines go to hidden temporary files first; ``commit()`` renames them into
/// place, ``discard()`` removes them (a queue that is a FIFO or a device is written directly).
public final class RouteWriter {
    private let directory: String
    private let format: RouteFormat
    private let fields: [String: [String]]
    private var files: [String: OutputFile] = [:]

    /// The columns of every route line, before the department's own fields.
    public static let columns = ["customer", "action", "channel", "priority", "reason", "params", "policy"]

    /// Prepares `directory` (created if needed) with a queue for each of `departments`;
    /// `fields` are the profile fields each department's queue carries (CSV columns).
    public init(directory: String, departments: [String], format: RouteFormat = .jsonl,
                fields: [String: [String]] = [:]) throws {
        self.directory = directory
        self.format = format
        self.fields = fields
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for d in departments { _ = try file(for: d) }
    }

    private func path(for department: String) -> String { "\(directory)/\(department).\(format.rawValue)" }

    private func file(for department: String) throws -> Int32 {
        if let f = files[department] { return f.fd }
        let f = try OutputFile(path: path(for: department))
        files[department] = f
        if format == .csv {
            let header = "\u{FEFF}" + RouteWriter.csvRow((RouteWriter.columns + (fields[department] ?? [])).map { $0 })
            try Array(header.utf8).withUnsafeBytes { try writeAll(f.fd, $0) }
        }
        return f.fd
    }

    /// Adds the work items of a batch of plans to their departments' queues.
    func add(_ batch: RouteBatch) throws {
        try batch.forEach { dept, line in
            let fd = try file(for: dept)
            switch format {
            case .jsonl: try writeAll(fd, line)
            case .csv:
                let row = RouteWriter.csvRow(try JSONValue(parsing: line), columns: RouteWriter.columns + (fields[dept] ?? []))
                try Array(row.utf8).withUnsafeBytes { try writeAll(fd, $0) }
            }
        }
        batch.removeAll()
    }

    /// One CSV row of a route line: each column's value as a cell (text as is, priority with
    /// 2 decimals, params and other tables as JSON, absent as an empty cell).
    static func csvRow(_ item: JSONValue, columns: [String]) -> String {
        csvRow(columns.map { c -> String in
            guard let v = item[c] else { return "" }
            switch v {
            case .null: return ""
            case .string(let s): return s
            case .bool(let b): return b ? "true" : "false"
            case .int(let i) where c == "priority": return String(format: "%.2f", Double(i))
            case .int(let i): return String(i)
            case .double(let d) where c == "priority": return String(format: "%.2f", d)
            default: return v.jsonText
            }
        })
    }

    /// Cells as one CSV line: every cell in double quotes (quotes doubled), CRLF at the end.
    package static func csvRow(_ cells: [String]) -> String {
        cells.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",") + "\r\n"
    }

    /// Moves every queue into place.
    public func commit() throws {
        defer { discard() }  // after a failure, the queues not yet in place are removed
        for (_, f) in files.sorted(by: { $0.key < $1.key }) { try f.commit() }
    }

    /// Removes the temporary files; nothing is left half-written.
    public func discard() {
        for f in files.values { f.discard() }
    }

    /// The department files written, in order.
    public var departmentFiles: [String] { files.keys.sorted().map { path(for: $0) } }
}
