// Shards: FNV-1a 64, reading --shard values, finding a record's id without parsing it.
import Testing
@testable import NextBest

@Suite("Shards")
struct ShardTests {
    @Test func fnv1a64MatchesThePublishedVectors() {
        #expect(Shard.fnv1a64(Array("".utf8)) == 0xcbf2_9ce4_8422_2325)
        #expect(Shard.fnv1a64(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        #expect(Shard.fnv1a64(Array("foobar".utf8)) == 0x8594_4171_f739_67e8)
    }

    @Test func shardValuesAreReadOrRefusedInPlainWords() throws {
        #expect(try Shard.parse("2/7", environment: [:]) == Shard(index: 2, count: 7))
        #expect(try Shard.parse("0/1", environment: [:]) == Shard(index: 0, count: 1))
        #expect(try Shard.parse("auto/4", environment: ["JOB_COMPLETION_INDEX": "3"]) == Shard(index: 3, count: 4))
        let refused: [(String, [String: String], String)] = [
            ("3/3", [:], "shard 3 does not exist: with 3 shards the index is 0 to 2"),
            ("-1/3", [:], "shard -1 does not exist"),
            ("0/0", [:], "the number of shards must be 1 or more, not 0"),
            ("a/3", [:], "the shard index 'a' is not a whole number"),
            ("1", [:], "is not a shard: write INDEX/COUNT"),
            ("1/2/3", [:], "is not a shard"),
            ("1/x", [:], "the number of shards 'x' is not a whole number"),
            ("auto/4", [:], "JOB_COMPLETION_INDEX, which is not set"),
            ("auto/4", ["JOB_COMPLETION_INDEX": "two"], "JOB_COMPLETION_INDEX is 'two', not a whole number"),
            ("auto/4", ["JOB_COMPLETION_INDEX": "4"], "shard 4 does not exist"),
        ]
        for (text, env, message) in refused {
            #expect(throws: ShardError.self, "\(text)") { try Shard.parse(text, environment: env) }
            do { _ = try Shard.parse(text, environment: env) } catch {
                #expect(error.message.contains(message), "\(text): \(error.message)")
            }
        }
    }

    /// The id as the fast scan (in C, falling back for escapes and broken records) reads it;
    /// the careful Swift reader must read the same.
    private func id(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        let fast = Array(json.utf8).withUnsafeBytes { ShardKey.idText(of: $0) }
        let careful = Array(json.utf8).withUnsafeBytes { ShardKey.idTextCarefully(of: $0) }
        #expect(fast == careful, "\(json)", sourceLocation: sourceLocation)
        return fast.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func theIdIsTheTopLevelIdAsTheEngineReadsIt() {
        #expect(id(#"{"id":"C0000042","a":1}"#) == "C0000042")
        #expect(id(#" { "a": {"id": "inner"}, "list": [{"id":1}], "id" : "outer" } "#) == "outer")
        #expect(id(#"{"id":42}"#) == "42")
        #expect(id(#"{"id": -7 , "x": true}"#) == "-7")
        #expect(id(#"{"id":"0042"}"#) == "0042")
        #expect(id(#"{"id":"C\u0030\u00e9"}"#) == "C0é")
        #expect(id(#"{"i\u0064":"escaped key"}"#) == "escaped key")
        #expect(id(#"{"id":"first","id":"last"}"#) == "last")
        #expect(id(#"{"id":"A","id":null}"#) == "A")  // null fields are dropped
        #expect(id(#"{"id":null}"#) == nil)
        #expect(id(#"{"id":"A","id":1.5}"#) == nil)
        #expect(id(#"{"id":"A \"quoted\" name"}"#) == #"A "quoted" name"#)
        #expect(id(#"{"note":"has \"id\":\"X\" inside","id":"Y"}"#) == "Y")
        // Not ids the engine accepts: the record is an error record, placed by its number.
        #expect(id(#"{"id":1.5}"#) == nil)
        #expect(id(#"{"id":1e3}"#) == nil)
        #expect(id(#"{"id":1234567890123456789}"#) == nil)
        #expect(id(#"{"id":007}"#) == nil)
        #expect(id(#"{"id":true}"#) == nil)
        #expect(id(#"{"id":{"x":1}}"#) == nil)
        #expect(id(#"{"name":"no id"}"#) == nil)
        #expect(id(#"[{"id":"A"}]"#) == nil)
        #expect(id(#"{bad"#) == nil)
        #expect(id(#"{"id":"unterminated"#) == nil)
        // A record broken after its id goes with its id.
        #expect(id(#"{"id":"A","x":"#) == "A")
        #expect(id(#"{"id":"A""#) == "A")
        #expect(id(#"{"id":"A","list":[1,{"b":"]"}],"n":-2.5e3,"t":true,"z":null}"#) == "A")
        #expect(id(#"{ }"#) == nil)
        #expect(id("") == nil)
    }

    @Test func aRecordWithoutAnIdGoesToTheShardOfItsInputNumber() throws {
        let bytes = Array(#"{"no_id":1}"#.utf8)
        for number in 1...9 {
            let owners = try (0..<3).filter { i in
                try bytes.withUnsafeBytes { try Shard(index: i, count: 3).owns(record: $0, number: number) }
            }
            #expect(owners == [(number - 1) % 3])
        }
    }
}
