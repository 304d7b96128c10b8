// Reading and checking outcome rows: JSON Lines, CSV, and the error rows' messages.
import Foundation
import NextBest
import Testing
@testable import NextBestStore

@Suite("Outcome files")
struct OutcomeFileTests {
    private func rows(_ text: String, _ format: OutcomeFileFormat) -> [RawRow] {
        Array(OutcomeFileReader(bytes: Array(text.utf8), format: format))
    }

    @Test func jsonLines() {
        let r = rows("""
            {"id": 7, "customer": "0042", "action": "a", "outcome": "accepted", "at": "2026-11-03", "value": 12.50}

            {"customer":"C\\u00e9 \\"x\\"","action":"a","outcome":"declined","at":"2026-11-03","extra":true,"channel":null}
            {"customer": "C", "nested": {"a": 1}}
            {"customer": "C",
            not json
            """, .jsonl)
        #expect(r.count == 5)
        #expect(r[0].line == 1 && r[0].fields["id"] == "7" && r[0].fields["customer"] == "0042" && r[0].fields["value"] == "12.50")
        #expect(r[1].line == 3 && r[1].fields["customer"] == "Cé \"x\"" && r[1].fields["channel"] == nil && r[1].problem == nil)
        #expect(r[2].line == 4 && r[2].problem == "field 'nested' must be text or a number, not a list or an object")
        #expect(r[3].line == 5 && r[3].problem?.hasPrefix("not a readable JSON object") == true)
        #expect(r[4].line == 6 && r[4].problem?.hasPrefix("not a readable JSON object") == true)
    }

    @Test func csv() {
        let r = rows("""
            Customer,action,outcome,at,value,note\r
            0042,a,accepted,2026-11-03,12.5,"plain"\r
            C2,a,declined,2026-11-03T10:00:00Z,,"two
            lines, with \"\"quotes\"\"\"

            C3,a,accepted
            """, .csv)
        #expect(r.count == 3)
        #expect(r[0].line == 2 && r[0].fields["customer"] == "0042" && r[0].fields["value"] == "12.5")
        #expect(r[1].line == 3 && r[1].fields["note"] == "two\nlines, with \"quotes\"" && r[1].fields["value"] == "")
        #expect(r[2].line == 6 && r[2].problem == "it has 3 fields but the header names 6")
    }

    @Test func formatGuess() {
        #expect(OutcomeFileFormat.guess(path: "x.csv", firstByte: UInt8(ascii: "{")) == .csv)
        #expect(OutcomeFileFormat.guess(path: "x.ndjson", firstByte: nil) == .jsonl)
        #expect(OutcomeFileFormat.guess(path: "-", firstByte: UInt8(ascii: "{")) == .jsonl)
        #expect(OutcomeFileFormat.guess(path: "export.txt", firstByte: UInt8(ascii: "c")) == .csv)
    }

    @Test func checks() {
        let check = OutcomeCheck(actions: ["invite_webinar": "email", "retention_call": "phone"])
        func message(_ fields: [String: String]) -> String? {
            if case .failure(let e) = check.check(RawRow(line: 9, fields: fields)) { return e.description }
            return nil
        }
        let good = ["customer": "C1", "action": "invite_webinar", "outcome": "accepted", "at": "2026-11-03"]
        #expect(message(good) == nil)
        if case .success(let row) = check.check(RawRow(line: 1, fields: good)) {
            #expect(row.channel == "email")  // from the policy set's action
            #expect(row.id.hasPrefix("~") && row.id.count == 33)
        }
        #expect(message(good.merging(["outcome": "acepted"]) { $1 })
                == "line 9: unknown outcome 'acepted' (did you mean 'accepted'?) — known: accepted, declined, ignored, converted, bounced")
        #expect(message(good.merging(["action": "invite_webinars"]) { $1 })
                == "line 9: unknown action 'invite_webinars' (did you mean 'invite_webinar'?): the policy set declares no such action")
        #expect(message(good.merging(["at": "03/11/2026"]) { $1 })
                == "line 9: unreadable date '03/11/2026' (use ISO-8601, as in 2026-11-03 or 2026-11-03T10:00:00Z)")
        #expect(message(good.merging(["customer": " "]) { $1 }) == "line 9: no customer")
        #expect(message(good.filter { $0.key != "at" }) == "line 9: no time: 'at' is missing")
        #expect(message(good.merging(["value": "lots"]) { $1 }) == "line 9: value 'lots' is not a number")
        // Without a policy set any action is taken.
        if case .failure = OutcomeCheck().check(RawRow(line: 1, fields: good.merging(["action": "anything"]) { $1 })) {
            Issue.record("an action was refused without a policy set")
        }
        // Content keys: equal rows, equal keys; the same time written two ways, equal keys.
        let a = OutcomeRow(id: nil, customer: "C", action: "a", outcome: "accepted", at: StoreTime.date("2026-11-03T10:00:00+01:00")!)
        let b = OutcomeRow(id: nil, customer: "C", action: "a", outcome: "accepted", at: StoreTime.date("2026-11-03T09:00:00Z")!)
        let c = OutcomeRow(id: nil, customer: "C", action: "a", outcome: "declined", at: StoreTime.date("2026-11-03T09:00:00Z")!)
        #expect(a.id == b.id && a.id != c.id)
    }

    @Test("content keys: the store's SHA-256 gives the core's digest for every length across the block edges")
    func contentKeyDigest() {
        #expect(SHA256Hex.of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Hex.of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let hex = Array("0123456789abcdef".utf8)
        for n in 0...200 {
            let text = String((0..<n).map { Character(Unicode.Scalar(UInt8(33 + ($0 * 7 + n) % 90))) }) + (n % 3 == 0 ? "é" : "")
            let core = SHA256.hash(Array(text.utf8)).flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 15)]] }
            #expect(SHA256Hex.of(text) == String(decoding: core, as: UTF8.self), "length \(n)")
            #expect(SHA256Hex.of(text, hexDigits: 32) == String(decoding: core.prefix(32), as: UTF8.self))
        }
    }
}
