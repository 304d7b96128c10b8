// Profile readers: JSON Lines (streamed), JSON (an array or one object) and CSV, cut into
// chunks of raw JSON records that the bridge parses straight into Lua tables.
import Foundation

/// An input format for profiles.
public enum ProfileFormat: String, Sendable, CaseIterable {
    /// One JSON object per line (`.jsonl`, `.ndjson`, standard input).
    case jsonl
    /// A JSON array of objects, or one object (`.json`).
    case json
    /// A header row, then one profile per row; `a.b` columns nest (`.csv`).
    case csv

    /// The format a path's extension implies (JSON Lines for `-` and unknown extensions).
    public static func guess(path: String) -> ProfileFormat {
        let lower = path.lowercased()
        if lower.hasSuffix(".json") { return .json }
        if lower.hasSuffix(".csv") { return .csv }
        return .jsonl
    }
}

/// One input record inside a chunk: the JSON bytes to decide, or an error found while reading.
struct RecordSlice: Sendable {
    /// Byte range of the record's JSON in the chunk.
    var start: Int
    var end: Int
    /// Where the record starts in its file (1-based), for messages.
    var line: Int
    var column: Int
    /// 1-based record number in the input.
    var number: Int
    /// Set when the record could not be turned into JSON at all (e.g. a CSV row of the wrong width).
    var error: String?
}

/// A run of records sharing one byte buffer.
struct RecordChunk: Sendable {
    var bytes: [UInt8] = []
    var records: [RecordSlice] = []
    /// Whether plans of this chunk carry their input record number (`Shard.swift`).
    var inputNumbers = false
    /// The capacity blocks of this chunk's customers (policy-language.md §8.4), as `set_blocked` reads them.
    var blocked: String?
    /// Where `bytes` start in the input file, when they are a copy of it (JSON Lines); a run
    /// with capacity then reads records back from the input instead of keeping a copy.
    var fileOffset: Int?
}

/// A source of record chunks, read in order.
protocol RecordSource {
    /// The next chunk, or nil at the end of the input.
    mutating func nextChunk() throws(ProfileReadError) -> RecordChunk?
    /// Bytes read so far (for progress).
    var bytesRead: Int { get }
}

/// The input could not be read at all (not found, unreadable, a CSV without a usable header).
public struct ProfileReadError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// The message.
    public var description: String { message }

    /// An error saying `message`.
    package init(message: String) { self.message = message }
}

/// Reads a file (or standard input for `-`) in blocks.
struct ByteReader {
    let fd: Int32
    let closeWhenDone: Bool
    private(set) var bytesRead = 0
    private(set) var atEnd = false

    init(path: String) throws(ProfileReadError) {
        if path == "-" { fd = 0; closeWhenDone = false; return }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw ProfileReadError(message: "\(path) is a folder, not a file of profiles")
        }
        fd = open(path, O_RDONLY)
        if fd < 0 { throw ProfileReadError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        closeWhenDone = true
    }

    /// Appends up to `count` bytes to `buffer`; returns how many (0 at the end).
    mutating func read(into buffer: inout [UInt8], count: Int) throws(ProfileReadError) -> Int {
        let old = buffer.count
        buffer.reserveCapacity(old + count)
        var got = 0
        var failure: Int32 = 0
        buffer.append(contentsOf: repeatElement(0, count: count))
        buffer.withUnsafeMutableBytes { raw in
            while true {
                let n = Foundation.read(fd, raw.baseAddress! + old, count)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = errno } else { got = n }
                break
            }
        }
        buffer.removeLast(count - got)
        if failure != 0 { throw ProfileReadError(message: "read error: \(String(cString: strerror(failure)))") }
        if got == 0 { atEnd = true }
        bytesRead += got
        return got
    }

    /// Reads everything that is left.
    mutating func readAll() throws(ProfileReadError) -> [UInt8] {
        var all: [UInt8] = []
        while try read(into: &all, count: 1 << 20) > 0 {}
        return all
    }

    func close() { if closeWhenDone { _ = Foundation.close(fd) } }
}

/// Opens the reader for `format`.
/// With `typing` (the set's profile schema), CSV cells are typed by it.
func makeRecordSource(path: String, format: ProfileFormat, chunkBytes: Int = 256 << 10,
                      typing: CSVTyping? = nil) throws(ProfileReadError) -> any RecordSource {
    let reader = try ByteReader(path: path)
    switch format {
    case .jsonl: return JSONLinesSource(reader: reader, chunkBytes: chunkBytes)
    case .json: return try JSONArraySource(reader: reader, chunkBytes: chunkBytes)
    case .csv: return try CSVSource(reader: reader, chunkBytes: chunkBytes, typing: typing)
    }
}

private let newline = UInt8(ascii: "\n")

private func isBlank(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
    var i = start
    while i < end {
        let b = bytes[i]
        if b != 0x20 && b != 0x09 && b != 0x0D { return false }
        i += 1
    }
    return true
}

