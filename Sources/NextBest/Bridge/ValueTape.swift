// ValueTape: a JSONValue flattened for the C bridge (nodes in pre-order, string bytes apart), so a Swift profile reaches Lua without JSON text.
import CNextBestBridge

/// A `JSONValue` as the bridge pushes it: one `nb_value` per node, in pre-order (an array or
/// object node is followed by its elements, or by key/value pairs), and the strings' bytes.
struct ValueTape {
    /// The nodes.
    private(set) var nodes: [nb_value] = []
    /// Every string's bytes, one after another.
    private(set) var strings: [UInt8] = []

    /// The tape of `value`.
    init(_ value: JSONValue) {
        nodes.reserveCapacity(32)
        add(value)
        strings.append(0)  // a valid base address even when there is no string
    }

    private mutating func node(_ kind: Int, length: Int = 0, integer: Int64 = 0, number: Double = 0) {
        nodes.append(nb_value(kind: Int32(kind), offset: 0, length: length, integer: integer, number: number))
    }

    private mutating func add(string s: String) {
        let offset = strings.count
        strings.append(contentsOf: s.utf8)
        nodes.append(nb_value(kind: Int32(NB_VALUE_STRING), offset: offset, length: strings.count - offset, integer: 0, number: 0))
    }

    private mutating func add(_ v: JSONValue) {
        switch v {
        case .null: node(Int(NB_VALUE_NULL))
        case .bool(let b): node(Int(b ? NB_VALUE_TRUE : NB_VALUE_FALSE))
        case .int(let i): node(Int(NB_VALUE_INT), integer: Int64(i))
        case .double(let d): node(Int(NB_VALUE_DOUBLE), number: d)
        case .string(let s): add(string: s)
        case .array(let a):
            node(Int(NB_VALUE_ARRAY), length: a.count)
            for x in a { add(x) }
        case .object(let o):
            node(Int(NB_VALUE_OBJECT), length: o.count)
            for (k, x) in o {
                add(string: k)
                add(x)
            }
        }
    }
}
