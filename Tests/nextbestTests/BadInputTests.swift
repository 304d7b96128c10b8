// Bad input, nothing lost: every input record ends as exactly one plan or one error record, in
// its place, and the summary says records = plans + error records (policy-language.md §6).
import Foundation
import Testing

/// One bad input file and what must come out for it.
struct BadInput: CustomTestStringConvertible, Sendable {
    let name: String
    /// File name (its extension picks the format) and its bytes.
    let fileName: String
    let bytes: [UInt8]
    /// One entry per output line: a customer id (a plan) or `!` + a substring of the error record.
    let expected: [String]
    var extraArgs: [String] = []

    var testDescription: String { name }

    init(_ name: String, _ fileName: String, _ text: String, _ expected: [String], extraArgs: [String] = []) {
        self.init(name, fileName, Array(text.utf8), expected, extraArgs: extraArgs)
    }

    init(_ name: String, _ fileName: String, _ bytes: [UInt8], _ expected: [String], extraArgs: [String] = []) {
        self.name = name
        self.fileName = fileName
        self.bytes = bytes
        self.expected = expected
        self.extraArgs = extraArgs
    }
}

private let policies = """
    action "call" { department = "sales", channel = "phone" }
    policy "p" { when = function(c) return c.score > 1 end, action = "call", priority = 1 }
    """

private let bigLine = #"{"id":"BIG","score":2,"notes":""# + String(repeating: "x", count: 12 << 20) + "\"}\n"

private let badInputs: [BadInput] = [
    BadInput("malformed JSON is placed by line and column", "p.jsonl",
             "{\"id\":\"A\",\"score\":2}\n{\"id\":\"B\", score:2}\n{\"id\":\"C\",\"score\":2}\n",
             ["A", "!line 2, column 12: expected a quoted field name", "C"]),
    BadInput("a record that is not an object", "p.jsonl", "[1,2]\n42\n{\"id\":\"C\",\"score\":2}\n",
             ["!line 1: the record is a JSON array, not an object", "!line 2: the record is the number 42, not a JSON object", "C"]),
    BadInput("a record without an id", "p.jsonl", "{\"score\":3}\n{\"id\":\"C\",\"score\":2}\n",
             ["!line 1: the profile has no \\\"id\\\"", "C"]),
    BadInput("an id of the wrong type", "p.jsonl", "{\"id\":true}\n{\"id\":1.5}\n{\"id\":7,\"score\":2}\n",
             ["!\\\"id\\\" must be a string or a whole number, not a boolean", "!\\\"id\\\" must be a string or a whole number", "7"]),
    BadInput("a field of the wrong type is a policy error in the plan", "p.jsonl",
             "{\"id\":\"A\",\"score\":\"high\"}\n{\"id\":\"B\",\"score\":2}\n", ["A", "B"]),
    BadInput("a line of many MiB is decided", "p.jsonl", "{\"id\":\"A\",\"score\":2}\n" + bigLine + "{\"id\":\"C\",\"score\":2}\n",
             ["A", "BIG", "C"]),
    BadInput("a line bigger than the memory limit is an error record", "p.jsonl",
             "{\"id\":\"A\",\"score\":2}\n" + bigLine + "{\"id\":\"C\",\"score\":2}\n",
             ["A", "!line 2: the record needs more memory than a Lua state may hold (8 MiB)", "C"], extraArgs: ["--memory-limit", "8"]),
    BadInput("bytes that are not UTF-8", "p.jsonl",
             Array("{\"id\":\"A\",\"score\":2}\n{\"id\":\"B\",\"name\":\"".utf8) + [0xFF, 0xFE] + Array("\"}\n{\"id\":\"C\",\"score\":2}\n".utf8),
             ["A", "!line 2, column 19: invalid UTF-8 in a string", "C"]),
    BadInput("an empty file gives nothing and says so", "p.jsonl", "", []),
    BadInput("a truncated last line", "p.jsonl", "{\"id\":\"A\",\"score\":2}\n{\"id\":\"B\",\"sco",
             ["A", "!line 2, column 15: unterminated string"]),
    BadInput("a CSV row with too few cells", "p.csv", "id,score\nA,2\nB\nC,3\n",
             ["A", "!line 3: 1 cell, but the header has 2 columns", "C"]),
    BadInput("a CSV row with too many cells", "p.csv", "id,score\nA,2\nB,3,4\nC,3\n",
             ["A", "!line 3: 3 cells, but the header has 2 columns", "C"]),
    BadInput("a CSV row that is not UTF-8", "p.csv", Array("id,score\nA,2\nB".utf8) + [0xC3, 0x28] + Array(",3\nC,3\n".utf8),
             ["A", "!line 3: the row has bytes that are not valid UTF-8", "C"]),
    BadInput("a CSV file cut inside a quoted cell", "p.csv", "id,score\nA,2\n\"C,3\n",
             ["A", "!line 3: 1 cell, but the header has 2 columns"]),
    BadInput("a JSON array with a bad element and a missing ']'", "p.json",
             "[{\"id\":\"A\",\"score\":2}, 5, {\"id\":\"B\",",
             ["A", "!the record is the number 5", "!unexpected end of input inside an object", "!not closed with ']'"]),
    BadInput("a JSON file cut right after a backslash in a string (found by the fuzzer)", "p.json",
             "[{\"id\":\"A\",\"score\":2}, {\"id\":\"B\\",
             ["A", "!line 1, column 33: unterminated string", "!not closed with ']'"]),
    BadInput("JSON nested too deeply", "p.jsonl",
             "{\"id\":\"A\",\"x\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}\n{\"id\":\"C\",\"score\":2}\n",
             ["!nested deeper than 64 levels", "C"]),
]

