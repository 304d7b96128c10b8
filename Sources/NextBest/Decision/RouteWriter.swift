// RouteWriter: one JSON Lines work queue per department, written beside and renamed whole.
import Foundation

/// Writes `DIR/<department>.jsonl`, one line per action to carry out. Each queue is an
/// `OutputFile`: lines go to hidden temporary files first; ``commit()`` renames them into
/// place, ``discard()`` removes them (a queue that is a FIFO or a device is written directly).
public final class RouteWriter {
    private let directory: String
    private var files: [String: OutputFile] = [:]

    /// Prepares `directory` (created if needed) with a queue for each of `departments`.
    public init(directory: String, departments: [String]) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for d in departments { _ = try file(for: d) }
    }

    private func file(for department: String) throws -> Int32 {
        if let f = files[department] { return f.fd }
        let f = try OutputFile(path: "\(directory)/\(department).jsonl")
        files[department] = f
        return f.fd
    }

    /// Adds the work items of a batch of plans to their departments' queues.
    func add(_ batch: RouteBatch) throws {
        try batch.forEach { dept, line in try writeAll(try file(for: dept), line) }
        batch.removeAll()
    }

    /// Moves every queue into place.
    public func commit() throws {
        defer { discard() }  // after a failure, the queues not yet in place are removed
        for (_, f) in files.sorted(by: { $0.key < $1.key }) { try f.commit() }
    }

    /// Removes the temporary files; nothing is left half-written.
    public func discard() {
        for f in files.values { f.discard() }
    }

    /// The department files written, in order.
    public var departmentFiles: [String] { files.keys.sorted().map { "\(directory)/\($0).jsonl" } }
}
