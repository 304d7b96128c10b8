// Hex digests for content keys (the core's SHA-256, the same one that makes policy set revisions).
import NextBest

/// SHA-256 as hex text.
enum SHA256Hex {
    /// The first `hexDigits` hex digits of the SHA-256 of `text`'s UTF-8 bytes.
    static func of(_ text: String, hexDigits: Int = 64) -> String {
        let digest = SHA256.hash(Array(text.utf8))
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(hexDigits)
        for b in digest {
            if out.count >= hexDigits { break }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 15)])
        }
        return String(decoding: out.prefix(hexDigits), as: UTF8.self)
    }
}
