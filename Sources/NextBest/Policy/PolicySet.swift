// PolicySet: a folder of Lua policy files, read once and loaded into each Lua state.
import Foundation

/// A problem in a policy set, placed at `file:line`.
public struct PolicyProblem: Sendable, Hashable, Decodable, CustomStringConvertible {
    /// The file, as a path under the set's folder (e.g. `policies/retention.lua`).
    public var file: String
    /// The 1-based line.
    public var line: Int
    /// What is wrong, in plain words.
    public var message: String
    /// `policies/retention.lua:14: unknown action 'retention_cal' (did you mean 'retention_call'?)`.
    public var description: String { "\(file):\(line): \(message)" }
}

/// Why a policy set could not be used.
public enum PolicySetError: Error, Sendable, CustomStringConvertible {
    /// The folder does not exist, is not readable, or holds no policy file.
    case unreadable(String)
    /// The set has problems; it loads whole or not at all.
    case invalid([PolicyProblem])

    /// Every problem on its own line.
    public var description: String {
        switch self {
        case .unreadable(let m): return m
        case .invalid(let ps): return ps.map(\.description).joined(separator: "\n")
        }
    }
}

/// One file of a policy set.
public struct PolicyFile: Sendable, Hashable {
    /// The path shown in messages: the set's folder joined with the file's relative path.
    public var path: String
    /// The file's text.
    public var text: String
    /// Whether it holds tests (under `tests/` or named `*_test.lua`).
    public var isTest: Bool
    /// The path relative to the set's folder (`retention.lua`, `tests/retention_test.lua`).
    public var relativePath: String
}

/// A policy set read from its folder: every `*.lua` file below it, in sorted path order.
public struct PolicySet: Sendable {
    /// The folder, as given.
    public let directory: String
    /// Its files, policy and test files alike, in sorted path order.
    public let files: [PolicyFile]

    /// Reads every `*.lua` file below `directory`.
    public init(directory: String) throws(PolicySetError) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw .unreadable("policy set not found: \(directory) is not a folder")
        }
        let base = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        guard let walker = fm.enumerator(atPath: base) else { throw .unreadable("cannot read the folder \(directory)") }
        var relative: [String] = []
        while let item = walker.nextObject() as? String {
            if item.hasSuffix(".lua") { relative.append(item) }
        }
        relative.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var files: [PolicyFile] = []
        for rel in relative {
            let path = base == "." ? rel : base + "/" + rel
            guard let data = fm.contents(atPath: path) else { continue }  // a folder named *.lua
            let parts = rel.split(separator: "/")
            let isTest = parts.dropLast().contains("tests") || rel.hasSuffix("_test.lua")
            files.append(PolicyFile(path: path, text: String(decoding: data, as: UTF8.self), isTest: isTest, relativePath: rel))
        }
        guard files.contains(where: { !$0.isTest }) else {
            throw .unreadable("no policy files (*.lua) in \(directory)")
        }
        self.directory = directory
        self.files = files
    }

    /// Opens a Lua state with this set loaded and sealed; throws its problems if it does not load.
    /// Test files are loaded only `withTests` (policy-language.md §6.1: a broken test never stops decisions).
    func openState(limits: Limits, withTests: Bool = false) throws(PolicySetError) -> (LuaState, LoadReport) {
        let (state, report) = try loadState(limits: limits, withTests: withTests)
        if !report.problems.isEmpty { throw .invalid(report.problems) }
        return (state, report)
    }

    /// Loads every file into a fresh state and reports what it found, problems included.
    func loadState(limits: Limits, withTests: Bool = true) throws(PolicySetError) -> (LuaState, LoadReport) {
        do {
            let state = try LuaState(limits: limits)
            for file in files where withTests || !file.isTest { try state.load(file) }
            return (state, try state.finish())
        } catch {
            throw .unreadable("cannot load the policy set \(directory): \(error)")
        }
    }
}
