// Sharded batch runs: which input records one of N shards decides (FNV-1a 64 of the customer id).
import CNextBestBridge
import Foundation

/// One shard of N: a batch run with a shard decides only the records that belong to it, so N
/// runs over the same input (on N machines, or as N Kubernetes Indexed Job pods) together
/// decide every record exactly once.
///
/// A record belongs to the shard of its customer id: `fnv1a64(id text) % count == index`, where
/// the id text is the top-level `id` field exactly as written (a string's characters, a whole
/// number's digits; the last `id` when a record has two). A record in which no such id can be
/// found (not a JSON object, no `id`, an `id` of another type, a line broken before its `id`)
/// belongs to shard `(input number - 1) % count`, so its error record is still written once.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// This shard, 0-based.
    public let index: Int
    /// How many shards the input is split into.
    public let count: Int

    /// The shard `index` of `count` (`0 <= index < count`).
    public init(index: Int, count: Int) throws(ShardError) {
        guard count >= 1 else { throw ShardError(message: "the number of shards must be 1 or more, not \(count)") }
        guard index >= 0 && index < count else {
            throw ShardError(message: "shard \(index) does not exist: with \(count) shard\(count == 1 ? "" : "s") the index is 0 to \(count - 1)")
        }
        self.index = index
        self.count = count
    }

    /// Reads `I/N`, or `auto/N` with `I` from the `JOB_COMPLETION_INDEX` environment variable
    /// (set by Kubernetes Indexed Jobs).
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ShardError) -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw ShardError(message: "'\(text)' is not a shard: write INDEX/COUNT (e.g. 0/4) or auto/COUNT")
        }
        guard let count = Int(parts[1]) else {
            throw ShardError(message: "'\(text)': the number of shards '\(parts[1])' is not a whole number")
        }
        let index: Int
        if parts[0] == "auto" {
            guard let value = environment["JOB_COMPLETION_INDEX"] else {
                throw ShardError(message: "--shard auto/\(parts[1]) reads the shard index from JOB_COMPLETION_INDEX, which is not set (Kubernetes sets it in Indexed Jobs; elsewhere give the index: --shard 0/\(parts[1]))")
            }
            guard let i = Int(value.trimmingCharacters(in: .whitespaces)) else {
                throw ShardError(message: "JOB_COMPLETION_INDEX is '\(value)', not a whole number")
            }
            index = i
        } else {
            guard let i = Int(parts[0]) else {
                throw ShardError(message: "'\(text)': the shard index '\(parts[0])' is not a whole number (or 'auto')")
            }
            index = i
        }
        return try Shard(index: index, count: count)
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }

    /// The shard a customer id's text belongs to.
    public static func of(id: some Collection<UInt8>, count: Int) -> Int {
        Int(fnv1a64(id) % UInt64(count))
    }

    /// Whether a record belongs to this shard.
    func owns(record: UnsafeRawBufferPointer, number: Int) -> Bool {
        if count == 1 { return true }
        if let id = ShardKey.idText(of: record) { return Shard.of(id: id, count: count) == index }
        return (number - 1) % count == index
    }

    /// Whether the record `r` of a chunk whose bytes are `all` belongs to this shard: by its id,
    /// or by its input number when it could not be read.
    func owns(_ r: RecordSlice, in all: UnsafeRawBufferPointer) -> Bool {
        if count == 1 { return true }
        guard r.error == nil else { return (r.number - 1) % count == index }
        let end = max(r.start, min(r.end, all.count))
        return owns(record: UnsafeRawBufferPointer(rebasing: all[r.start..<end]), number: r.number)
    }

    /// FNV-1a, 64 bits.
    public static func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }
}

/// A `--shard` value that cannot be used.
public struct ShardError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, in plain words.
    public var message: String
    /// The message.
    public var description: String { message }
}

/// Finds a record's customer id text without parsing the whole record into values.
enum ShardKey {
    /// The text of the record's top-level `id` (the last one that is not `null`, as the engine
    /// reads it) when it is a string or a whole number of at most 18 digits; `nil` otherwise.
    static func idText(of b: UnsafeRawBufferPointer) -> [UInt8]? {
        if let base = b.baseAddress {  // the common case, in C; escapes, nulls and broken records below
            var start = 0, end = 0, kind: Int32 = 0
            switch nb_find_id(base.assumingMemoryBound(to: CChar.self), b.count, &start, &end, &kind) {
            case 0: return nil
            case 1:
                let value = UnsafeRawBufferPointer(rebasing: b[start..<end])
                return kind == 1 ? Array(value) : wholeNumber(value)
            default: break
            }
        }
        return idTextCarefully(of: b)
    }

