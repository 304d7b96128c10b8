// Test support: a real `nextbest serve` process on a free loopback port, and a raw HTTP/1.1 client.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The package's root folder.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.path
}()

/// The built `nextbest` executable.
let nextbestPath: String = {
    let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [besideTests.appendingPathComponent("nextbest").path]
    var dir = besideTests
    for _ in 0..<4 {
        dir.deleteLastPathComponent()
        candidates.append(dir.appendingPathComponent("debug/nextbest").path)
    }
    candidates.append(packageRoot + "/.build/debug/nextbest")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}()

/// The sample policy set and its profiles.
let samplePolicies = packageRoot + "/policies"
let sampleProfiles = packageRoot + "/policies/samples/customers.jsonl"

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A fresh temporary folder.
func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "nextbest-serve-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes text to a file, creating folders.
func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}

/// Copies a folder.
func copyFolder(_ from: String, to: String) throws {
    try FileManager.default.copyItem(atPath: from, toPath: to)
}

/// A `nextbest serve` process; killed (SIGKILL) when the test is done with it unless it already ended.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let errPath: String

    /// Starts `nextbest serve --port 0 ARGS` and waits for its "listening on" line.
    init(_ args: [String]) throws {
        errPath = NSTemporaryDirectory() + "nextbest-serve-err-" + UUID().uuidString
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let errFile = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.executableURL = URL(fileURLWithPath: nextbestPath)
        process.arguments = ["serve", "--port", "0"] + args
        process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        process.standardError = errFile
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try errFile.close()
        let deadline = Date().addingTimeInterval(60)
        var found: Int?
        let errPath = self.errPath
        func stderr() -> String { String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self) }
        while Date() < deadline && found == nil {
            let stderr = stderr()
            if let range = stderr.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let text = stderr[range]
                found = Int(text.split(separator: ":").last ?? "")
                break
            }
            if !process.isRunning { throw TestFailure("serve ended before listening: \(stderr)") }
            usleep(20_000)
        }
        guard let found else { throw TestFailure("serve did not start listening: \(stderr())") }
        port = found
    }

    /// Everything the server wrote to standard error so far.
    var stderr: String {
        String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
    }

    /// Sends a signal.
    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for the process to end, at most `seconds`; its exit status, or nil when it is still running.
    func waitForExit(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// One request.
    func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) throws -> HTTPReply {
        try HTTPClient(port: port).send(method, path, body: body.map { Array($0.utf8) }, headers: headers)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: errPath)
    }
}

/// An HTTP answer.
struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    /// The body as a JSON object (Foundation's parser: tests only).
    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
}

/// A raw HTTP/1.1 client on one loopback connection: it can send what a well-behaved client would not.
final class HTTPClient {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
    }

    deinit { close(fd) }

    /// Sends raw bytes (ignores a peer that closed early).
    func sendRaw(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Sends a request with a Content-Length body and reads the answer.
    func send(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:]) throws -> HTTPReply {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body, headers["Content-Length"] == nil, headers["Transfer-Encoding"] == nil {
            head += "Content-Length: \(body.count)\r\nContent-Type: application/json\r\n"
        }
        head += "\r\n"
        sendRaw(Array(head.utf8) + (body ?? []))
        return try readReply()
    }

    /// Reads one answer (Content-Length framed, as the server writes them).
    func readReply() throws -> HTTPReply {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() throws {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw TestFailure("the connection closed before a full answer") }
            buffer.append(contentsOf: chunk[0..<n])
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            try fill()
            if buffer.count >= 4 {
                for i in 0...(buffer.count - 4) where Array(buffer[i..<i + 4]) == separator { headEnd = i; break }
            }
        }
        let headText = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw TestFailure("bad status line: \(headText)") }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let start = headEnd! + 4
        while buffer.count < start + length { try fill() }
        return HTTPReply(status: status, headers: headers, body: Array(buffer[start..<start + length]))
    }
}

/// Runs `nextbest` with arguments and waits; its standard output.
func runNextbest(_ args: [String]) throws -> (status: Int32, stdout: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: nextbestPath)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
