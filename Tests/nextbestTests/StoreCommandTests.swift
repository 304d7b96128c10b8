// CLI tests for the store commands: store migrate, outcomes import, history — real processes, real files.
import Foundation
import NextBestStore
import Testing

/// The backends the CLI store tests run on: SQLite, and PostgreSQL when NEXTBEST_TEST_POSTGRES is set.
enum CLIBackend: String, CaseIterable, Sendable {
    case sqlite, postgres
    static var available: [CLIBackend] {
        (ProcessInfo.processInfo.environment["NEXTBEST_TEST_POSTGRES"] ?? "").isEmpty ? [.sqlite] : [.sqlite, .postgres]
    }
}

/// A fresh store URL for a CLI test: a new SQLite file, or a new database on the test server (made with psql).
func freshStoreURL(_ backend: CLIBackend, in dir: String) throws -> String {
    switch backend {
    case .sqlite:
        return "sqlite:" + dir + "/store.db"
    case .postgres:
        let base = ProcessInfo.processInfo.environment["NEXTBEST_TEST_POSTGRES"]!
        let name = "nbcli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let out = try run("/usr/bin/env", ["psql", base, "-q", "-c", "CREATE DATABASE \(name)"])
        guard out.status == 0 else { throw CLIError("psql failed: \(out.stderr)") }
        return String(base[..<base.lastIndex(of: "/")!]) + "/" + name
    }
}

/// A failure in a test's own setup.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Writes `n` clean outcome rows (JSON Lines) for customers `<prefix>0`...; each row has an id.
func outcomeFile(_ path: String, rows n: Int, prefix: String = "C") throws {
    var text = ""
    text.reserveCapacity(n * 120)
    for i in 0..<n {
        text += "{\"id\":\"\(prefix)-o\(i)\",\"customer\":\"\(prefix)\(i % 5000)\",\"action\":\"invite_webinar\","
            + "\"outcome\":\"\(i % 3 == 0 ? "declined" : "accepted")\",\"at\":\"2026-11-0\(1 + i % 9)T10:00:00Z\",\"channel\":\"email\"}\n"
    }
    try write(text, to: path)
}

/// Starts `nextbest` without waiting; its output goes to files in `dir`.
func start(_ args: [String], dir: String, tag: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: nextbestPath)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    FileManager.default.createFile(atPath: "\(dir)/\(tag).out", contents: nil)
    FileManager.default.createFile(atPath: "\(dir)/\(tag).err", contents: nil)
    p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/\(tag).out"))
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/\(tag).err"))
    try p.run()
    return p
}

/// The row counts of a store, read through the library.
func storeCounts(_ url: String) async throws -> StoreCounts {
    let (s, _) = try await openStore(try StoreURL(url))
    let c = try await s.counts()
    await s.close()
    return c
}

