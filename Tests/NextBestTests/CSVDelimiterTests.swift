// The CSV reader finds the separator from the header line.
import Testing
@testable import NextBest

@Suite struct CSVDelimiterTests {
    func delimiter(_ text: String) -> Character { Character(Unicode.Scalar(CSVSource.detectDelimiter(text))) }

    @Test func theSeparatorIsFoundFromTheHeader() {
        #expect(delimiter("id;a;b\n1;2,5;3") == ";")
        #expect(delimiter("id,a,b\n1,2,3") == ",")
        #expect(delimiter("id\ta\n1\t2") == "\t")
        #expect(delimiter("id|a\n1|2") == "|")
        #expect(delimiter("\"a;b\",c\n") == ",")
        #expect(delimiter("id\n1") == ",")
    }

    @Test func quotedCellsKeepSeparatorsQuotesAndLineBreaks() {
        let rows = CSVSource.parse("id;note\r\n1;\"a;b \"\"c\"\"\r\nd\"\r\n", separator: ";")
        #expect(rows.count == 2)
        #expect(rows[1].cells == ["1", "a;b \"c\"\r\nd"] || rows[1].cells == ["1", "a;b \"c\"\nd"])
    }
}
