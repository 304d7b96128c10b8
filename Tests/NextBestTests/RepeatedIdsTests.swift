// Repeated customer ids in a batch run, past the small-run dictionary into the fixed table.
import Testing
@testable import NextBest

@Suite("Repeated ids")
struct RepeatedIdsTests {
    @Test func aRepeatIsFoundWithItsFirstRecordBeforeAndAfterTheTableTakesOver() {
        var seen = RepeatedIds()
        for n in 1...10_000 { #expect(seen.earlierInput(hash: ("C\(n)").hashValue, number: n) == nil) }
        #expect(seen.earlierInput(hash: "C5".hashValue, number: 10_001) == 5)
        #expect(seen.earlierInput(hash: "C9999".hashValue, number: 10_002) == 9_999)
        #expect(seen.earlierInput(hash: "C10001".hashValue, number: 10_003) == nil)
        #expect(seen.checkedUpTo == nil)
    }

    /// A slot keeps the hash's upper bits and its lower bits choose the slot: ids alike in
    /// either half are different ids, and each repeat finds its own first record.
    @Test func idsAlikeInHalfTheirHashAreDifferentIds() {
        var seen = RepeatedIds()
        for n in 1...5_000 { #expect(seen.earlierInput(hash: n &* 7_919 &+ (n << 32), number: n) == nil) }
        let a = (1 << 40) | 7, sameSlot = (2 << 40) | 7, sameTag = (1 << 40) | 8
        #expect(seen.earlierInput(hash: a, number: 5_001) == nil)
        #expect(seen.earlierInput(hash: sameSlot, number: 5_002) == nil)
        #expect(seen.earlierInput(hash: sameTag, number: 5_003) == nil)
        #expect(seen.earlierInput(hash: sameSlot, number: 5_004) == 5_002)
        #expect(seen.earlierInput(hash: a, number: 5_005) == 5_001)
        #expect(seen.earlierInput(hash: sameTag, number: 5_006) == 5_003)
        #expect(seen.earlierInput(hash: 17 &* 7_919 &+ (17 << 32), number: 5_007) == 17)
    }
}
