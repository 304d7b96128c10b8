// RouteBatch: the work items of many plans as the C encoder writes them — names and lines in one buffer, their places in another.
import CNextBestBridge

/// Work items for departments, written by the bridge while it encodes plans: `bytes` holds
/// each item's department name and JSON line, `index` one `nb_route` (their offsets) per item.
final class RouteBatch {
    /// Department names and item lines.
    let bytes = NativeBuffer()
    /// One `nb_route` per item, in the order written.
    let index = NativeBuffer()

    /// Calls `body` with each item's department name and JSON line (newline included), in order.
    func forEach(_ body: (_ department: String, _ line: UnsafeRawBufferPointer) throws -> Void) rethrows {
        try index.withBytes { idx in
            try bytes.withBytes { all in
                let n = idx.count / MemoryLayout<nb_route>.stride
                for i in 0..<n {
                    let r = idx.loadUnaligned(fromByteOffset: i * MemoryLayout<nb_route>.stride, as: nb_route.self)
                    let dept = String(decoding: UnsafeRawBufferPointer(rebasing: all[r.dept_start..<r.dept_end]), as: UTF8.self)
                    try body(dept, UnsafeRawBufferPointer(rebasing: all[r.item_start..<r.item_end]))
                }
            }
        }
    }

    /// Forgets every item.
    func removeAll() {
        bytes.removeAll()
        index.removeAll()
    }
}

/// A chunk's work items, lent to `BatchOptions.workItems` for the length of the call.
public struct WorkItems {
    let batch: RouteBatch

    /// Calls `body` with each item's department and JSON line (newline included), in plan order.
    public func forEach(_ body: (_ department: String, _ line: UnsafeRawBufferPointer) throws -> Void) rethrows {
        try batch.forEach(body)
    }
}
