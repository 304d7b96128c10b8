// ValueTape: a JSONValue flattened for the C bridge (nodes in pre-order, string bytes apart), so a Swift profile reaches Lua without JSON text.
import CNextBestBridge

/// A `JSONValue` as the bridge pushes it: one `nb_value` per node, in pre-order (an array or
/// object node is followed by its elements, or by key/value pairs), and the strings' bytes.
/// Each Lua state keeps one and refills it for every profile, so its buffers are reused.
struct ValueTape {
    /// The nodes.
    private(set) var nodes: ContiguousArray<nb_value> = []
    /// Every string's bytes, one after another (and a final 0, so the base address is valid).
    private(set) var strings: ContiguousArray<UInt8> = []

    /// An empty tape (fill it with ``fill(_:)``).
    init() {
        nodes.reserveCapacity(64)
        strings.reserveCapacity(1024)
    }

    /// Replaces the tape's contents by `value`, keeping the buffers' capacity.
    mutating func fill(_ value: JSONValue) {
        nodes.removeAll(keepingCapacity: true)
        strings.removeAll(keepingCapacity: true)
        add(value)
        strings.append(0)
    }

    @inline(__always)
    private mutating func node(_ kind: Int32, length: Int = 0, integer: Int64 = 0, number: Double = 0) {
        nodes.append(nb_value(kind: kind, offset: 0, length: length, integer: integer, number: number))
    }

    private mutating func add(string s: String) {
        let offset = strings.count
        var s = s
        s.withUTF8 { strings.append(contentsOf: $0) }
        nodes.append(nb_value(kind: Int32(NB_VALUE_STRING), offset: offset, length: strings.count - offset, integer: 0, number: 0))
    }

    private mutating func add(_ v: JSONValue) {
        switch v {
        case .null: node(Int32(NB_VALUE_NULL))
        case .bool(let b): node(Int32(b ? NB_VALUE_TRUE : NB_VALUE_FALSE))
        case .int(let i): node(Int32(NB_VALUE_INT), integer: Int64(i))
        case .double(let d): node(Int32(NB_VALUE_DOUBLE), number: d)
        case .string(let s): add(string: s)
        case .array(let a):
            node(Int32(NB_VALUE_ARRAY), length: a.count)
            for x in a { add(x) }
        case .object(let o):
            node(Int32(NB_VALUE_OBJECT), length: o.count)
            for (k, x) in o {
                add(string: k)
                add(x)
            }
        }
    }
}
