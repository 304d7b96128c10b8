// Support for CLI tests: run the built `nextbest` binary on real files.
import Foundation

/// The package's root folder.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The shared bench folder beside the repository (reference workload and baseline).
let benchDir = packageRoot + "/../shared/bench"

/// The built `nextbest` executable, next to the test bundle.
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

/// What a process printed and how it ended.
struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs an executable with arguments (and optional standard input); waits for it.
@discardableResult
func run(_ executable: String, _ args: [String], stdin: String? = nil, cwd: String = packageRoot) throws -> Output {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    // Standard error goes to a file, so neither stream can fill up while we read the other.
    let errPath = NSTemporaryDirectory() + "nextbest-stderr-" + UUID().uuidString
    FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    let errFile = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let out = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = errFile
    p.standardInput = inp
    try p.run()
    if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
    try inp.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    try errFile.close()
    let errData = FileManager.default.contents(atPath: errPath) ?? Data()
    return Output(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                  stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs `nextbest` with arguments.
@discardableResult
func nextbest(_ args: String..., stdin: String? = nil) throws -> Output {
    try run(nextbestPath, args, stdin: stdin)
}

/// A fresh temporary folder.
func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "nextbest-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes text to a file, creating folders.
func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}
