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
    /// The most bytes the buffer may grow to (0: as many as memory allows).
    var maxBytes: Int {
        get { raw.max }
        set { raw.max = newValue }
    }

    func removeAll() { nb_buf_clear(&raw) }

    /// Drops bytes after `length` (used to roll back a half-written record).
    func truncate(to length: Int) { if length < raw.len { raw.len = length } }

    /// Appends `bytes`; false (and nothing appended) when the buffer cannot grow, so that the
    /// caller can give that one record an error instead of stopping the process.
    @discardableResult
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        return nb_buf_append(&raw, base, bytes.count) == 0
    }

    @discardableResult
    func append(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { append($0) } }

    @discardableResult
    func append(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `text` as a quoted, escaped JSON string; false when the buffer cannot grow.
    @discardableResult
    func appendJSONString(_ text: String) -> Bool {
        var text = text
        let before = raw.len
        let ok = text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { nb_buf_append_json_string(&raw, $0.baseAddress, $0.count) == 0 }
        }
        if !ok { raw.len = before }
        return ok
    }

    /// The bytes held, for reading in place.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: raw.data, count: raw.len))
    }

    var bytes: [UInt8] { withBytes { Array($0) } }
    var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }
}
