// Past contacts of many customers in one flat buffer: how a store hands a chunk's history to the engine without a String per field.
import Foundation

/// The past contacts of many customers, their texts side by side in one buffer: what
/// ``ContactHistoryProvider/contacts(for:since:into:)`` fills for each chunk of a batch run. A
/// customer's contacts are appended one after another, oldest first.
public struct ContactBatch: Sendable {
    /// Where one contact's texts are in `bytes` (length -1: absent), and its time in seconds
    /// since 1970 when `at` reads as one (`Int64.min` otherwise: the engine reads it).
    struct Row: Sendable {
        var customer: Int, customerLength: Int
        var action: Int, actionLength: Int
        var channel: Int, channelLength: Int
        var at: Int, atLength: Int
        var outcome: Int, outcomeLength: Int
        var epoch: Int64
    }
    /// Every text, one after another.
    var bytes: [UInt8] = []
    /// One per contact.
    var rows: [Row] = []

    /// An empty batch.
    public init() {}

    /// The contacts of each customer, by id.
    public init(_ byCustomer: [String: [PastContact]]) {
        for (customer, list) in byCustomer { for c in list { append(customer: customer, c) } }
    }

    /// The contacts by customer id, each customer's in order.
    public var byCustomer: [String: [PastContact]] {
        func text(_ at: Int, _ n: Int) -> String? {
            n < 0 ? nil : String(decoding: bytes[at..<(at + n)], as: UTF8.self)
        }
        var out: [String: [PastContact]] = [:]
        for r in rows {
            let c = PastContact(action: text(r.action, r.actionLength) ?? "", channel: text(r.channel, r.channelLength),
                                at: text(r.at, r.atLength) ?? "", outcome: text(r.outcome, r.outcomeLength))
            out[text(r.customer, r.customerLength) ?? "", default: []].append(c)
        }
        return out
    }

    /// Whether it holds no contact.
    public var isEmpty: Bool { rows.isEmpty }
    /// How many contacts it holds.
    public var count: Int { rows.count }

    /// Empties it, keeping its memory for the next chunk.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
    }

    /// Appends one contact of `customer` (UTF-8 texts; `nil`: absent). A customer's contacts
    /// must be appended together; its id is kept once.
    public mutating func append(customer: UnsafeRawBufferPointer, action: UnsafeRawBufferPointer,
                                channel: UnsafeRawBufferPointer?, at: UnsafeRawBufferPointer, outcome: UnsafeRawBufferPointer?) {
        var id = (bytes.count, customer.count)
        if let last = rows.last, last.customerLength == customer.count,
           bytes.withUnsafeBytes({ memcmpEqual($0, last.customer, customer) }) {
            id = (last.customer, last.customerLength)
        } else {
            bytes.append(contentsOf: customer)
        }
        let a = put(action)
        var c = (0, -1), o = (0, -1)
        if let channel { c = put(channel) }
        let t = put(at)
        if let outcome { o = put(outcome) }
        let epoch = bytes.withUnsafeBufferPointer { PastContact.seconds(UnsafeBufferPointer(rebasing: $0[t.0..<(t.0 + t.1)])) } ?? .min
        rows.append(Row(customer: id.0, customerLength: id.1, action: a.0, actionLength: a.1, channel: c.0, channelLength: c.1,
                        at: t.0, atLength: t.1, outcome: o.0, outcomeLength: o.1, epoch: epoch))
    }

    /// Appends one contact of `customer`.
    public mutating func append(customer: String, _ contact: PastContact) {
        var customer = customer, action = contact.action, at = contact.at
        var channel = contact.channel, outcome = contact.outcome
        customer.withUTF8 { id in
            action.withUTF8 { a in
                at.withUTF8 { t in
                    withOptionalUTF8(&channel) { c in
                        withOptionalUTF8(&outcome) { o in
                            append(customer: UnsafeRawBufferPointer(id), action: UnsafeRawBufferPointer(a), channel: c,
                                   at: UnsafeRawBufferPointer(t), outcome: o)
                        }
                    }
                }
            }
        }
    }

    /// Copies `text` in; its place.
    private mutating func put(_ text: UnsafeRawBufferPointer) -> (Int, Int) {
        let start = bytes.count
        bytes.append(contentsOf: text)
        return (start, text.count)
    }
}

/// Whether `bytes[at..<at + other.count]` equals `other`.
private func memcmpEqual(_ bytes: UnsafeRawBufferPointer, _ at: Int, _ other: UnsafeRawBufferPointer) -> Bool {
    guard at + other.count <= bytes.count else { return false }
    return other.count == 0 || memcmp(bytes.baseAddress! + at, other.baseAddress!, other.count) == 0
}

/// Calls `body` with the UTF-8 bytes of `text`, or `nil`.
private func withOptionalUTF8<R>(_ text: inout String?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard var t = text else { return body(nil) }
    defer { text = t }
    return t.withUTF8 { body(UnsafeRawBufferPointer($0)) }
}
