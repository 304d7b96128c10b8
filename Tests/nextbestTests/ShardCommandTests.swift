// `nextbest run --shard I/N`: N shards together give exactly one unsharded run's output.
import Foundation
import NextBest
import Testing

/// Runs `nextbest` with extra environment variables (and without JOB_COMPLETION_INDEX unless given).
private func nextbest(_ args: [String], environment: [String: String]) throws -> Output {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: nextbestPath)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    var env = ProcessInfo.processInfo.environment
    env["JOB_COMPLETION_INDEX"] = nil
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let dir = try temporaryDirectory()
    _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
    _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    let out = try String(contentsOfFile: dir + "/out", encoding: .utf8)
    let err = try String(contentsOfFile: dir + "/err", encoding: .utf8)
    try? FileManager.default.removeItem(atPath: dir)
    return Output(status: p.terminationStatus, stdout: out, stderr: err)
}

/// Generated profiles with bad records, odd ids, repeats and blank lines mixed in.
private let shardInput: String = {
    let gen = try! run("/usr/bin/env", ["python3", benchDir + "/gen_profiles.py", "700", "23"])
    var lines = gen.lines
    let good = lines[5]
    let extra: [(Int, String)] = [
        (3, #"{"id":"X1", "annual_revenue": 1000 "broken": 2}"#),   // broken after its id
        (10, #"{"no_id":true}"#),
        (17, "[1,2,3]"),
        (30, #"{"id":1.5}"#),
        (44, ""),                                                   // blank: no record
        (50, #"{"id":"A","id":null}"#),
        (61, "{bad"),
        (70, "   "),
        (90, good),                                                 // a repeated id
        (120, good.replacingOccurrences(of: #""id":"C0000006""#, with: #""id":424242"#)),
        (130, good.replacingOccurrences(of: #""id":"C0000006""#, with: #""id":"C\u00e9\"q\"""#)),
        (200, #"{"id":"","annual_revenue":1}"#),
    ]
    for (at, line) in extra.sorted(by: { $0.0 > $1.0 }) { lines.insert(line, at: at) }
    return lines.joined(separator: "\n") + "\n"
}()

/// An output line's input record number (plans with --with-input-number, and error records).
private func inputNumber(_ line: String) throws -> Int {
    try #require(JSONValue(parsing: line)["input"]?.intValue)
}

@Suite("nextbest run --shard")
struct ShardCommandTests {
    @Test(arguments: [1, 3, 7])
    func theShardsTogetherAreOneUnshardedRun(count: Int) throws {
        let dir = try temporaryDirectory()
        try write(shardInput, to: dir + "/p.jsonl")
        let common = ["run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01"]
        let whole = try nextbest(common + ["--jobs", "2"], environment: [:])
        #expect(whole.status == 1)  // error records and a repeated id
        let numbered = try nextbest(common + ["--jobs", "2", "--with-input-number"], environment: [:])
        #expect(numbered.status == 1)
        // --with-input-number adds "input" to plans and changes nothing else.
        #expect(numbered.lines.count == whole.lines.count)
        for (a, b) in zip(numbered.lines, whole.lines) {
            #expect(a.replacingOccurrences(of: #",\"input\":\d+\}$"#, with: "}", options: .regularExpression) == b)
        }
        #expect(try numbered.lines.map(inputNumber) == Array(1...numbered.lines.count))

        var union: [(Int, String)] = []
        var skipped = 0
        for index in 0..<count {
            let jobs = index % 2 == 0 ? "1" : "2"
            let r = try nextbest(common + ["--jobs", jobs, "--with-input-number", "--shard", "\(index)/\(count)"], environment: [:])
            #expect(r.status == 0 || r.status == 1, "\(r.stderr)")
            #expect(r.stderr.contains("nextbest run, shard \(index)/\(count):"))
            for line in r.lines {
                union.append((try inputNumber(line), line))
                // Every plan is in the shard its customer id hashes to.
                if let customer = try JSONValue(parsing: line)["customer"], !line.contains(#""error":"#) {
                    let text = customer.stringValue ?? customer.jsonText
                    #expect(Shard.of(id: Array(text.utf8), count: count) == index, "\(text) in shard \(index)")
                }
            }
            let decided = r.lines.count
            let match = try #require(r.stderr.firstMatch(of: /skipped as other shards' records: ([0-9,]+)/), "\(r.stderr)")
            let n = Int(match.1.replacingOccurrences(of: ",", with: ""))!
            #expect(n + decided == whole.lines.count)
            skipped += n
        }
        #expect(skipped == whole.lines.count * (count - 1))
        let merged = union.sorted { $0.0 < $1.0 }.map(\.1)
        #expect(merged == numbered.lines)
    }

    @Test func theRepeatedIdAndTheErrorRecordsKeepTheirPlaceInTheirShard() throws {
        let dir = try temporaryDirectory()
        try write(shardInput, to: dir + "/p.jsonl")
        var statuses: [Int32] = []
        var repeats = 0
        for index in 0..<3 {
            let r = try nextbest(["run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                                  "--shard", "\(index)/3"], environment: [:])
            statuses.append(r.status)
            if r.stderr.contains("duplicate customer ids (1 records") { repeats += 1 }
        }
        #expect(repeats == 1)  // both records of the repeated id land in one shard, which reports it
        #expect(statuses.contains(1))
    }

    @Test func shardValuesThatCannotBeUsedAreUsageErrors() throws {
        let dir = try temporaryDirectory()
        try write(shardInput, to: dir + "/p.jsonl")
        let cases: [(String, [String: String], String)] = [
            ("3/3", [:], "shard 3 does not exist"),
            ("-1/3", [:], "does not exist"),
            ("0/0", [:], "must be 1 or more"),
            ("x/3", [:], "is not a whole number"),
            ("2", [:], "is not a shard"),
            ("auto/3", [:], "JOB_COMPLETION_INDEX, which is not set"),
            ("auto/3", ["JOB_COMPLETION_INDEX": "one"], "not a whole number"),
            ("auto/3", ["JOB_COMPLETION_INDEX": "3"], "shard 3 does not exist"),
        ]
        for (value, env, message) in cases {
            let r = try nextbest(["run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--shard=\(value)"], environment: env)
            #expect(r.status == 2, "\(value)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains(message), "\(value): \(r.stderr)")
        }
    }

    @Test func autoReadsTheIndexFromJobCompletionIndex() throws {
        let dir = try temporaryDirectory()
        try write(shardInput, to: dir + "/p.jsonl")
        let common = ["run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01"]
        let given = try nextbest(common + ["--shard", "2/3"], environment: [:])
        let auto = try nextbest(common + ["--shard", "auto/3"], environment: ["JOB_COMPLETION_INDEX": "2"])
        #expect(auto.status == given.status)
        #expect(!auto.stdout.isEmpty)
        #expect(auto.stdout == given.stdout)
        #expect(auto.stderr.contains("shard 2/3"))
    }
}