@Suite("Store commands")
struct StoreCommandTests {
    @Test("store migrate creates a store, then finds it up to date", arguments: CLIBackend.available)
    func migrate(_ backend: CLIBackend) throws {
        let dir = try temporaryDirectory()
        let url = try freshStoreURL(backend, in: dir)
        var out = try nextbest("store", "migrate", "--store", url)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains(": created (version \(storeSchemaVersion)); 0 decisions, 0 tasks, 0 outcomes"))
        out = try nextbest("store", "migrate", "--store", url)
        #expect(out.stdout.contains("up to date (version \(storeSchemaVersion))"))
        #expect(!out.stdout.contains("nextbest:"), "the password must not show: \(out.stdout)")
    }

    @Test("outcomes import: error rows with their lines, the rest imported; again, all duplicates", arguments: CLIBackend.available)
    func importRows(_ backend: CLIBackend) throws {
        let dir = try temporaryDirectory()
        let url = try freshStoreURL(backend, in: dir)
        try write("""
            {"id": "o1", "customer": "C1", "action": "invite_webinar", "outcome": "accepted", "at": "2026-11-02T10:00:00Z"}
            {"customer": "C1", "action": "invite_webinar", "outcome": "declined", "at": "2026-11-03", "value": 5}
            {"customer": "C2", "action": "invite_webinar", "outcome": "maybe", "at": "2026-11-03"}
            {"customer": "C2", "action": "invite_webinar", "outcome": "accepted", "at": "3rd of November"}
            {"action": "invite_webinar", "outcome": "accepted", "at": "2026-11-03"}
            {"customer": "C3", "task": "01NOSUCHTASK-1", "action": "invite_webinar", "outcome": "accepted", "at": "2026-11-03"}
            {"customer": "C3", "action": "invite_webinar", "outcome": "accepted", "at": "2026-11-03"
            {"customer": "C1", "action": "invite_webinar", "outcome": "declined", "at": "2026-11-03T00:00:00+00:00", "value": 5.0}
            """, to: dir + "/outcomes.jsonl")
        var out = try nextbest("outcomes", "import", dir + "/outcomes.jsonl", "--store", url, "--batch-size", "2")
        #expect(out.status == 1)
        #expect(out.stdout.contains("2 imported, 1 duplicate, 5 error rows"), "\(out.stdout)")
        let errors = out.stderr.split(separator: "\n").map(String.init)
        #expect(errors.count == 5)
        #expect(errors[0].hasPrefix("line 3: unknown outcome 'maybe'"))
        #expect(errors[1].hasPrefix("line 4: unreadable date '3rd of November'"))
        #expect(errors[2] == "line 5: no customer")
        #expect(errors[3] == "line 6: task 01NOSUCHTASK-1 does not exist")
        #expect(errors[4].hasPrefix("line 7: not a readable JSON object"))
        out = try nextbest("outcomes", "import", dir + "/outcomes.jsonl", "--store", url)
        #expect(out.status == 1)
        #expect(out.stdout.contains("0 imported, 3 duplicates, 5 error rows"), "\(out.stdout)")

        // CSV, with a policy set: its actions are the known ones.
        try write("customer,action,outcome,at\nC4,invite_webinar,accepted,2026-11-04\nC4,invite_webinr,accepted,2026-11-04\n",
                  to: dir + "/more.csv")
        out = try nextbest("outcomes", "import", dir + "/more.csv", "--store", url, "--policies", "policies")
        #expect(out.status == 1)
        #expect(out.stdout.contains("1 imported, 0 duplicates, 1 error row"), "\(out.stdout) \(out.stderr)")
        #expect(out.stderr.contains("line 3: unknown action 'invite_webinr' (did you mean 'invite_webinar'?)"))

        out = try nextbest("history", "--store", url, "--customer", "C1")
        #expect(out.status == 0)
        #expect(out.lines.first == "customer C1: 0 contacts, 2 outcomes (newest first)")
        #expect(out.lines.count == 3 && out.lines[1].contains("2026-11-03T00:00:00Z  declined") && out.lines[1].contains("value 5"))
        out = try nextbest("history", "--store", url, "--customer", "C1", "--format", "json")
        let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
        let history = json?["history"] as? [[String: Any]]
        #expect(history?.count == 2 && history?[1]["outcome"] as? String == "accepted" && history?[1]["at"] as? String == "2026-11-02T10:00:00Z")
        out = try nextbest("history", "--store", url, "--customer", "nobody")
        #expect(out.status == 0 && out.stdout.contains("customer nobody: no contacts or outcomes"))
    }

    @Test("an import killed with SIGKILL leaves whole batches; the same import again completes it, nothing doubled",
          arguments: CLIBackend.available)
    func killedImportResumes(_ backend: CLIBackend) async throws {
        let dir = try temporaryDirectory()
        let url = try freshStoreURL(backend, in: dir)
        let rows = 200_000, batch = 1000
        try outcomeFile(dir + "/big.jsonl", rows: rows)
        #expect(try nextbest("store", "migrate", "--store", url).status == 0)
        // Watched from other processes, with this thread held (no await): under a busy parallel
        // test run, a suspended task may not be scheduled again before the import ends.
        func outcomesSoFar() throws -> Int {
            let out = try nextbest("store", "migrate", "--store", url)
            // "...; 0 decisions, 0 tasks, 12,000 outcomes"
            guard let part = out.stdout.components(separatedBy: "tasks, ").last else { return 0 }
            return Int(part.filter(\.isNumber)) ?? 0
        }
        let p = try start(["outcomes", "import", dir + "/big.jsonl", "--store", url, "--batch-size", "\(batch)"], dir: dir, tag: "first")
        var seen = 0
        while p.isRunning {
            seen = try outcomesSoFar()
            if seen >= 2 * batch { break }
            usleep(5_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "the import finished before it could be killed")
        let left = try await storeCounts(url).outcomes
        #expect(left >= seen && left < rows)
        #expect(left % batch == 0, "a partial batch was left: \(left) rows")
        let out = try nextbest("outcomes", "import", dir + "/big.jsonl", "--store", url, "--batch-size", "\(batch)")
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("\(grouped(rows - left)) imported, \(grouped(left)) duplicates, 0 error rows"), "\(out.stdout)")
        #expect(try await storeCounts(url).outcomes == rows)
    }

    @Test("two processes importing into one SQLite store at once both succeed")
    func twoWriters() async throws {
        let dir = try temporaryDirectory()
        let url = "sqlite:" + dir + "/shared.db"
        try outcomeFile(dir + "/a.jsonl", rows: 40_000, prefix: "A")
        try outcomeFile(dir + "/b.jsonl", rows: 40_000, prefix: "B")
        // Both start on a store that does not exist yet: creating it is part of the race.
        let a = try start(["outcomes", "import", dir + "/a.jsonl", "--store", url, "--batch-size", "500"], dir: dir, tag: "a")
        let b = try start(["outcomes", "import", dir + "/b.jsonl", "--store", url, "--batch-size", "500"], dir: dir, tag: "b")
        a.waitUntilExit()
        b.waitUntilExit()
        for tag in ["a", "b"] {
            let err = (try? String(contentsOfFile: "\(dir)/\(tag).err", encoding: .utf8)) ?? ""
            let out = (try? String(contentsOfFile: "\(dir)/\(tag).out", encoding: .utf8)) ?? ""
            #expect(!err.lowercased().contains("locked") && err.isEmpty, "\(tag): \(err)")
            #expect(out.contains("40,000 imported, 0 duplicates, 0 error rows"), "\(tag): \(out)")
        }
        #expect(a.terminationStatus == 0 && b.terminationStatus == 0)
        #expect(try await storeCounts(url).outcomes == 80_000)
    }

    @Test("a file that is not a NextBest store, a damaged one, or a newer one: exit 2, the file unchanged")
    func refusesForeignFiles() throws {
        let dir = try temporaryDirectory()
        try write("a,b\n1,2\n", to: dir + "/x.csv")
        try write("{\"customer\":\"C1\",\"action\":\"a\",\"outcome\":\"accepted\",\"at\":\"2026-11-01\"}\n", to: dir + "/o.jsonl")
        // Someone else's SQLite database.
        let foreign = dir + "/crm.db"
        try sqlite(foreign, "CREATE TABLE customers (id TEXT); INSERT INTO customers VALUES ('1');")
        // A damaged file: an SQLite database whose header was overwritten.
        let damaged = dir + "/damaged.db"
        try sqlite(damaged, "CREATE TABLE nextbest_store (key TEXT PRIMARY KEY, value TEXT); INSERT INTO nextbest_store VALUES ('schema_version', '1');")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: damaged))
        for i in 0..<64 { bytes[i] = UInt8(i * 7 & 0xff) }
        try bytes.write(to: URL(fileURLWithPath: damaged))
        // Not a database at all.
        let text = dir + "/notes.db"
        try write(String(repeating: "just some notes\n", count: 400), to: text)
        // A store from a newer NextBest.
        let newer = dir + "/newer.db"
        try sqlite(newer, "CREATE TABLE nextbest_store (key TEXT PRIMARY KEY, value TEXT); "
                   + "INSERT INTO nextbest_store VALUES ('schema_version', '\(storeSchemaVersion + 1)'); CREATE TABLE decisions (id TEXT);")

        let expectations: [(String, String)] = [
            (foreign, "is not a NextBest store: it already holds other tables (customers)"),
            (damaged, "cannot be read as a database"),
            (text, "cannot be read as a database"),
            (newer, "was made by a newer NextBest (store version \(storeSchemaVersion + 1)"),
        ]
        for (path, message) in expectations {
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            let commands: [[String]] = [
                ["store", "migrate", "--store", path],
                ["outcomes", "import", dir + "/o.jsonl", "--store", "sqlite:" + path],
                ["history", "--store", path, "--customer", "C1"],
            ]
            for args in commands {
                let out = try run(nextbestPath, args)
                #expect(out.status == 2, "\(args): \(out.stdout) \(out.stderr)")
                #expect(out.stderr.contains(message) && out.stderr.contains("left unchanged"), "\(args): \(out.stderr)")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(path) was changed")
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
        let bad = try nextbest("history", "--store", "mysql://u@h/db", "--customer", "C1")
        #expect(bad.status == 2 && bad.stderr.contains("is not a store: use sqlite:PATH"))
    }

    /// Runs SQL on an SQLite file with the library's own engine (GRDB is not a test dependency here).
    private func sqlite(_ path: String, _ sql: String) throws {
        let out = try run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
                                           path, sql])
        guard out.status == 0 else { throw CLIError("python3 sqlite3 failed: \(out.stderr)") }
    }
}

/// Thousands separators, as the CLI prints counts.
func grouped(_ n: Int) -> String {
    let f = NumberFormatter()
    f.numberStyle = .decimal
    f.groupingSeparator = ","
    f.usesGroupingSeparator = true
    return f.string(from: NSNumber(value: n)) ?? "\(n)"
}
