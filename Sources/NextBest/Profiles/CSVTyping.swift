// CSV cells typed by the set's profile schema (policy-language.md §3.1): decimal commas, day/month/year dates, boolean words.
import Foundation

/// How CSV cells are read when the policy set declares a `profile` schema.
public struct CSVReading: Sendable, Hashable {
    /// Numbers are written with a decimal comma (`1.234,56` is 1234.56), as Italian or German Excel writes them.
    public var decimalComma: Bool
    /// The date format of date cells: `dd/mm/yyyy`, `mm/dd/yyyy`, `yyyy-mm-dd` (the default, ISO-8601), with `/`, `-` or `.`.
    public var dateFormat: String?

    /// Reading options with the given values.
    public init(decimalComma: Bool = false, dateFormat: String? = nil) {
        self.decimalComma = decimalComma
        self.dateFormat = dateFormat
    }

    /// Why `dateFormat` cannot be used, or `nil` when it can.
    public var dateFormatProblem: String? {
        guard let f = dateFormat?.lowercased() else { return nil }
        let parts = f.split(whereSeparator: { $0 == "/" || $0 == "-" || $0 == "." }).map(String.init)
        if parts.count == 3, Set(parts) == ["dd", "mm", "yyyy"] { return nil }
        return "--date-format '\(dateFormat ?? "")' is not one I can read: use dd/mm/yyyy, mm/dd/yyyy or yyyy-mm-dd (with /, - or .)"
    }
}

/// The typing of one CSV file's cells: the schema's type for each column path ("consent.email").
struct CSVTyping: Sendable {
    let types: [String: String]
    let reading: CSVReading

    init?(schema: ProfileSchema?, reading: CSVReading) {
        guard let schema else { return nil }
        var types: [String: String] = [:]
        for f in schema.fields { types[f.path] = f.type }
        self.types = types
        self.reading = reading
    }

    /// Boolean words in any case (policy-language.md §3.1).
    static let trueWords: Set<String> = ["true", "yes", "1", "vero", "sì", "si"]
    static let falseWords: Set<String> = ["false", "no", "0", "falso"]

    /// The cell's value for a column of declared `type`; text when it does not read as that
    /// type (the engine then names it in the plan's errors).
    func value(_ cell: String, type: String?) -> JSONValue {
        guard let type else { return reading.decimalComma ? number(cell) ?? CSVSource.value(cell) : CSVSource.value(cell) }
        switch type {
        case "string": return .string(cell)
        case "number", "integer": return number(cell) ?? .string(cell)
        case "boolean":
            let w = cell.trimmingCharacters(in: .whitespaces).lowercased()
            if CSVTyping.trueWords.contains(w) { return .bool(true) }
            if CSVTyping.falseWords.contains(w) { return .bool(false) }
            return .string(cell)
        case "date": return .string(date(cell) ?? cell)
        case "list", "table", "nested": return (try? JSONValue(parsing: cell)) ?? .string(cell)
        default: return CSVSource.value(cell)
        }
    }

    /// A number (whole numbers stay whole), with a decimal comma when `reading` says so
    /// (`1.234,56`); nil when it is not one.
    func number(_ cell: String) -> JSONValue? {
        var t = cell.trimmingCharacters(in: .whitespaces)
        if reading.decimalComma {
            guard !t.isEmpty, t.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "," || $0 == "-" || $0 == "+") }) else { return nil }
            let groups = t.split(separator: ",", omittingEmptySubsequences: false)
            guard groups.count <= 2 else { return nil }
            let whole = groups[0]
            let dotted = whole.split(separator: ".", omittingEmptySubsequences: false)
            if dotted.count > 1 && dotted.dropFirst().contains(where: { $0.count != 3 }) { return nil }  // 1.234.567 only
            t = dotted.joined() + (groups.count == 2 ? "." + groups[1] : "")
        }
        if t.hasPrefix("+") { t.removeFirst() }
        guard let first = t.utf8.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39),
              let v = try? JSONValue(parsing: t), v.doubleValue != nil else { return nil }
        return v
    }

    /// An ISO-8601 date (yyyy-mm-dd) from a cell in `reading.dateFormat`; nil when it does not match.
    func date(_ cell: String) -> String? {
        guard let f = reading.dateFormat?.lowercased() else { return nil }
        let order = f.split(whereSeparator: { $0 == "/" || $0 == "-" || $0 == "." }).map(String.init)
        let parts = cell.trimmingCharacters(in: .whitespaces).split(whereSeparator: { $0 == "/" || $0 == "-" || $0 == "." }).map(String.init)
        guard order.count == 3, parts.count == 3 else { return nil }
        var d = 0, m = 0, y = 0
        for (name, part) in zip(order, parts) {
            guard let n = Int(part), part.allSatisfy(\.isNumber) else { return nil }
            switch name { case "dd": d = n; case "mm": m = n; default: y = n }
        }
        guard y >= 1000, y <= 9999, (1...12).contains(m), (1...31).contains(d) else { return nil }
        return String(format: "%04d-%02d-%02d", y, m, d)
    }
}
