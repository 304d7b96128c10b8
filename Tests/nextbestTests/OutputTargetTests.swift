// `--out` and `--routes` into special files: a FIFO, a link to /dev/null and a file that
// exists are each handled as what they are; a device or a FIFO is never renamed over.
import Foundation
import Testing

@Suite("nextbest run: where the output goes")
struct OutputTargetTests {
    static func kind(_ path: String, follow: Bool = true) -> mode_t {
        var st = stat()
        let rc = follow ? stat(path, &st) : lstat(path, &st)
        return rc == 0 ? st.st_mode & S_IFMT : 0
    }

    @Test(arguments: [1, 2]) func outIntoAFIFOWritesThePlansIntoItAndLeavesTheFIFO(jobs: Int) throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        #expect(mkfifo(dir + "/plans", 0o600) == 0)
        // Hold the read end open (without waiting for a writer); three plans fit in the pipe.
        let reader = open(dir + "/plans", O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--jobs", String(jobs), "--out", dir + "/plans")
        #expect(r.status == 0, "\(r.stderr)")
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let n = read(reader, &buffer, buffer.count)
        let lines = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n") : []
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix(#"{"customer":"A""#) == true)
        #expect(Self.kind(dir + "/plans", follow: false) == S_IFIFO)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["p.jsonl", "plans"])
    }

    @Test(arguments: [1, 2]) func outThroughALinkToDevNullLeavesTheLinkAndDevNull(jobs: Int) throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        try FileManager.default.createSymbolicLink(atPath: dir + "/plans.jsonl", withDestinationPath: "/dev/null")
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--jobs", String(jobs), "--out", dir + "/plans.jsonl")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(Self.kind("/dev/null") == S_IFCHR)
        #expect(Self.kind(dir + "/plans.jsonl", follow: false) == S_IFLNK)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/plans.jsonl") == "/dev/null")
    }

    @Test(arguments: [1, 2]) func aRouteQueueThatLinksToDevNullIsWrittenThroughTheLink(jobs: Int) throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        try FileManager.default.createDirectory(atPath: dir + "/routes", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/routes/marketing.jsonl", withDestinationPath: "/dev/null")
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--jobs", String(jobs), "--routes", dir + "/routes", "--out", dir + "/plans.jsonl")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.kind("/dev/null") == S_IFCHR)
        #expect(Self.kind(dir + "/routes/marketing.jsonl", follow: false) == S_IFLNK)
        #expect(Self.kind(dir + "/routes/sales.jsonl", follow: false) == S_IFREG)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/routes").sorted()
                == ["customer_service.jsonl", "marketing.jsonl", "sales.jsonl"])
        #expect(r.stderr.contains("routes: \(dir)/routes/customer_service.jsonl"))
    }

    @Test func aRunThatFailsAfterOpeningOutLeavesTheOldFileAndNoTemporaryFile() throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        try write("yesterday's plans\n", to: dir + "/plans.jsonl")
        // --routes names a file, not a folder: the run stops after --out was opened.
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--out", dir + "/plans.jsonl", "--routes", dir + "/p.jsonl")
        #expect(r.status == 2)
        #expect(r.stderr.contains("cannot write routes to \(dir)/p.jsonl"))
        #expect(try String(contentsOfFile: dir + "/plans.jsonl", encoding: .utf8) == "yesterday's plans\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["p.jsonl", "plans.jsonl"])
    }

    @Test func outIntoAFolderThatDoesNotExistSaysSoAndExits2() throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--out", dir + "/missing/plans.jsonl")
        #expect(r.status == 2)
        #expect(r.stderr.contains("nextbest: cannot write \(dir)/missing/plans.jsonl: No such file or directory"))
    }
}