@Suite("Bad input: nothing lost")
struct BadInputTests {
    @Test("bad input", arguments: badInputs)
    func eachBadRecordGivesAnErrorRecordInItsPlace(_ input: BadInput) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(policies, to: dir + "/set/p.lua")
        let path = dir + "/" + input.fileName
        FileManager.default.createFile(atPath: path, contents: Data(input.bytes))
        let out = try nextbest(["run", "--policies", dir + "/set", "--profiles", path, "--now", "2026-11-01", "--jobs", "2"]
                               + input.extraArgs)
        let lines = out.lines
        #expect(lines.count == input.expected.count, "\(out.stdout.prefix(2000))")
        for (line, want) in zip(lines, input.expected) {
            if want.hasPrefix("!") {
                #expect(line.hasPrefix("{\"input\":"), "\(line.prefix(300))")
                #expect(line.contains(String(want.dropFirst())), "\(line.prefix(300))")
            } else {
                #expect(line.hasPrefix("{\"customer\":\"\(want)\","), "\(line.prefix(300))")  // ids are text
            }
        }
        let plans = lines.filter { $0.hasPrefix("{\"customer\":") }.count
        let errors = lines.filter { $0.hasPrefix("{\"input\":") }.count
        #expect(plans + errors == input.expected.count)
        #expect(out.stderr.contains("\(input.expected.count) records -> \(plans) plans + \(errors) error records"), "\(out.stderr)")
        let clean = errors == 0 && !input.name.contains("wrong type")
        #expect(out.status == (clean ? 0 : 1), "\(out.stderr)")
    }

    @Test func aDuplicateIdIsReportedAndBothRecordsAreDecided() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(policies, to: dir + "/set/p.lua")
        try write("{\"id\":\"A\",\"score\":2}\n{\"id\":\"B\",\"score\":2}\n{\"id\":\"A\",\"score\":5}\n", to: dir + "/p.jsonl")
        let out = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--now", "2026-11-01")
        #expect(out.lines.count == 3)
        #expect(out.lines.filter { $0.hasPrefix("{\"customer\":\"A\"") }.count == 2)
        #expect(out.stderr.contains("duplicate customer ids (1 records; each still has its plan)"), "\(out.stderr)")
        #expect(out.stderr.contains("customer \"A\": inputs 1 and 3"), "\(out.stderr)")
        #expect(out.status == 1)
    }

    @Test func aSetThatDoesNotLoadWritesNoPartialOutput() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(policies + "\npolicy \"q\" { action = \"nope\", priority = 1 }\n", to: dir + "/set/p.lua")
        try write("{\"id\":\"A\",\"score\":2}\n", to: dir + "/p.jsonl")
        let out = try nextbest("run", "--policies", dir + "/set", "--profiles", dir + "/p.jsonl", "--out", dir + "/plans.jsonl")
        #expect(out.status == 2)
        #expect(out.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir + "/plans.jsonl"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("plans") }
        #expect(leftovers.isEmpty)
    }
}

/// Runs `nextbest` with an argument list.
@discardableResult
func nextbest(_ args: [String]) throws -> Output {
    try run(nextbestPath, args)
}
