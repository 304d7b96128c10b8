// Hex digests for content keys: the core's SHA-256 (the one that makes policy set revisions), as hex text.
import NextBest

/// SHA-256 as hex text, computed without copying the message (``SHA256/words(_:)``).
enum SHA256Hex {
    /// The first `hexDigits` hex digits of the SHA-256 of `text`'s UTF-8 bytes.
    static func of(_ text: String, hexDigits: Int = 64) -> String {
        var t = text
        let digest = t.withUTF8 { SHA256.words(UnsafeRawBufferPointer($0)) }
        let n = max(0, min(64, hexDigits))
        return String(unsafeUninitializedCapacity: n) { out in
            let hex: StaticString = "0123456789abcdef"
            let digits = hex.utf8Start
            for i in 0..<n {
                let word = digest[i / 8]
                let nibble = (word >> UInt32(28 - 4 * (i % 8))) & 15
                out[i] = digits[Int(nibble)]
            }
            return n
        }
    }
}
