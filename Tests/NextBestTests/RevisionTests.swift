// Revisions of policy sets and decision ids.
import Foundation
import Testing
@testable import NextBest

@Suite struct RevisionTests {
    @Test func sha256MatchesKnownDigests() {
        func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array(String(repeating: "a", count: 1000).utf8)
        #expect(hex(SHA256.hash(long)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func sameFilesGiveTheSameRevisionInAnyFolder() throws {
        let fm = FileManager.default
        let a = fm.temporaryDirectory.appendingPathComponent("rev-a-\(UUID())").path
        let b = fm.temporaryDirectory.appendingPathComponent("rev-b-\(UUID())").path
        defer { try? fm.removeItem(atPath: a); try? fm.removeItem(atPath: b) }
        for dir in [a, b] {
            try fm.createDirectory(atPath: dir + "/tests", withIntermediateDirectories: true)
            try "action \"x\" { department = \"d\", channel = \"email\" }\n".write(toFile: dir + "/a.lua", atomically: true, encoding: .utf8)
        }
        try "-- a test file\n".write(toFile: b + "/tests/x_test.lua", atomically: true, encoding: .utf8)
        let ra = try PolicySet(directory: a).revision
        #expect(ra.count == 16)
        #expect(ra == (try PolicySet(directory: b).revision))
        try "action \"x\" { department = \"d\", channel = \"sms\" }\n".write(toFile: b + "/a.lua", atomically: true, encoding: .utf8)
        #expect(ra != (try PolicySet(directory: b).revision))
    }

    @Test func decisionIdsAreUniqueAndSortInTheOrderMade() {
        let g = DecisionIDGenerator()
        var ids: [String] = []
        for i in 0..<2000 { ids.append(g.next(millis: 1_790_000_000_000 + UInt64(i / 100))) }
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.count == 26 })
        #expect(g.next(millis: 1) > ids.last!)
    }
}
