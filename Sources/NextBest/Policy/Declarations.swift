// The v2 declarations a set makes besides segments, actions and policies: channels, departments (policy-language.md §2.1) and the profile schema (§3.1).

/// An outcome rule (`suppress = { after, outcome, within_days, for_days }`, policy-language.md §8.3).
public struct OutcomeRule: Sendable, Hashable, Decodable {
    /// How many contacts with the outcome pause the proposal.
    public var after: Int
    /// The outcome that counts (`"declined"`).
    public var outcome: String
    /// The window, in days before now, in which they count.
    public var withinDays: Double
    /// How many days after the last of them the proposal stays paused.
    public var forDays: Double

    enum CodingKeys: String, CodingKey {
        case after, outcome
        case withinDays = "within_days"
        case forDays = "for_days"
    }
}

/// A channel: declared with `channel "x" { ... }`, or (in a set that declares none) one an action names.
public struct ChannelInfo: Sendable, Hashable, Decodable {
    /// Its name.
    public var name: String
    /// Where it is declared (`file:line`), or the first action naming it when not declared.
    public var at: String
    /// Whether the set declares it (`false`: a v1 set, the channel is taken from an action).
    public var declared: Bool
    /// The key of the customer's `consent` table that holds consent for it.
    public var consent: String
    /// Whether an action on it needs the customer's consent.
    public var requiresConsent: Bool
    /// The frequency cap: at most `max` contacts in `perDays` days (both or neither).
    public var max: Int?
    /// The frequency cap's window in days.
    public var perDays: Double?
    /// Its outcome rule, if any.
    public var suppress: OutcomeRule?
    /// Its description, if any.
    public var description: String?

    enum CodingKeys: String, CodingKey {
        case name, at, declared, consent, max, suppress, description
        case requiresConsent = "requires_consent"
        case perDays = "per_days"
    }
}

/// A department: declared with `department "x" { ... }`, or (in a set that declares none) one an action names.
public struct DepartmentInfo: Sendable, Hashable, Decodable {
    /// Its name.
    public var name: String
    /// Where it is declared (`file:line`), or the first action naming it when not declared.
    public var at: String
    /// Whether the set declares it.
    public var declared: Bool
    /// Profile fields copied into its work queue, in order (dotted for nested fields: `consent.email`).
    public var fields: [String]
    /// At most this many of its actions per run (or per day with a store), if set.
    public var capacity: Int?
    /// Its description, if any.
    public var description: String?
}

/// One field of the profile schema.
public struct SchemaField: Sendable, Hashable, Decodable {
    /// Its path: `annual_revenue`, or `consent.email` for a field of a nested table.
    public var path: String
    /// Its type: string, number, integer, boolean, date, list, table, or nested (a table with declared fields).
    public var type: String
}

/// The set's `profile { ... }` declaration (policy-language.md §3.1).
public struct ProfileSchema: Sendable, Hashable, Decodable {
    /// Where it is declared (`file:line`).
    public var at: String
    /// Whether reading an undeclared field is an error.
    public var strict: Bool
    /// The declared fields, sorted by path (a nested table before its fields).
    public var fields: [SchemaField]
}
