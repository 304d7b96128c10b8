// The profile readers (JSON Lines, JSON, CSV): how a file is cut into records, where each
// record is placed (line, column), and what each reader does with odd input.
import Foundation
@testable import NextBest
import Testing

/// Writes `bytes` to a temporary file and reads its records with a small chunk size, so that
/// records cross chunk boundaries.
func readRecords(_ bytes: [UInt8], _ format: ProfileFormat, chunkBytes: Int = 16) throws -> [ReadRecord] {
    let path = NSTemporaryDirectory() + "nextbest-reader-" + UUID().uuidString + "." + format.rawValue
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    defer { try? FileManager.default.removeItem(atPath: path) }
    var source = try makeRecordSource(path: path, format: format, chunkBytes: chunkBytes)
    var out: [ReadRecord] = []
    while let chunk = try source.nextChunk() {
        for r in chunk.records {
            out.append(ReadRecord(text: String(decoding: chunk.bytes[r.start..<r.end], as: UTF8.self),
                                  line: r.line, column: r.column, number: r.number, error: r.error))
        }
    }
    return out
}

func readRecords(_ text: String, _ format: ProfileFormat, chunkBytes: Int = 16) throws -> [ReadRecord] {
    try readRecords(Array(text.utf8), format, chunkBytes: chunkBytes)
}

/// One record as a reader hands it on.
struct ReadRecord: Equatable {
    var text: String, line: Int, column: Int, number: Int, error: String?
}

@Suite("Profile readers")
struct ProfileReaderTests {
    @Suite("JSON Lines")
    struct JSONLines {
        @Test func anEmptyFileHasNoRecords() throws {
            #expect(try readRecords("", .jsonl).isEmpty)
            #expect(try readRecords("\n\n  \t\n", .jsonl).isEmpty)
        }

        @Test func blankLinesAreSkippedButCountedInLineNumbers() throws {
            let r = try readRecords("{\"id\":1}\n\n   \n{\"id\":2}\n", .jsonl)
            #expect(r.map(\.text) == [#"{"id":1}"#, #"{"id":2}"#])
            #expect(r.map(\.line) == [1, 4])
            #expect(r.map(\.number) == [1, 2])
        }

        @Test func theLastLineNeedsNoNewline() throws {
            #expect(try readRecords("{\"id\":1}\n{\"id\":2}", .jsonl).map(\.text) == [#"{"id":1}"#, #"{"id":2}"#])
        }

        @Test func recordsLongerThanAChunkStayWhole() throws {
            let long = "{\"id\":\"" + String(repeating: "x", count: 1000) + "\"}"
            let r = try readRecords(long + "\n" + long + "\n{\"id\":3}\n", .jsonl, chunkBytes: 7)
            #expect(r.map(\.text) == [long, long, #"{"id":3}"#])
            #expect(r.map(\.line) == [1, 2, 3])
        }

        @Test func crlfLineEndsLeaveTheCarriageReturnForTheJSONParserToSkip() throws {
            let r = try readRecords("{\"id\":1}\r\n\r\n{\"id\":2}\r\n", .jsonl)
            #expect(r.map(\.text) == ["{\"id\":1}\r", "{\"id\":2}\r"])
            #expect(r.map(\.line) == [1, 3])
        }

        @Test func nulAndInvalidUTF8BytesAreHandedOnForTheParserToReport() throws {
            let bytes: [UInt8] = Array("{\"id\":\"a\0b\"}\n{\"id\":\"".utf8) + [0xFF] + Array("\"}\n".utf8)
            let r = try readRecords(bytes, .jsonl)
            #expect(r.count == 2)
            #expect(r[0].text.utf8.contains(0))
            #expect(r.allSatisfy { $0.error == nil })
        }
    }

    @Suite("JSON")
    struct JSONDocument {
        @Test func anArrayGivesOneRecordPerElementWithItsPlace() throws {
            let r = try readRecords("[\n  {\"id\":1},\n  {\"id\":2}\n]\n", .json)
            // An element runs to the next comma or bracket: trailing blanks stay, the parser skips them.
            #expect(r.map(\.text) == [#"{"id":1}"#, "{\"id\":2}\n"])
            #expect(r.map(\.line) == [2, 3])
            #expect(r.map(\.column) == [3, 3])
        }

        @Test func oneObjectIsOneRecord() throws {
            #expect(try readRecords("  {\"id\":1}\n", .json).map(\.text) == ["{\"id\":1}\n"])
        }

        @Test func emptyInputAndAnEmptyArrayHaveNoRecords() throws {
            #expect(try readRecords("", .json).isEmpty)
            #expect(try readRecords(" \r\n ", .json).isEmpty)
            #expect(try readRecords("[]", .json).isEmpty)
            #expect(try readRecords("[ \n ]", .json).isEmpty)
        }

        @Test func bracketsCommasAndEscapedQuotesInsideStringsDoNotCutARecord() throws {
            let first = #"{"id":"a,]}[{","note":"say \"],\" twice","tags":["x,y",{"k":"]"}]}"#
            let r = try readRecords("[" + first + ",{\"id\":2}]", .json)
            #expect(r.map(\.text) == [first, #"{"id":2}"#])
        }

