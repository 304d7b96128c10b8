// The byte scanner of request bodies: spans, strict JSON, positions of errors; the decide request checks.
import Foundation
import NextBestServer
import Testing

@Suite("JSON scanner and decide requests")
struct JSONScannerTests {
    func fields(_ text: String) throws -> [ScannedField] { try JSONScanner.fields(of: Array(text.utf8)) }

    func error(_ text: String) -> JSONSyntaxError? {
        do { _ = try JSONScanner.fields(of: Array(text.utf8)); return nil } catch { return error }
    }

    @Test func findsTopLevelFieldsAndArrayElements() throws {
        let text = #"{ "profiles" : [ {"id":"a","x":[1,{"y":null}]} , {"id":2} ], "now":"2026-11-01", "explain":true, "k\u0041":-1.5e3 }"#
        let fs = try fields(text)
        let bytes = Array(text.utf8)
        #expect(fs.map(\.key) == ["profiles", "now", "explain", "kA"])
        let elements = try #require(fs[0].elements)
        #expect(elements.map { String(decoding: bytes[$0], as: UTF8.self) } == [#"{"id":"a","x":[1,{"y":null}]}"#, #"{"id":2}"#])
        #expect(fs[1].kind == .string)
        #expect(bytes.withUnsafeBytes { JSONScanner.string(in: $0, at: fs[1].value) } == "2026-11-01")
        #expect(fs[2].kind == .bool(true))
        #expect(fs[3].kind == .number)
        #expect(String(decoding: bytes[fs[3].value], as: UTF8.self) == "-1.5e3")
    }

    @Test func decodesEscapesInNames() throws {
        let fs = try fields(#"{"a\"b\\c\/\n\u00e9\ud83d\ude00":0}"#)
        #expect(fs.first?.key == "a\"b\\c/\n\u{e9}\u{1F600}")
    }

    @Test func refusesWhatStrictJSONRefuses() {
        let bad = [
            "", "  ", "[]", "1", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
            "{\"a\":1e}", "{\"a\":-}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":[1 2]}",
            "{\"a\":{\"b\":1 \"c\":2}}", "{\"a\":1}}", "{\"a\":1} x", "{\"a\":\"unterminated}", "{\"a\":NaN}", "{\"a\":[1,]}",
            "{\"a\":\"tab\there\"}",
        ]
        for text in bad { #expect(error(text) != nil, "\(text)") }
        let badUTF8: [[UInt8]] = [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0x80]]
        for seq in badUTF8 {
            let body = Array(#"{"a":""#.utf8) + seq + Array(#""}"#.utf8)
            #expect((try? JSONScanner.fields(of: body)) == nil, "\(seq)")
        }
        #expect(error(#"{"a":"é ✓ 😀"}"#) == nil)
    }

    @Test func placesErrorsAtLineAndColumn() {
        let e = error("{\n  \"a\": [1,\n    2,,\n  ]\n}")
        #expect(e?.line == 3 && e?.column == 7)
        #expect(e?.description.hasPrefix("line 3, column 7: ") == true)
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + "}"
        #expect(error(deep)?.message.contains("nested too deeply") == true)
        let ok = "{\"a\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        #expect(error(ok) == nil)
    }

    @Test func decideRequestsAreChecked() throws {
        func parse(_ text: String) -> Result<DecideRequest, Answer> { DecideRequest.parse(Array(text.utf8)) }
        let single = try parse(#"{"profile":{"id":"a"},"now":"2026-11-01","explain":true,"context":{"x":1},"record":false}"#).get()
        #expect(single.profiles.count == 1 && !single.batch && single.now == "2026-11-01" && single.explain && !single.record)
        let batch = try parse(#"{"profiles":[{"id":1},{"id":2},{"id":3}]}"#).get()
        #expect(batch.profiles.count == 3 && batch.batch)
        func status(_ text: String) -> Int? { if case .failure(let a) = parse(text) { return a.status }; return nil }
        #expect(status(#"{"profile":{"id":"a"},"unknown":1}"#) == 400)
        #expect(status(#"{"profile":[]}"#) == 400)
        #expect(status(#"{"profiles":{}}"#) == 400)
        #expect(status(#"{"profile":{"id":"a"},"explain":"yes"}"#) == 400)
        #expect(status(#"{"profile":{"id":"a"},"now":20261101}"#) == 400)
        #expect(status(#"{"profile":{"id":"a"},"context":[]}"#) == 400)
        #expect(status(#"{"profile":{"id":"a"},"record":true,"now":"2026-11-01"}"#) == 400)
        #expect(status("{}") == 400)
        let many = "{\"profiles\":[" + Array(repeating: "{}", count: 1001).joined(separator: ",") + "]}"
        #expect(status(many) == 400)
    }
}
