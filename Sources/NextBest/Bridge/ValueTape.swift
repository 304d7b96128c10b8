// ValueTape: a JSONValue flattened for the C bridge (nodes in pre-order, string bytes apart), so a Swift profile reaches Lua without JSON text.
import CNextBestBridge

/// A `JSONValue` as the bridge pushes it: one `nb_value` per node, in pre-order (an array or
/// object node is followed by its elements, or by key/value pairs), and the strings' bytes.
/// Each Lua state keeps one and refills it for every profile: its two buffers are allocated
/// once and grow when a profile needs more, so flattening a profile allocates nothing.
final class ValueTape {
    /// The nodes: `nodeCount` of them.
    private(set) var nodes: UnsafeMutablePointer<nb_value>
    private(set) var nodeCount = 0
    private var nodeCapacity = 64
    /// Every string's bytes, one after another, then a 0 (so the base address is always valid).
    private(set) var strings: UnsafeMutablePointer<UInt8>
    private var stringCount = 0
    private var stringCapacity = 1024

    /// An empty tape (fill it with ``fill(_:)``).
    init() {
        nodes = .allocate(capacity: nodeCapacity)
        strings = .allocate(capacity: stringCapacity)
    }

    deinit {
        nodes.deallocate()
        strings.deallocate()
    }

    /// Replaces the tape's contents by `value`, keeping the buffers.
    func fill(_ value: JSONValue) {
        nodeCount = 0
        stringCount = 0
        add(value)
        reserveStrings(1)
        strings[stringCount] = 0
    }

    @inline(__always)
    private func node(_ v: nb_value) {
        if nodeCount == nodeCapacity {
            let bigger = UnsafeMutablePointer<nb_value>.allocate(capacity: nodeCapacity * 2)
            bigger.moveInitialize(from: nodes, count: nodeCount)
            nodes.deallocate()
            nodes = bigger
            nodeCapacity *= 2
        }
        (nodes + nodeCount).initialize(to: v)
        nodeCount += 1
    }

    private func reserveStrings(_ n: Int) {
        guard stringCount + n > stringCapacity else { return }
        var capacity = stringCapacity * 2
        while capacity < stringCount + n { capacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        bigger.moveInitialize(from: strings, count: stringCount)
        strings.deallocate()
        strings = bigger
        stringCapacity = capacity
    }

    private func add(string s: String) {
        let offset = stringCount
        if s.utf8.withContiguousStorageIfAvailable({ append($0) }) == nil {
            Array(s.utf8).withUnsafeBufferPointer { append($0) }
        }
        node(nb_value(kind: Int32(NB_VALUE_STRING), offset: offset, length: stringCount - offset, integer: 0, number: 0))
    }

    private func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        reserveStrings(bytes.count)
        if let base = bytes.baseAddress { (strings + stringCount).initialize(from: base, count: bytes.count) }
        stringCount += bytes.count
    }

    private func add(_ v: JSONValue) {
        switch v {
        case .null: node(nb_value(kind: Int32(NB_VALUE_NULL), offset: 0, length: 0, integer: 0, number: 0))
        case .bool(let b): node(nb_value(kind: Int32(b ? NB_VALUE_TRUE : NB_VALUE_FALSE), offset: 0, length: 0, integer: 0, number: 0))
        case .int(let i): node(nb_value(kind: Int32(NB_VALUE_INT), offset: 0, length: 0, integer: Int64(i), number: 0))
        case .double(let d): node(nb_value(kind: Int32(NB_VALUE_DOUBLE), offset: 0, length: 0, integer: 0, number: d))
        case .string(let s): add(string: s)
        case .array(let a):
            node(nb_value(kind: Int32(NB_VALUE_ARRAY), offset: 0, length: a.count, integer: 0, number: 0))
            for x in a { add(x) }
        case .object(let o):
            node(nb_value(kind: Int32(NB_VALUE_OBJECT), offset: 0, length: o.count, integer: 0, number: 0))
            for (k, x) in o {
                add(string: k)
                add(x)
            }
        }
    }
}