/// JSON Lines, streamed: memory stays flat however long the file is.
struct JSONLinesSource: RecordSource {
    var reader: ByteReader
    let chunkBytes: Int
    var pending: [UInt8] = []
    var line = 1
    var number = 0
    var bytesRead: Int { reader.bytesRead }

    init(reader: ByteReader, chunkBytes: Int) {
        self.reader = reader
        self.chunkBytes = chunkBytes
    }

    mutating func nextChunk() throws(ProfileReadError) -> RecordChunk? {
        // Fill until the buffer holds at least one full line and about chunkBytes, or the input ends.
        while !reader.atEnd && (pending.count < chunkBytes || pending.lastIndex(of: newline) == nil) {
            _ = try reader.read(into: &pending, count: max(chunkBytes, 64 << 10))
        }
        if pending.isEmpty { reader.close(); return nil }
        var cut = pending.count
        if !reader.atEnd, let last = pending.lastIndex(of: newline) { cut = last + 1 }
        var chunk = RecordChunk()
        chunk.bytes = Array(pending[..<cut])
        chunk.fileOffset = reader.bytesRead - pending.count
        pending.removeFirst(cut)
        chunk.bytes.withUnsafeBufferPointer { buf in
            var start = 0
            let n = buf.count
            while start < n {
                var end = start
                if let base = buf.baseAddress, let p = memchr(base + start, Int32(newline), n - start) {
                    end = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                } else {
                    end = n
                }
                if !isBlank(buf, start, end) {
                    number += 1
                    chunk.records.append(RecordSlice(start: start, end: end, line: line, column: 1, number: number))
                }
                line += 1
                start = end + 1
            }
        }
        if chunk.records.isEmpty { return try nextChunk() }
        return chunk
    }
}

/// A JSON document: an array of profiles (each element one record) or one profile object.
/// Elements are found by a structural scan, so one malformed element does not lose the others.
struct JSONArraySource: RecordSource {
    var slices: [RecordSlice] = []
    let all: [UInt8]
    var next = 0
    let chunkBytes: Int
    let bytesRead: Int

    init(reader: ByteReader, chunkBytes: Int) throws(ProfileReadError) {
        var reader = reader
        all = try reader.readAll()
        reader.close()
        bytesRead = all.count
        self.chunkBytes = chunkBytes
        slices = JSONArraySource.split(all)
    }

    /// Cuts the document into element ranges (top-level commas, outside strings and nesting).
    static func split(_ b: [UInt8]) -> [RecordSlice] {
        var i = 0, line = 1, lineStart = 0
        func skipWS() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 {
                if b[i] == 0x0A { line += 1; lineStart = i + 1 }
                i += 1
            }
        }
        skipWS()
        if i == b.count { return [] }
        if b[i] != UInt8(ascii: "[") {
            return [RecordSlice(start: i, end: b.count, line: line, column: i - lineStart + 1, number: 1)]
        }
        i += 1
        var out: [RecordSlice] = []
        while true {
            skipWS()
            if i >= b.count {
                out.append(RecordSlice(start: i, end: i, line: line, column: i - lineStart + 1, number: out.count + 1,
                                       error: "line \(line): the array of profiles is not closed with ']' (the file looks truncated)"))
                return out
            }
            if b[i] == UInt8(ascii: "]") && out.isEmpty { return out }
            let start = i, startLine = line, startCol = i - lineStart + 1
            var depth = 0, inString = false
            scan: while i < b.count {
                let c = b[i]
                if inString {
                    if c == UInt8(ascii: "\\") { i += 2; continue }
                    if c == UInt8(ascii: "\"") { inString = false }
                    if c == 0x0A { line += 1; lineStart = i + 1 }
                    i += 1
                    continue
                }
                switch c {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { break scan }
                    depth -= 1
                case UInt8(ascii: ","): if depth == 0 { break scan }
                case 0x0A: line += 1; lineStart = i + 1
                default: break
                }
                i += 1
            }
            let end = min(i, b.count)
            i = end  // an escape at the very end steps past it
            out.append(RecordSlice(start: start, end: end, line: startLine, column: startCol, number: out.count + 1))
            if i >= b.count { continue }  // reports the missing ']' next
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") {
                i += 1
                skipWS()
                if i < b.count {
                    out.append(RecordSlice(start: i, end: b.count, line: line, column: i - lineStart + 1, number: out.count + 1,
                                           error: "line \(line), column \(i - lineStart + 1): unexpected data after the closing ']'"))
                }
                return out
            }
            // '}' at depth 0: unbalanced; let the element's own parse report it.
            i += 1
        }
    }

    mutating func nextChunk() throws(ProfileReadError) -> RecordChunk? {
        guard next < slices.count else { return nil }
        var chunk = RecordChunk()
        let first = slices[next]
        var last = next
        while last + 1 < slices.count && slices[last + 1].end - first.start < chunkBytes { last += 1 }
        let base = first.start
        let end = max(slices[last].end, base)
        chunk.bytes = Array(all[base..<end])
        for s in slices[next...last] {
            var r = s
            r.start -= base
            r.end -= base
            if r.end < r.start { r.end = r.start }
            chunk.records.append(r)
        }
        next = last + 1
        return chunk
    }
}
