// `--out` and `--routes` naming a device or a /dev/std* path (issue 16): written in place, never
// renamed over (as root a rename would replace /dev/null itself, and the /dev/stdout link).
import Foundation
import Testing

@Suite("nextbest run: devices and /dev/std* as outputs")
struct DeviceOutputTests {
    static func kind(_ path: String, follow: Bool = true) -> mode_t {
        var st = stat()
        let rc = follow ? stat(path, &st) : lstat(path, &st)
        return rc == 0 ? st.st_mode & S_IFMT : 0
    }

    /// The names in /dev, to see that no file was written beside a device.
    static func devEntries() throws -> Set<String> { Set(try FileManager.default.contentsOfDirectory(atPath: "/dev")) }

    @Test(arguments: [1, 2]) func outIntoDevNullLeavesDevNullACharacterDevice(jobs: Int) throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        let before = try Self.devEntries()
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--jobs", String(jobs), "--out", "/dev/null")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(Self.kind("/dev/null", follow: false) == S_IFCHR)
        #expect(try Self.devEntries().subtracting(before).isEmpty)
    }

    @Test(arguments: [1, 2]) func outAndRoutesThroughDevStdoutWriteToStandardOutputAndKeepTheLink(jobs: Int) throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        let wasLink = Self.kind("/dev/stdout", follow: false)
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                             "--jobs", String(jobs), "--out", "/dev/stdout")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix(#"{"customer":"A""#) == true)
        #expect(Self.kind("/dev/stdout", follow: false) == wasLink)
        #expect(Self.kind("/dev/null", follow: false) == S_IFCHR)
        // A route queue that is a device is written in place as well.
        try FileManager.default.createDirectory(atPath: dir + "/routes", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/routes/sales.jsonl", withDestinationPath: "/dev/stdout")
        let routed = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl", "--now", "2026-11-01",
                                  "--jobs", String(jobs), "--routes", dir + "/routes", "--out", "/dev/null")
        #expect(routed.status == 0, "\(routed.stderr)")
        #expect(Self.kind(dir + "/routes/sales.jsonl", follow: false) == S_IFLNK)
        #expect(Self.kind("/dev/stdout", follow: false) == wasLink)
        #expect(Self.kind("/dev/null", follow: false) == S_IFCHR)
    }
}
