// Reading the parts of a set's description the route writer needs (departments' fields), in one place.

extension SetDescription {
    /// Department -> the profile fields its queue carries (only departments that declare some).
    var departmentFields: [String: [String]] {
        var out: [String: [String]] = [:]
        for d in departments where !d.fields.isEmpty { out[d.name] = d.fields }
        return out
    }
}
