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
}
