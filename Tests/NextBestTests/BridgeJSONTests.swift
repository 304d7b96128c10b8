// The C JSON reader (json_in.c) and writer (json_out.c), reached through the engine: a profile
// value goes in as JSON, a policy copies it into its action's params, and the plan's bytes
// show what the reader made of it and how the writer puts it back.
import Foundation
import NextBest
import Testing

/// An engine whose one policy copies the profile's `v` into its params (and its `id` is the
/// plan's customer), with a second action for values a policy makes itself.
private let echo: Engine = {
    let f = try! Fixture([
        "a.lua": """
            action "echo" { department = "d", channel = "email" }
            policy "echo" { action = "echo", priority = 1, params = function(c) return { v = c.v } end }
            """,
    ])
    return try! f.engine()
}()

/// The plan line the batch path writes for one JSON Lines record, without its newline.
private func planLine(_ record: [UInt8]) throws -> String {
    let path = NSTemporaryDirectory() + "nextbest-bridge-" + UUID().uuidString + ".jsonl"
    FileManager.default.createFile(atPath: path, contents: Data(record + [0x0A]))
    defer { try? FileManager.default.removeItem(atPath: path) }
    var out: [UInt8] = []
    _ = try echo.run(profiles: path, options: BatchOptions(jobs: 1), output: { out += $0 })
    return String(decoding: out.dropLast(), as: UTF8.self)
}

private func planLine(_ record: String) throws -> String { try planLine(Array(record.utf8)) }

