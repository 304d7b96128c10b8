// A growable byte buffer shared with the C bridge: plans are written into it without copies.
import CNextBestBridge

/// Bytes written by the bridge (plans, routes, messages). Owned by one thread at a time.
final class NativeBuffer {
    var raw = nb_buf()

    init() { nb_buf_init(&raw) }
    deinit { nb_buf_free(&raw) }

    /// Number of bytes held.
    var count: Int { raw.len }
    var isEmpty: Bool { raw.len == 0 }

    func removeAll() { nb_buf_clear(&raw) }

    /// Drops bytes after `length` (used to roll back a half-written record).
    func truncate(to length: Int) { if length < raw.len { raw.len = length } }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if nb_buf_append(&raw, base, bytes.count) != 0 { fatalError("out of memory growing an output buffer") }
    }

    func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `text` as a quoted, escaped JSON string.
    func appendJSONString(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) {
                if nb_buf_append_json_string(&raw, $0.baseAddress, $0.count) != 0 { fatalError("out of memory") }
            }
        }
    }

    /// The bytes held, for reading in place.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: raw.data, count: raw.len))
    }

    var bytes: [UInt8] { withBytes { Array($0) } }
    var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }
}