        @Test func crlfLinesAreCountedOnce() throws {
            let r = try readRecords("[\r\n{\"id\":1},\r\n\r\n{\"id\":2}]", .json)
            #expect(r.map(\.line) == [2, 4])
        }

        @Test func aTruncatedArrayKeepsItsRecordsAndSaysWhatIsMissing() throws {
            let r = try readRecords("[{\"id\":1},\n{\"id\":2}", .json)
            #expect(r.map(\.text).prefix(2) == [#"{"id":1}"#, #"{"id":2}"#])
            #expect(r.last?.error == "line 2: the array of profiles is not closed with ']' (the file looks truncated)")
        }

        @Test func dataAfterTheClosingBracketIsAnErrorRecord() throws {
            let r = try readRecords("[{\"id\":1}]\n x", .json)
            #expect(r.count == 2)
            #expect(r[1].error == "line 2, column 2: unexpected data after the closing ']'")
        }

        @Test func anEscapeAtTheVeryEndDoesNotReadPastTheInput() throws {
            let r = try readRecords("[\"\\", .json)
            #expect(r.first?.text == "\"\\")
            #expect(r.last?.error != nil)
        }
    }

    @Suite("CSV")
    struct CSV {
        @Test func rowsBecomeObjectsWithNestedColumnsNumbersAndBooleans() throws {
            let r = try readRecords("id,consent.email,consent.phone,revenue,score,name\nC1,true,false,82000,0.5,Ann\n", .csv)
            #expect(r.map(\.text) == [#"{"consent":{"email":true,"phone":false},"id":"C1","name":"Ann","revenue":82000,"score":0.5}"#])
            #expect(r[0].line == 2)
        }

        @Test func emptyCellsAreLeftOut() throws {
            #expect(try readRecords("id,a,b\n1,,x\n", .csv).map(\.text) == [#"{"b":"x","id":"1"}"#])
        }

        @Test func crlfRowsReadLikeLfRows() throws {
            let lf = try readRecords("id,name\n1,Ann\n2,Bob\n", .csv)
            let crlf = try readRecords("id,name\r\n1,Ann\r\n2,Bob\r\n", .csv)
            #expect(crlf == lf)
        }

        @Test func quotedCellsKeepCommasQuotesAndLineBreaks() throws {
            let r = try readRecords("id,note\n1,\"a, \"\"b\"\"\nc\"\n2,x\n", .csv)
            #expect(r.map(\.text) == [#"{"id":"1","note":"a, \"b\"\nc"}"#, #"{"id":"2","note":"x"}"#])
            #expect(r.map(\.line) == [2, 4])
        }

        @Test func textThatOnlyLooksLikeANumberStaysText() throws {
            let r = try readRecords("id,zip,code,big\n1,007,1e,123456789012345678901234567890\n", .csv)
            #expect(r.map(\.text) == [#"{"big":1.2345678901234568e+29,"code":"1e","id":"1","zip":"007"}"#])
        }

        @Test func aRowOfTheWrongWidthIsAnErrorRecordAndTheOthersRead() throws {
            let r = try readRecords("id,a\n1,x\n2\n3,z,extra\n4,w\n", .csv)
            #expect(r.map(\.error) == [nil, "line 3: 1 cell, but the header has 2 columns",
                                       "line 4: 3 cells, but the header has 2 columns", nil])
            #expect(r.map(\.number) == [1, 2, 3, 4])
        }

        @Test func invalidUTF8SpoilsOnlyItsOwnRow() throws {
            let bytes: [UInt8] = Array("id,name\n1,Ann\n2,B".utf8) + [0xFF, 0xFE] + Array("b\n3,Cy\n".utf8)
            let r = try readRecords(bytes, .csv)
            #expect(r.map(\.error) == [nil, "line 3: the row has bytes that are not valid UTF-8", nil])
            #expect(r[2].text == #"{"id":"3","name":"Cy"}"#)
        }

        @Test func aNulByteInACellIsEscapedInTheRecord() throws {
            let r = try readRecords(Array("id,name\n1,a".utf8) + [0] + Array("b\n".utf8), .csv)
            #expect(r.map(\.text) == [#"{"id":"1","name":"a\u0000b"}"#])
        }

        @Test func anEmptyFileOrAHeaderAloneHasNoRecords() throws {
            #expect(try readRecords("", .csv).isEmpty)
            #expect(try readRecords("id,name\n", .csv).isEmpty)
            #expect(try readRecords("id,name\n\n\n", .csv).isEmpty)
        }

        @Test func aHeaderWithAnEmptyOrRepeatedNameCannotBeRead() throws {
            #expect { try readRecords("id,,x\n1,2,3\n", .csv) } throws: {
                "\($0)" == "CSV header (line 1): a column has no name"
            }
            #expect { try readRecords("id,a,a\n1,2,3\n", .csv) } throws: {
                "\($0)" == "CSV header (line 1): column 'a' appears twice"
            }
        }
    }
}
