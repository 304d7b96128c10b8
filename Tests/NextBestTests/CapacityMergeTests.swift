// Capacity across customers (policy-language.md §8.4): the first decisions kept in the output file itself and rewritten in place, or in a spill file; both give the plans a plain stream gets.
import Foundation
import Testing
@testable import NextBest

/// The engine tests' set, with 40 calls a run: enough customers lose one to change many lines.
private let setOf40Calls = capacitySet.replacingOccurrences(of: "capacity = 2", with: "capacity = 40")

/// A deterministic generator for the random cases.
private struct Mix: RandomNumberGenerator {
    var seed: UInt64
    mutating func next() -> UInt64 {
        seed &+= 0x9E37_79B9_7F4A_7C15
        var z = seed
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("§8.4 capacity: the first decisions and the merge")
struct CapacityMergeTests {
    /// Lines of random lengths, a random choice of them replaced by shorter or much longer
    /// ones, merged in place in one byte array (reads see what earlier writes left there):
    /// the result is the lines with their replacements, whatever the block size.
    @Test(arguments: [7, 64, 4096])
    func aMergeInPlaceNeverReadsWhatItOverwrote(block: Int) throws {
        var g = Mix(seed: UInt64(block))
        var lines: [[UInt8]] = []
        for i in 0..<300 { lines.append(Array("line \(i) \(String(repeating: "x", count: Int.random(in: 0...60, using: &g)))\n".utf8)) }
        let redone = try SpillFile(directory: NSTemporaryDirectory())
        var changes: [LineChange] = [], expected: [UInt8] = [], offset = 0
        for (i, line) in lines.enumerated() {
            if Int.random(in: 0..<3, using: &g) == 0 {
                let new = Array("new \(i) \(String(repeating: "y", count: Int.random(in: 0...400, using: &g)))\n".utf8)
                changes.append(LineChange(offset: offset, count: line.count, newOffset: redone.size, newCount: new.count))
                try new.withUnsafeBytes { try redone.append($0) }
                expected += new
            } else {
                expected += line
            }
            offset += line.count
        }
        let first = lines.flatMap { $0 }
        let file = Bytes(first)
        var merge = LineMerge(size: first.count, inPlace: true, read: file.read, write: file.write)
        merge.block = block
        let start = changes[0].offset
        let end = try merge.run(from: start, changes: changes, redone: redone)
        #expect(end == expected.count)
        let got = Array(file.bytes[..<end])
        let differs = (0..<min(got.count, expected.count)).first { got[$0] != expected[$0] }
            ?? (got.count == expected.count ? nil : min(got.count, expected.count))
        #expect(differs == nil, "the merged bytes differ from byte \(differs ?? 0) on")
        #expect(LineMerge.maximumAhead(changes) > 0)
    }

    /// The same plans whether they stream to `output`, wait in the output file (rewritten in
    /// place), or wait there with a read-ahead too small to hold the lines' growth.
    @Test(arguments: [nil, Int.max, 0])
    func theOutputFileHoldsTheSamePlansAStreamGets(readAhead: Int?) throws {
        let engine = try Fixture(["a.lua": setOf40Calls]).engine()
        let profiles = (0..<3000).map { #"{"id":"C\#($0)","score":\#(($0 * 37) % 101),"pad":"\#(String(repeating: "p", count: $0 % 50))"}"# }
        let dir = try scratchDirectory()
        let input = dir + "/p.jsonl"
        try (profiles.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let streamed = LockedBytes()
        let plain = try engine.run(profiles: input, options: BatchOptions(jobs: 2), output: { streamed.append($0) })
        guard let readAhead else {
            #expect(plain.capacity?.customersMoved ?? 0 > 1000)
            return
        }
        // A file that already holds a header the plans follow: it stays, and the plans come after it.
        let path = dir + "/out.jsonl"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        _ = "kept\n".withCString { write(fd, $0, 5) }
        var options = BatchOptions(jobs: 2)
        options.outputDescriptor = fd
        options.capacityReadAhead = readAhead
        let called = LockedBytes()
        let summary = try engine.run(profiles: input, options: options, output: { called.append($0) })
        #expect(called.text.isEmpty, "with an output file the plans do not go through output")
        #expect(summary.capacity == plain.capacity)
        _ = "end\n".withCString { write(fd, $0, 4) }  // the descriptor's offset is after the plans
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "kept\n" + streamed.text + "end\n")
    }

    /// JSON Lines records are read back from the input file; a CSV file's rows and a JSON
    /// array's elements are kept aside in a spill file: the same plans either way.
    @Test(arguments: [ProfileFormat.csv, .json])
    func recordsNotReadBackFromTheInputAreKeptAside(format: ProfileFormat) throws {
        let engine = try Fixture(["a.lua": setOf40Calls]).engine()
        let rows = (0..<3000).map { (id: "C\($0)", score: ($0 * 37) % 101) }
        let dir = try scratchDirectory()
        try (rows.map { #"{"id":"\#($0.id)","score":\#($0.score)}"# }.joined(separator: "\n") + "\n")
            .write(toFile: dir + "/p.jsonl", atomically: true, encoding: .utf8)
        let other = format == .csv ? "id,score\n" + rows.map { "\($0.id),\($0.score)" }.joined(separator: "\n") + "\n"
            : "[" + rows.map { #"{"id":"\#($0.id)","score":\#($0.score)}"# }.joined(separator: ",\n") + "]\n"
        try other.write(toFile: dir + "/p.other", atomically: true, encoding: .utf8)
        let lines = LockedBytes(), others = LockedBytes()
        let a = try engine.run(profiles: dir + "/p.jsonl", options: BatchOptions(jobs: 2), output: { lines.append($0) })
        let b = try engine.run(profiles: dir + "/p.other", options: BatchOptions(jobs: 2, format: format), output: { others.append($0) })
        #expect(a.capacity?.customersMoved ?? 0 > 1000)
        #expect(a.capacity == b.capacity)
        #expect(others.text == lines.text)
    }

    @Test func onlyARegularFileWrittenAtItsEndIsRewrittenInPlace() throws {
        let dir = try scratchDirectory()
        let fresh = open(dir + "/a", O_WRONLY | O_CREAT, 0o644)
        defer { close(fresh) }
        #expect(InPlaceOutput(descriptor: fresh) != nil)
        let appending = open(dir + "/b", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        defer { close(appending) }
        #expect(InPlaceOutput(descriptor: appending) == nil, "appends ignore the offsets a rewrite needs")
        let midway = open(dir + "/c", O_RDWR | O_CREAT, 0o644)
        defer { close(midway) }
        _ = "old text\n".withCString { write(midway, $0, 9) }
        lseek(midway, 0, SEEK_SET)
        #expect(InPlaceOutput(descriptor: midway) == nil, "bytes after the offset would be lost")
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        #expect(InPlaceOutput(descriptor: ends[1]) == nil)
        let devnull = open("/dev/null", O_WRONLY)
        defer { close(devnull) }
        #expect(InPlaceOutput(descriptor: devnull) == nil)
    }
}

/// A new empty folder.
func scratchDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "nextbest-merge-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A file in memory for the merge: reads what is there, writes over it or past its end.
private final class Bytes: @unchecked Sendable {
    var bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(_ into: UnsafeMutableRawPointer, _ count: Int, _ offset: Int) throws -> Int {
        let n = max(0, min(count, bytes.count - offset))
        bytes.withUnsafeBytes { into.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        return n
    }

    func write(_ b: UnsafeRawBufferPointer, _ offset: Int) throws {
        if bytes.count < offset + b.count { bytes += [UInt8](repeating: 0, count: offset + b.count - bytes.count) }
        bytes.withUnsafeMutableBytes { ($0.baseAddress! + offset).copyMemory(from: b.baseAddress!, byteCount: b.count) }
    }
}
