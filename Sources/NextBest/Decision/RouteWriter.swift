// RouteWriter: one JSON Lines work queue per department, written beside and renamed whole.
import Foundation

/// Writes `DIR/<department>.jsonl`, one line per action to carry out. Lines go to hidden
/// temporary files first; ``commit()`` renames them into place, ``discard()`` removes them.
public final class RouteWriter {
    private let directory: String
    private var files: [String: (fd: Int32, temp: String)] = [:]

    /// Prepares `directory` (created if needed) with a queue for each of `departments`.
    public init(directory: String, departments: [String]) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for d in departments { _ = try file(for: d) }
    }

    private func file(for department: String) throws -> Int32 {
        if let f = files[department] { return f.fd }
        let temp = "\(directory)/.\(department).jsonl.\(getpid()).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw ProfileReadError(message: "cannot write \(temp): \(String(cString: strerror(errno)))") }
        files[department] = (fd, temp)
        return fd
    }

    /// Adds the work items of a batch of plans to their departments' queues.
    func add(_ batch: RouteBatch) throws {
        try batch.forEach { dept, line in try writeAll(try file(for: dept), line) }
        batch.removeAll()
    }

    /// Moves every queue into place.
    public func commit() throws {
        for (dept, f) in files.sorted(by: { $0.key < $1.key }) {
            fsync(f.fd)
            close(f.fd)
            if rename(f.temp, "\(directory)/\(dept).jsonl") != 0 {
                throw ProfileReadError(message: "cannot move \(f.temp) into place: \(String(cString: strerror(errno)))")
            }
        }
        files.removeAll()
    }

    /// Removes the temporary files; nothing is left half-written.
    public func discard() {
        for f in files.values { close(f.fd); unlink(f.temp) }
        files.removeAll()
    }

    /// The department files written, in order.
    public var departmentFiles: [String] { files.keys.sorted().map { "\(directory)/\($0).jsonl" } }
}

/// Writes all of `bytes` to `fd`.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw ProfileReadError(message: "write error: \(String(cString: strerror(errno)))")
        }
        offset += n
    }
}
