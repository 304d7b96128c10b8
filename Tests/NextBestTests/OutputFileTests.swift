// OutputFile: regular files appear whole (written beside, renamed); devices, FIFOs and
// /dev/std*-style names are written in place and never renamed over.
import Foundation
import NextBest
import Testing

@Suite("OutputFile")
struct OutputFileTests {
    /// A fresh temporary folder.
    static func folder() throws -> String {
        let dir = NSTemporaryDirectory() + "nextbest-out-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ text: String, to file: OutputFile) throws {
        try Array(text.utf8).withUnsafeBytes { try file.write($0) }
    }

    static func kind(_ path: String, follow: Bool = true) -> mode_t {
        var st = stat()
        let rc = follow ? stat(path, &st) : lstat(path, &st)
        return rc == 0 ? st.st_mode & S_IFMT : 0
    }

    @Test func aRegularFileKeepsItsOldTextUntilCommitThenHasTheNewTextWhole() throws {
        let dir = try Self.folder()
        try "old\n".write(toFile: dir + "/plans.jsonl", atomically: false, encoding: .utf8)
        let out = try OutputFile(path: dir + "/plans.jsonl")
        #expect(!out.isDirect)
        try Self.write("new\n", to: out)
        #expect(try String(contentsOfFile: dir + "/plans.jsonl", encoding: .utf8) == "old\n")
        try out.commit()
        #expect(try String(contentsOfFile: dir + "/plans.jsonl", encoding: .utf8) == "new\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["plans.jsonl"])
    }

    @Test func discardLeavesTheOldFileAndNoTemporaryFile() throws {
        let dir = try Self.folder()
        try "old\n".write(toFile: dir + "/plans.jsonl", atomically: false, encoding: .utf8)
        let out = try OutputFile(path: dir + "/plans.jsonl")
        try Self.write("half", to: out)
        out.discard()
        #expect(try String(contentsOfFile: dir + "/plans.jsonl", encoding: .utf8) == "old\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["plans.jsonl"])
    }

    @Test func aNewFileAppearsOnlyOnCommit() throws {
        let dir = try Self.folder()
        let out = try OutputFile(path: dir + "/new.jsonl")
        try Self.write("x\n", to: out)
        #expect(!FileManager.default.fileExists(atPath: dir + "/new.jsonl"))
        try out.commit()
        #expect(try String(contentsOfFile: dir + "/new.jsonl", encoding: .utf8) == "x\n")
    }

    @Test func theReplacedFileKeepsItsPermissions() throws {
        let dir = try Self.folder()
        try "old".write(toFile: dir + "/p.jsonl", atomically: false, encoding: .utf8)
        chmod(dir + "/p.jsonl", 0o600)
        let out = try OutputFile(path: dir + "/p.jsonl")
        try out.commit()
        var st = stat()
        stat(dir + "/p.jsonl", &st)
        #expect(st.st_mode & 0o777 == 0o600)
    }

    @Test func aLinkToDevNullIsWrittenThroughAndDevNullStaysACharacterDevice() throws {
        let dir = try Self.folder()
        try FileManager.default.createSymbolicLink(atPath: dir + "/sink", withDestinationPath: "/dev/null")
        let out = try OutputFile(path: dir + "/sink")
        #expect(out.isDirect)
        try Self.write("plans\n", to: out)
        try out.commit()
        #expect(Self.kind("/dev/null") == S_IFCHR)
        #expect(Self.kind(dir + "/sink", follow: false) == S_IFLNK)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/sink") == "/dev/null")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["sink"])
    }

    @Test func aFIFOIsWrittenInPlaceAndStaysAFIFO() throws {
        let dir = try Self.folder()
        let fifo = dir + "/queue"
        #expect(mkfifo(fifo, 0o600) == 0)
        let received = Received()
        let reader = Thread {
            received.set(readToEnd(fifo))
        }
        reader.start()
        let out = try OutputFile(path: fifo)  // opening blocks until the reader has opened
        #expect(out.isDirect)
        try Self.write("one\ntwo\n", to: out)
        try out.commit()
        #expect(received.wait() == Data("one\ntwo\n".utf8))
        #expect(Self.kind(fifo, follow: false) == S_IFIFO)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["queue"])
    }

    @Test func aDevFdNameWritesToThatDescriptor() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let out = try OutputFile(path: "/dev/fd/\(ends[1])")
        #expect(out.isDirect)
        try Self.write("abc", to: out)
        try out.commit()
        close(ends[1])  // the writer's copy was its own; this closes the last write end
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = read(ends[0], &buffer, 16)
        #expect(n == 3 && Array(buffer[0..<3]) == Array("abc".utf8))
    }

    @Test func devStdoutAndStandardOutputAreWrittenDirectly() throws {
        #expect(try OutputFile(path: "/dev/stdout").isDirect)
        #expect(try OutputFile(path: "/dev/stderr").isDirect)
        #expect(try OutputFile(path: nil).isDirect)
    }

    @Test func aLinkToARegularFileStaysALinkAndItsTargetIsReplaced() throws {
        let dir = try Self.folder()
        try "old".write(toFile: dir + "/real.jsonl", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.jsonl", withDestinationPath: dir + "/real.jsonl")
        let out = try OutputFile(path: dir + "/link.jsonl")
        #expect(!out.isDirect)
        try Self.write("new", to: out)
        try out.commit()
        #expect(Self.kind(dir + "/link.jsonl", follow: false) == S_IFLNK)
        #expect(try String(contentsOfFile: dir + "/real.jsonl", encoding: .utf8) == "new")
    }

    @Test func aFolderOrAMissingFolderIsAPlainError() throws {
        let dir = try Self.folder()
        #expect { try OutputFile(path: dir) } throws: { "\($0)" == "\(dir) is a folder, not a file" }
        #expect { try OutputFile(path: dir + "/no/such/plans.jsonl") } throws: {
            "\($0)" == "cannot write \(dir)/no/such/plans.jsonl: No such file or directory"
        }
    }
}

/// Bytes handed from a reader thread to the test.
final class Received: @unchecked Sendable {
    private let condition = NSCondition()
    private var data: Data?

    func set(_ d: Data) {
        condition.lock()
        data = d
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Data {
        condition.lock()
        defer { condition.unlock() }
        while data == nil { condition.wait() }
        return data!
    }
}

/// Everything read from `path` until the writer closes it (a FIFO's size says nothing).
func readToEnd(_ path: String) -> Data {
    let fd = open(path, O_RDONLY)  // for a FIFO, waits for a writer
    guard fd >= 0 else { return Data() }
    defer { close(fd) }
    var all = Data(), buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return all }
        all.append(contentsOf: buffer[0..<n])
    }
}