    /// ``idText(of:)`` read byte by byte in Swift, whatever the record holds.
    static func idTextCarefully(of b: UnsafeRawBufferPointer) -> [UInt8]? {
        var i = 0
        let n = b.count
        func ws() { while i < n, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        /// Past a string starting at `i` (its quote); returns whether it had escapes, or nil when unterminated.
        func string() -> Bool? {
            i += 1
            var escaped = false
            while i < n {
                let c = b[i]
                if c == UInt8(ascii: "\"") { i += 1; return escaped }
                if c == UInt8(ascii: "\\") { escaped = true; i += 2; continue }
                i += 1
            }
            return nil
        }
        /// Past any value starting at `i`; false when the record ends inside it.
        func skipValue() -> Bool {
            guard i < n else { return false }
            if b[i] == UInt8(ascii: "\"") { return string() != nil }
            if b[i] == UInt8(ascii: "{") || b[i] == UInt8(ascii: "[") {
                var depth = 0
                while i < n {
                    switch b[i] {
                    case UInt8(ascii: "\""): if string() == nil { return false }; continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 { i += 1; return true }
                    default: break
                    }
                    i += 1
                }
                return false
            }
            while i < n, b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: "}"), b[i] != UInt8(ascii: "]") { i += 1 }
            return true
        }
        func decoded(_ start: Int, _ end: Int) -> [UInt8]? {
            guard case .string(let s)? = try? JSONValue(parsing: String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<end]), as: UTF8.self)) else { return nil }
            return Array(s.utf8)
        }
        ws()
        guard i < n, b[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var found: [UInt8]? = nil
        while true {
            ws()
            guard i < n, b[i] == UInt8(ascii: "\"") else { return found }
            let keyStart = i
            guard let keyEscaped = string() else { return found }
            let isID = keyEscaped ? decoded(keyStart, i) == Array("id".utf8)
                                  : i - keyStart == 4 && b[keyStart + 1] == UInt8(ascii: "i") && b[keyStart + 2] == UInt8(ascii: "d")
            ws()
            guard i < n, b[i] == UInt8(ascii: ":") else { return found }
            i += 1
            ws()
            guard i < n else { return found }
            if isID {
                let start = i
                switch b[i] {
                case UInt8(ascii: "\""):
                    guard let escaped = string() else { return found }
                    found = escaped ? decoded(start, i) : Array(UnsafeRawBufferPointer(rebasing: b[(start + 1)..<(i - 1)]))
                case UInt8(ascii: "n"):  // null leaves the field as it was (the engine drops nulls)
                    guard skipValue() else { return found }
                default:
                    guard skipValue() else { return found }
                    var end = i
                    while end > start, b[end - 1] == 0x20 || b[end - 1] == 0x0A || b[end - 1] == 0x0D || b[end - 1] == 0x09 { end -= 1 }
                    found = wholeNumber(UnsafeRawBufferPointer(rebasing: b[start..<end]))
                }
            } else if !skipValue() {
                return found
            }
            ws()
            guard i < n, b[i] == UInt8(ascii: ",") else { return found }
            i += 1
        }
    }

    /// The digits of a whole number as the engine reads ids (`-`?, no leading zero, at most 18
    /// digits, no fraction or exponent); `nil` for anything else.
    static func wholeNumber(_ t: UnsafeRawBufferPointer) -> [UInt8]? {
        var digits = t[...]
        if digits.first == UInt8(ascii: "-") { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if digits.count > 1 && digits.first == 0x30 { return nil }
        return Array(t)
    }
}

/// Counts the records a sharded run left to other shards. Used by one thread at a time
/// (the reader, under the batch run's lock).
final class SkippedRecords: @unchecked Sendable {
    var count = 0
}

/// A record source that keeps only one shard's records, and marks chunks whose plans should
/// carry their input record number.
struct ShardFilterSource: RecordSource {
    var base: any RecordSource
    let shard: Shard?
    let inputNumbers: Bool
    let skipped: SkippedRecords

    var bytesRead: Int { base.bytesRead }

    mutating func nextChunk() throws(ProfileReadError) -> RecordChunk? {
        while var chunk = try base.nextChunk() {
            chunk.inputNumbers = inputNumbers
            if let shard, shard.count > 1 {
                let before = chunk.records.count
                chunk.records = chunk.bytes.withUnsafeBytes { all in chunk.records.filter { shard.owns($0, in: all) } }
                skipped.count += before - chunk.records.count
                if chunk.records.isEmpty { continue }
            }
            return chunk
        }
        return nil
    }
}

extension Engine {
    /// Appends `"input":N` to the plan just written (it ends in `}\n`), for runs whose outputs
    /// are merged back into input order later (sharded runs, Spark partitions).
    static func tagInputNumber(_ r: ChunkResult, number: Int) {
        let n = r.out.count
        let ends = r.out.withBytes { n >= 2 && $0[n - 2] == UInt8(ascii: "}") && $0[n - 1] == 0x0A }
        guard ends else { return }
        r.out.truncate(to: n - 2)
        r.out.append(",\"input\":\(number)}\n")
    }
}
