// DecisionError: why a record got no plan.

/// Why a record produced an error instead of a plan.
public enum DecisionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The record could not be read as a profile (malformed JSON, not an object, no `id`, ...).
    case badRecord(message: String, customer: JSONValue?)
    /// The engine failed on this record (for example it ran out of memory).
    case failed(message: String, customer: JSONValue?)

    /// The message, without the customer.
    public var message: String {
        switch self {
        case .badRecord(let m, _), .failed(let m, _): return m
        }
    }

    /// The customer id, when it could be read.
    public var customer: JSONValue? {
        switch self {
        case .badRecord(_, let c), .failed(_, let c): return c
        }
    }

    /// The message, with the customer when known.
    public var description: String {
        if let customer { return "customer \(customer.stringValue ?? customer.jsonText): \(message)" }
        return message
    }
}