/// The `v` the plan shows for a profile whose `v` is `json`, as JSON text.
private func echoed(_ json: String) throws -> String {
    let line = try planLine(#"{"id":"c","v":"# + json + "}")
    guard let r = line.range(of: #""params":{"v":"#), let end = line.range(of: "}}],\"suppressed\"") else {
        return line.contains("\"params\":{}") ? "absent" : "no plan: " + line
    }
    return String(line[r.upperBound..<end.lowerBound])
}

/// The message `decide(json:)` gives for a record that cannot be read.
private func refusal(_ bytes: [UInt8]) -> String {
    do {
        _ = try echo.decide(json: bytes)
        return "accepted"
    } catch {
        return error.message
    }
}

private func refusal(_ text: String) -> String { refusal(Array(text.utf8)) }

@Suite("C JSON reader and writer")
struct BridgeJSONTests {
    @Suite("Strings")
    struct Strings {
        @Test func simpleEscapesReadAndAreWrittenBackEscaped() throws {
            #expect(try echoed(#""q\" s\\ sl\/ b\b f\f n\n r\r t\t""#) == #""q\" s\\ sl/ b\u0008 f\u000c n\n r\r t\t""#)
        }

        @Test func unicodeEscapesBecomeUTF8() throws {
            #expect(try echoed(#""\u0041\u00e9\u20ac""#) == "\"Aé€\"")
        }

        @Test func aSurrogatePairIsOneCharacter() throws {
            #expect(try echoed(#""\ud83d\ude00""#) == "\"😀\"")
            #expect(try echoed(#""\uD83D\uDE00""#) == "\"😀\"")
        }

        @Test func aLoneSurrogateIsRefusedWithItsPlace() {
            #expect(refusal(#"{"id":"c","v":"\ud83d"}"#) == "column 22: unpaired surrogate in \\u escape")
            #expect(refusal(#"{"id":"c","v":"\ude00"}"#) == "column 22: unpaired surrogate in \\u escape")
            #expect(refusal(#"{"id":"c","v":"\ud83d\u0041"}"#) == "column 28: unpaired surrogate in \\u escape")
            #expect(refusal(#"{"id":"c","v":"\ud83dx"}"#) == "column 22: unpaired surrogate in \\u escape")
        }

        @Test func badEscapesAreRefused() {
            #expect(refusal(#"{"id":"c","v":"\x"}"#).hasSuffix("invalid escape in a string"))
            #expect(refusal(#"{"id":"c","v":"\u12"}"#).hasSuffix("invalid \\u escape"))
            #expect(refusal(#"{"id":"c","v":"\u12g4"}"#).hasSuffix("invalid \\u escape"))
        }

        @Test func aNulByteIsRefusedRawAndKeptEscaped() throws {
            #expect(refusal(Array(#"{"id":"c","v":"a"#.utf8) + [0] + Array(#"b"}"#.utf8))
                    == "column 17: control character in a string (escape it, e.g. \\n)")
            #expect(try echoed(#""a\u0000b""#) == #""a\u0000b""#)
            #expect(refusal(Array(#"{"id":"c"}"#.utf8) + [0]) == "column 11: unexpected data after the end of the value")
        }

        @Test func invalidUTF8IsRefused() {
            for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
                let record = Array(#"{"id":"c","v":"#.utf8) + [0x22] + bad + Array(#"x"}"#.utf8)
                #expect(refusal(record) == "column 16: invalid UTF-8 in a string", "bytes \(bad)")
            }
        }

        @Test func fieldNamesWithEscapesAreReadLikeOthers() throws {
            #expect(try planLine(#"{"id":"c","\u0076":1}"#).contains(#""params":{"v":1}"#))
        }

        @Test func theCustomerIdIsWrittenBackExactly() throws {
            #expect(try planLine(#"{"id":"a\"b\u00e9\n"}"#).hasPrefix(#"{"customer":"a\"bé\n","#))
        }
    }

    @Suite("Numbers")
    struct Numbers {
        @Test func integersUpTo18DigitsStayIntegers() throws {
            #expect(try echoed("123456789012345678") == "123456789012345678")
            #expect(try echoed("-123456789012345678") == "-123456789012345678")
            #expect(try echoed("-0") == "0")
        }

        @Test func longerIntegersBecomeTheNearestDoubleInsteadOfWrappingAround() throws {
            #expect(try echoed("9223372036854775807") == "9.223372036854776e+18")
            #expect(try echoed("123456789012345678901234567890") == "1.2345678901234568e+29")
        }

        @Test func fractionsAndExponentsRoundTrip() throws {
            #expect(try echoed("0.1") == "0.1")
            #expect(try echoed("1.5e3") == "1500")
            #expect(try echoed("2.5E-3") == "0.0025")
            #expect(try echoed("0.30000000000000004") == "0.30000000000000004")
            #expect(try echoed("1e21") == "1e+21")
            #expect(try echoed("0.00000000000000000000000000001") == "1e-29")
        }

        @Test func numbersBeyondADoubleBecomeInfinityWrittenAsNullOrZero() throws {
            #expect(try echoed("1e400") == "null")
            #expect(try echoed("-1e400") == "null")
            #expect(try echoed("1e-400") == "0")
            #expect(try echoed("1e99999999999999999999") == "null")
        }

        @Test func malformedNumbersAreRefused() {
            #expect(refusal(#"{"id":"c","v":01}"#) == "column 16: invalid number (leading zero)")
            #expect(refusal(#"{"id":"c","v":1.}"#) == "column 17: invalid number (digit expected after '.')")
            #expect(refusal(#"{"id":"c","v":1e}"#) == "column 17: invalid number (digit expected in exponent)")
            #expect(refusal(#"{"id":"c","v":-}"#) == "column 16: invalid number")
            #expect(refusal(#"{"id":"c","v":.5}"#) == "column 15: unexpected character, a value was expected")
        }
    }

    @Suite("Structure")
    struct Structure {
        @Test func nestingUpTo64LevelsReadsAndOneMoreIsRefused() throws {
            // The profile object is level 1, so `v` may hold 63 levels.
            let ok = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
            #expect(refusal(#"{"id":"c","v":"# + ok + "}") == "accepted")
            let deep = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
            #expect(refusal(#"{"id":"c","v":"# + deep + "}") == "column 78: nested deeper than 64 levels")
        }

        @Test func aValueNestedAsDeepAsTheReaderAllowsIsWrittenBackWhole() throws {
            let shallow = String(repeating: "[", count: 31) + "1" + String(repeating: "]", count: 31)
            #expect(try echoed(shallow) == shallow)
            let ok = String(repeating: "[", count: 63) + "1" + String(repeating: "]", count: 63)
            let written = try echoed(ok)
            // json_out.c counts a read-only view and the table behind it as two levels, so
            // levels past 31 of a profile value come back as null. Reported; the writer is the
            // bridge's (restructure) to fix. When it is fixed, this known issue stops occurring.
            withKnownIssue("json_out.c: a view and its table count as two levels") {
                #expect(written == ok)
            }
        }

        @Test func veryDeepInputIsRefusedWithoutExhaustingTheStack() {
            let deep = String(repeating: "[", count: 200_000)
            #expect(refusal(#"{"id":"c","v":"# + deep + "}").hasSuffix("nested deeper than 64 levels"))
        }

        @Test func nestedValuesAreWrittenBackWithSortedKeys() throws {
            #expect(try echoed(#"{"b":[1,{"z":null,"y":true}],"a":"x"}"#) == #"{"a":"x","b":[1,{"y":true}]}"#)
        }

        @Test func nullMeansAbsentAndTheLastOfTwoEqualKeysWins() throws {
            #expect(try echoed("null") == "absent")
            #expect(try planLine(#"{"id":"c","v":1,"v":2}"#).contains(#""params":{"v":2}"#))
        }

        @Test func emptyInputOrBlanksAreRefused() {
            #expect(refusal("") == "column 1: unexpected end of input, a value was expected")
            #expect(refusal(" \r\n\t") == "line 2, column 2: unexpected end of input, a value was expected"
                    || refusal(" \r\n\t").hasSuffix("unexpected end of input, a value was expected"))
        }

        @Test func crlfBetweenTokensIsWhitespace() throws {
            let plan = try echo.decide(json: Array("{\"id\":\"c\",\r\n\"v\":\r\n1}\r\n".utf8))
            #expect(plan.actions.first?.params == ["v": 1])
            #expect(try planLine("{\"id\":\"c\",\"v\":1}\r").contains(#""params":{"v":1}"#))
        }

        @Test func truncatedInputSaysWhatIsMissing() {
            #expect(refusal(#"{"id":"c","v":[1,2"#).hasSuffix("unexpected end of input inside an array"))
            #expect(refusal(#"{"id":"c","v":{"a":1"#).hasSuffix("unexpected end of input inside an object"))
            #expect(refusal(#"{"id":"c","v":"abc"#).hasSuffix("unterminated string"))
            #expect(refusal(#"{"id":"c","v":tru}"#).hasSuffix("unexpected character, a value was expected"))
        }
    }

    @Suite("Values a policy makes")
    struct PolicyValues {
        /// The params a policy returns from `expr`, as the plan shows them.
        func written(_ expr: String) throws -> String {
            let f = try Fixture([
                "a.lua": """
                    action "a" { department = "d", channel = "email" }
                    policy "p" { propose = function(c) return { action = "a", priority = 1, params = { v = \(expr) } } end }
                    """,
            ])
            let path = f.directory + "/p.jsonl"
            FileManager.default.createFile(atPath: path, contents: Data(#"{"id":"c"}"#.utf8 + [0x0A]))
            var out: [UInt8] = []
            _ = try f.engine().run(profiles: path, options: BatchOptions(jobs: 1), output: { out += $0 })
            let line = String(decoding: out, as: UTF8.self)
            guard let r = line.range(of: #""params":{"v":"#), let end = line.range(of: "}}],\"suppressed\"") else { return line }
            return String(line[r.upperBound..<end.lowerBound])
        }

        @Test func controlCharactersAndInvalidUTF8AreEscapedSoTheLineStaysValidJSON() throws {
            #expect(try written(#""a\0b\1c\127d""#) == "\"a\\u0000b\\u0001c\u{7F}d\"")
            #expect(try written(#""x\255y\226\130z""#) == #""x\ufffdy\ufffd\ufffdz""#)
        }

        @Test func floatsUseTheShortestTextThatReadsBack() throws {
            #expect(try written("0.1 + 0.2") == "0.30000000000000004")
            #expect(try written("1 / 3") == "0.3333333333333333")
            #expect(try written("2^53") == "9007199254740992")
            #expect(try written("math.maxinteger") == "9223372036854775807")
            #expect(try written("0/0") == "null")
            #expect(try written("math.huge") == "null")
        }

        @Test func tablesBecomeArraysOrObjectsWithSortedKeys() throws {
            #expect(try written("{ 3, 2, 1 }") == "[3,2,1]")
            #expect(try written("{ b = 1, a = { c = 'x' }, B = 2 }") == #"{"B":2,"a":{"c":"x"},"b":1}"#)
            #expect(try written("{}") == "{}")
        }
    }
}
