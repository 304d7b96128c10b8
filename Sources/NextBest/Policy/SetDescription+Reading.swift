// Reading the parts of a set's description that the language declares (departments' fields, the profile schema), in one place each.

extension SetDescription {
    /// Department -> the profile fields its queue carries, from `departments` (a list of
    /// `{name, fields}` or an object by name). The one place that reads that shape.
    var departmentFields: [String: [String]] {
        var out: [String: [String]] = [:]
        func add(_ name: String?, _ d: JSONValue) {
            guard let name, let fields = d["fields"]?.arrayValue else { return }
            let names = fields.compactMap(\.stringValue)
            if !names.isEmpty { out[name] = names }
        }
        switch departments {
        case .array(let list)?: for d in list { add(d["name"]?.stringValue, d) }
        case .object(let byName)?: for (name, d) in byName { add(name, d) }
        default: break
        }
        return out
    }

    /// The profile schema, from `profile` (`{fields = {name = type or nested}, strict}`, or the
    /// fields directly); `nil` when the set declares none. The one place that reads that shape.
    var profileSchema: ProfileSchema? {
        guard let p = profile?.objectValue else { return nil }
        let fields = p["fields"]?.objectValue ?? p.filter { $0.key != "strict" }
        return ProfileSchema(fields: ProfileSchema.types(fields), strict: p["strict"] == .bool(true))
    }
}
