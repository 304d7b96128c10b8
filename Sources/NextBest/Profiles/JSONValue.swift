// JSONValue: the JSON-like value type for profiles built in Swift, plan params and results.

/// A JSON value. Profiles built in Swift are `JSONValue` objects, written as literals:
///
/// ```swift
/// let profile: Profile = ["id": "C1", "annual_revenue": 82_000, "consent": ["phone": false]]
/// ```
public enum JSONValue: Sendable, Hashable {
    /// JSON `null` (in a profile, the same as a field left out).
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without a fraction or exponent that fits in 64 bits.
    case int(Int)
    /// Any other number.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object; keys are unordered (written sorted).
    case object([String: JSONValue])
}

/// A customer profile: a JSON object with an `id` (string or integer).
public typealias Profile = JSONValue

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `nil` is JSON `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// A dictionary literal; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue {
    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The text of a string value.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    /// The number of an `int` or `double` value.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    /// The integer of an `int` value (or of a whole `double`).
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
        default: return nil
        }
    }
    /// The flag of a `bool` value.
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// The elements of an array (an empty object counts as an empty array).
    public var arrayValue: [JSONValue]? {
        switch self {
        case .array(let a): return a
        case .object(let o) where o.isEmpty: return []
        default: return nil
        }
    }
    /// The members of an object.
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
}
