// ProfileSchema checks: a file of profiles against the set's `profile` declaration (`nextbest check --profiles`).

extension ProfileSchema {
    /// Whether `v` has the declared type `type` (`string`, `number`, `integer`, `boolean`,
    /// `date` — ISO-8601 text, `2026-10-30` optionally with a time —, `list`, `table`,
    /// `nested`); an unknown type name accepts anything.
    public static func accepts(_ type: String, _ v: JSONValue) -> Bool {
        switch (type, v) {
        case ("string", .string), ("boolean", .bool), ("list", .array), ("number", .int), ("number", .double), ("integer", .int):
            return true
        case ("integer", .double(let d)): return d == d.rounded() && abs(d) < 9.0e15
        case ("table", .object), ("nested", .object): return true
        case ("date", .string(let s)): return isDate(s)
        case ("string", _), ("boolean", _), ("list", _), ("number", _), ("integer", _), ("table", _), ("nested", _), ("date", _):
            return false
        default: return true
        }
    }

    /// Whether `s` reads as an ISO-8601 date (`YYYY-MM-DD`, then optionally `T` or a space and a time).
    static func isDate(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count >= 10 else { return false }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9]
        guard digits.allSatisfy({ b[$0] >= 48 && b[$0] <= 57 }), b[4] == 45, b[7] == 45 else { return false }
        let month = Int(b[5] - 48) * 10 + Int(b[6] - 48), day = Int(b[8] - 48) * 10 + Int(b[9] - 48)
        guard (1...12).contains(month), (1...31).contains(day) else { return false }
        return b.count == 10 || b[10] == 84 || b[10] == 32
    }
}

/// A file of profiles against a ``ProfileSchema``: per field, how many records have it and
/// how many hold a value of the wrong type (with the first examples), and the fields present
/// in the data that the schema does not declare.
public struct ProfileDataReport: Sendable {
    /// One field's counts.
    public struct FieldCounts: Sendable, Hashable {
        /// The field (`annual_revenue`, `consent.email`).
        public var field: String
        /// Its declared type.
        public var type: String
        /// Records that have it (any value but null).
        public var present = 0
        /// Records whose value is not of the declared type.
        public var wrongType = 0
        /// The first few wrong values: `input 3 (C0003): the text "8.250,00"`.
        public var examples: [String] = []
    }

    /// Records read (readable or not).
    public var records = 0
    /// Records that could not be read as a profile, with the first few messages.
    public var unreadable = 0, unreadableExamples: [String] = []
    /// Every declared field, in name order.
    public var fields: [FieldCounts] = []
    /// Fields present in the data but not declared, with how many records have each.
    public var undeclared: [String: Int] = [:]

    /// Whether some value has the wrong type or some record cannot be read.
    public var hasProblems: Bool { unreadable > 0 || fields.contains { $0.wrongType > 0 } }
}

extension ProfileSchema {
    /// Checks every record of `path` against the schema (`id` is always declared).
    public func check(profiles path: String, format: ProfileFormat, examples: Int = 3) throws -> ProfileDataReport {
        var report = ProfileDataReport()
        var counts: [String: ProfileDataReport.FieldCounts] = [:]
        var types: [String: String] = [:]
        for f in fields {
            types[f.path] = f.type
            counts[f.path] = .init(field: f.path, type: f.type)
        }
        var records = try RecordIterator(path: path, format: format)
        while let r = try records.next() {
            report.records += 1
            guard let bytes = r.bytes, let v = try? JSONValue(parsing: bytes), let o = v.objectValue else {
                report.unreadable += 1
                if report.unreadableExamples.count < examples {
                    report.unreadableExamples.append("input \(r.number): \(r.error ?? "not a JSON object")")
                }
                continue
            }
            let who = o["id"].map { "input \(r.number) (\($0.stringValue ?? $0.jsonText))" } ?? "input \(r.number)"
            func walk(_ o: [String: JSONValue], _ prefix: String) {
                for (key, value) in o {
                    let name = prefix + key
                    guard let t = types[name] else {
                        if name != "id" { report.undeclared[name, default: 0] += 1 }
                        continue
                    }
                    if value == .null { continue }
                    counts[name]?.present += 1
                    if !Self.accepts(t, value) {
                        counts[name]?.wrongType += 1
                        if (counts[name]?.examples.count ?? examples) < examples {
                            counts[name]?.examples.append("\(who): \(Self.shown(value))")
                        }
                    } else if t == "nested", let sub = value.objectValue {
                        walk(sub, name + ".")
                    }
                }
            }
            walk(o, "")
        }
        report.fields = counts.values.sorted { $0.field < $1.field }
        return report
    }

    /// A value as the report names it: `the text "8.250,00"`, `the number 3`, `a list`.
    static func shown(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return "the text " + JSONValue.string(s.count > 40 ? String(s.prefix(40)) + "..." : s).jsonText
        case .int, .double: return "the number " + v.jsonText
        case .bool(let b): return "the boolean \(b)"
        case .array: return "a list"
        case .object: return "a table"
        case .null: return "null"
        }
    }
}
