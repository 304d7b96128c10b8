// The department's declared profile fields (name, email, phone...) kept with each task: written when recorded, read in order.
import Foundation
import NextBest

extension RecordedTask {
    /// The text the `fields` column holds for a department that declares `names` (its `fields`
    /// in the policy set, `Engine.departmentFields[department]`): a JSON object with each name and
    /// its value in `profile`, in declared order, `null` when the profile lacks it. A dotted name
    /// (`consent.email`) reads nested objects, as the route files do. `nil` when `names` is empty.
    ///
    /// The recorder calls this once per task: `RecordedTask(..., fields: RecordedTask.fields(names, from: profile))`.
    public static func fields(_ names: [String], from profile: JSONValue) -> String? {
        guard !names.isEmpty else { return nil }
        var out = "{"
        for (i, name) in names.enumerated() {
            if i > 0 { out += "," }
            JSONValue.writeString(name, into: &out)
            out += ":"
            var value: JSONValue? = profile
            for part in name.split(separator: ".", omittingEmptySubsequences: false) { value = value?[String(part)] }
            out += (value ?? .null).jsonText
        }
        return out + "}"
    }
}

extension TaskRecord {
    /// The department's profile fields kept with the task, in the order they were declared
    /// (empty when none were kept or the text is not a JSON object).
    public var fieldList: [(name: String, value: JSONValue)] {
        guard let fields, case .object(let values)? = try? JSONValue(parsing: fields) else { return [] }
        return TaskRecord.objectKeys(fields).compactMap { key in values[key].map { (key, $0) } }
    }

    /// The top-level keys of a JSON object text, in the order written (the text is known to parse).
    static func objectKeys(_ text: String) -> [String] {
        var keys: [String] = [], depth = 0, inString = false, escaped = false, expectKey = false
        var current: [UInt8] = [], start = true
        for b in text.utf8 {
            if inString {
                if escaped { escaped = false; if depth == 1 && expectKey { current.append(b) }; continue }
                if b == UInt8(ascii: "\\") { escaped = true; if depth == 1 && expectKey { current.append(b) }; continue }
                if b == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 1 && expectKey {
                        let raw = String(decoding: current, as: UTF8.self)
                        if current.contains(UInt8(ascii: "\\")), let k = (try? JSONValue(parsing: "\"" + raw + "\""))?.stringValue {
                            keys.append(k)
                        } else {
                            keys.append(raw)
                        }
                        expectKey = false
                    }
                    continue
                }
                if depth == 1 && expectKey { current.append(b) }
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                inString = true
                current.removeAll(keepingCapacity: true)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if start && b == UInt8(ascii: "{") { expectKey = true }
                start = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 1 { expectKey = true }
            default:
                break
            }
        }
        return keys
    }
}

extension TaskRecord {
    /// The task as a JSON object (the same in `tasks list --format json` and the service): its
    /// columns by their store names, times as stored text, `segments` as an array and `fields`
    /// as an object (key order: sorted).
    public var json: JSONValue {
        func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func time(_ d: Date?) -> JSONValue { d.map { .string(StoreTime.text($0)) } ?? .null }
        var fieldValues: [String: JSONValue] = [:]
        for (name, value) in fieldList { fieldValues[name] = value }
        return .object([
            "id": .string(id), "decision": .string(decision), "customer": .string(customer), "action": .string(action),
            "department": .string(department), "channel": .string(channel), "priority": .double(priority),
            "created_at": time(createdAt), "status": .string(status.rawValue), "status_at": time(statusAt),
            "assignee": text(assignee), "assigned_at": time(assignedAt), "due_at": time(dueAt), "done_at": time(doneAt),
            "outcome": text(outcome), "note": text(note), "policy": text(policy),
            "segments": .array(segments.map(JSONValue.string)), "fields": .object(fieldValues),
        ])
    }
}
