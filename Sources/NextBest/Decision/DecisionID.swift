// Decision ids: time-ordered, unique identifiers for recorded plans (ULID-shaped).
import Foundation
import Synchronization

/// Makes decision ids: 26 characters of Crockford base32, a 48-bit millisecond time followed by
/// 80 random bits, so ids sort by the time they were made. Within one generator, ids made in
/// the same millisecond still sort in the order they were made (the random part counts up).
public final class DecisionIDGenerator: Sendable {
    private struct Last { var millis: UInt64 = 0; var high: UInt16 = 0; var low: UInt64 = 0 }
    private let last = Mutex(Last())

    /// A new generator.
    public init() {}

    /// The length of every id, in characters (and UTF-8 bytes).
    public static let length = 26

    /// The next id, for the current time.
    public func next() -> String {
        next(millis: UInt64(max(0, Date().timeIntervalSince1970 * 1000)))
    }

    /// The next id for a time in milliseconds since 1970 (never earlier than the previous id).
    public func next(millis now: UInt64) -> String {
        let (ms, high, low) = last.withLock { l -> (UInt64, UInt16, UInt64) in
            if now <= l.millis {
                l.low &+= 1
                if l.low == 0 { l.high &+= 1 }
            } else {
                l.millis = now
                var g = SystemRandomNumberGenerator()
                l.high = UInt16.random(in: 0...UInt16.max, using: &g) & 0x7fff  // room to count up
                l.low = g.next()
            }
            return (l.millis, l.high, l.low)
        }
        return DecisionIDGenerator.encode(millis: ms, high: high, low: low)
    }

    static func encode(millis: UInt64, high: UInt16, low: UInt64) -> String {
        let alphabet: StaticString = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        return String(unsafeUninitializedCapacity: length) { out in
            let a = alphabet.utf8Start
            // 48 bits of time in 10 characters (the first holds 3 bits).
            var t = millis & 0xFFFF_FFFF_FFFF
            for i in (0..<10).reversed() { out[i] = a[Int(t & 31)]; t >>= 5 }
            // 80 random bits in 16 characters: 16 high bits then 64 low bits.
            var lo = low
            var hi = UInt64(high)
            for i in (10..<26).reversed() {
                out[i] = a[Int(lo & 31)]
                lo = (lo >> 5) | ((hi & 31) << 59)
                hi >>= 5
            }
            return length
        }
    }
}
