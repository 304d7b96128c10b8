// Times in the store: ISO-8601 text read by hand (fast, strict) and written to the second in UTC.
import Foundation

/// How the store reads and writes times.
///
/// Every time is kept as fixed-width UTC text to the second, `2026-11-03T10:00:00Z`, in both
/// backends, so text order is time order. Input may be a date (`2026-11-03`, midnight UTC) or a
/// date-time with optional seconds, fraction and zone (`Z`, `+01:00`, `+0100`); a date-time
/// without a zone is taken as UTC. Fractions of a second are dropped.
public enum StoreTime {
    /// Seconds since 1970 for an ISO-8601 date or date-time, or `nil` when it is not one.
    public static func seconds(_ text: some StringProtocol) -> Int64? {
        if let s = text.utf8.withContiguousStorageIfAvailable({ seconds(utf8: $0) }) { return s }
        return Array(text.utf8).withUnsafeBufferPointer { seconds(utf8: $0) }
    }

    /// Seconds since 1970 for an ISO-8601 date or date-time in UTF-8 bytes, or `nil`.
    public static func seconds(utf8 u: UnsafeBufferPointer<UInt8>) -> Int64? {
        var n = u.count
        while n > 0, u[n - 1] == 32 { n -= 1 }
        var i = 0
        while i < n, u[i] == 32 { i += 1 }
        let u = UnsafeBufferPointer(rebasing: u[0..<n])
        func digits(_ n: Int) -> Int? {
            guard i + n <= u.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = u[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < u.count, u[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        var hour = 0, minute = 0, second = 0, offset = 0
        if i < u.count {
            guard u[i] == 84 || u[i] == 116 || u[i] == 32 else { return nil }  // T, t or a space
            i += 1
            guard let h = digits(2), expect(58), let m = digits(2) else { return nil }
            hour = h
            minute = m
            if expect(58) {
                guard let s = digits(2) else { return nil }
                second = s
                if i < u.count, u[i] == 46 || u[i] == 44 {  // a fraction: dropped
                    i += 1
                    let start = i
                    while i < u.count, u[i] >= 48 && u[i] <= 57 { i += 1 }
                    if i == start { return nil }
                }
            }
            guard hour <= 23, minute <= 59, second <= 60 else { return nil }
            if i < u.count {
                if u[i] == 90 || u[i] == 122 {  // Z
                    i += 1
                } else if u[i] == 43 || u[i] == 45 {  // + or -
                    let sign = u[i] == 45 ? -1 : 1
                    i += 1
                    guard let oh = digits(2) else { return nil }
                    _ = expect(58)
                    guard let om = digits(2), oh <= 23, om <= 59 else { return nil }
                    offset = sign * (oh * 3600 + om * 60)
                } else {
                    return nil
                }
            }
        }
        guard i == u.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
    }

    /// The `Date` for an ISO-8601 date or date-time, or `nil`.
    public static func date(_ text: some StringProtocol) -> Date? {
        seconds(text).map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    /// The stored text of a time: `yyyy-MM-ddTHH:mm:ssZ` in UTC.
    public static func text(_ date: Date) -> String {
        text(seconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// The stored text for seconds since 1970.
    public static func text(seconds: Int64) -> String {
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let rest = Int(seconds - Int64(days) * 86_400)
        let (y, m, d) = civil(fromDays: days)
        // Written in place into the string's own storage: no array, no intermediate strings.
        return String(unsafeUninitializedCapacity: 20) { out in
            func put(_ v: Int, _ width: Int, at start: Int) {
                var x = v
                for k in stride(from: start + width - 1, through: start, by: -1) { out[k] = UInt8(48 + x % 10); x /= 10 }
            }
            put(y, 4, at: 0); out[4] = 45; put(m, 2, at: 5); out[7] = 45; put(d, 2, at: 8); out[10] = 84
            put(rest / 3600, 2, at: 11); out[13] = 58; put(rest / 60 % 60, 2, at: 14); out[16] = 58
            put(rest % 60, 2, at: 17); out[19] = 90
            return 20
        }
    }

    /// The stored text for any ISO-8601 input, or `nil` when it is not a date or date-time.
    public static func normalized(_ text: some StringProtocol) -> String? {
        seconds(text).map { self.text(seconds: $0) }
    }

    /// The `Date` of stored text (always valid when the store wrote it).
    static func stored(_ text: String) -> Date {
        if let s = text.utf8.withContiguousStorageIfAvailable(fixedWidthSeconds) ?? nil {
            return Date(timeIntervalSince1970: TimeInterval(s))
        }
        return date(text) ?? Date(timeIntervalSince1970: 0)
    }

    /// The `Date` of stored text given as UTF-8 bytes.
    static func stored(utf8 u: UnsafeRawBufferPointer) -> Date {
        let b = u.bindMemory(to: UInt8.self)
        if let s = fixedWidthSeconds(b) ?? seconds(utf8: b) { return Date(timeIntervalSince1970: TimeInterval(s)) }
        return Date(timeIntervalSince1970: 0)
    }

    /// Seconds since 1970 of the stored form `yyyy-MM-ddTHH:mm:ssZ` read in place (no copy), or
    /// `nil` for any other text (which then goes through `seconds`).
    private static func fixedWidthSeconds(_ u: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard u.count == 20, u[4] == 45, u[7] == 45, u[10] == 84, u[13] == 58, u[16] == 58, u[19] == 90 else { return nil }
        var ok = true
        func n(_ at: Int, _ width: Int) -> Int {
            var v = 0
            for k in at..<(at + width) {
                let c = u[k]
                if c < 48 || c > 57 { ok = false }
                v = v * 10 + Int(c &- 48)
            }
            return v
        }
        let year = n(0, 4), month = n(5, 2), day = n(8, 2), hour = n(11, 2), minute = n(14, 2), second = n(17, 2)
        guard ok, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour <= 23, minute <= 59,
              second <= 60 else { return nil }
        return Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    private static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days-from-civil and its inverse.
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
