// The policy set being served: loaded and checked off the request path, swapped in whole.
import Foundation
import NextBest
import Synchronization

/// One loaded policy set with the engine that runs it. Requests take a reference to it when
/// they start and keep it to the end, so a reload never changes a decision half-way.
public struct LoadedPolicies: Sendable {
    /// The engine.
    public let engine: Engine
    /// The set's revision (``PolicySet/revision``).
    public let revision: String
    /// When it loaded (ISO-8601, UTC).
    public let loadedAt: String
    /// How many segments, actions, policies and tests it declares.
    public let segments: Int, actions: Int, policies: Int, tests: Int
    /// The departments its actions go to.
    public let departments: [String]
    /// Load-time warnings, as `file:line: message`.
    public let warnings: [String]
}

/// A reload that did not load: the old set keeps serving.
public struct ReloadFailure: Sendable {
    /// When it was tried (ISO-8601, UTC).
    public let at: String
    /// What was wrong, each as `file:line: message` where there is a place.
    public let problems: [String]
}

/// What one reload did.
public enum ReloadResult: Sendable {
    /// A new set is serving (its revision differs from the old one).
    case loaded(revision: String, previous: String)
    /// The files give the same revision as the set serving: nothing to swap.
    case unchanged(revision: String)
    /// The set did not load; the old one keeps serving.
    case failed(ReloadFailure)
}

/// The set being served and the last failed reload, behind a lock; reloads are one at a time.
public final class LivePolicies: Sendable {
    /// The folder the set is read from.
    public let directory: String
    private let options: EngineOptions
    private let state: Mutex<(current: LoadedPolicies, failure: ReloadFailure?)>
    private let loading = Mutex(())

    /// Loads the set in `directory`; throws when it does not load (the server cannot start).
    public init(directory: String, options: EngineOptions) throws(PolicySetError) {
        self.directory = directory
        self.options = options
        state = Mutex((try LivePolicies.load(directory, options), nil))
    }

    /// The set serving now.
    public var current: LoadedPolicies { state.withLock { $0.current } }

    /// The last reload that failed, until a good set loads.
    public var lastFailure: ReloadFailure? { state.withLock { $0.failure } }

    /// Reads, loads and checks the folder again and swaps the new set in when it loads. Blocks
    /// while loading (call it off the request path); two reloads never overlap.
    public func reload() -> ReloadResult {
        loading.withLock { _ in
            let old = current.revision
            do {
                let fresh = try LivePolicies.load(directory, options)
                return state.withLock { s -> ReloadResult in
                    s.failure = nil
                    if fresh.revision == s.current.revision { return .unchanged(revision: fresh.revision) }
                    s.current = fresh
                    return .loaded(revision: fresh.revision, previous: old)
                }
            } catch {
                let problems: [String]
                switch error as? PolicySetError {
                case .invalid(let ps): problems = ps.map(\.description)
                case .unreadable(let m): problems = [m]
                case nil: problems = ["\(error)"]
                }
                let failure = ReloadFailure(at: LivePolicies.timestamp(), problems: problems)
                state.withLock { $0.failure = failure }
                return .failed(failure)
            }
        }
    }

    private static func load(_ directory: String, _ options: EngineOptions) throws(PolicySetError) -> LoadedPolicies {
        let set = try PolicySet(directory: directory)
        let check = try set.check(limits: options.limits)
        if !check.problems.isEmpty { throw .invalid(check.problems) }
        let engine = try Engine(policySet: set, options: options)
        return LoadedPolicies(engine: engine, revision: set.revision, loadedAt: timestamp(),
                              segments: check.segments.count, actions: check.actions.count,
                              policies: check.policies.count, tests: check.tests,
                              departments: engine.departments, warnings: engine.warnings.map(\.description))
    }

    /// The current time as ISO-8601 UTC, to the second.
    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}

/// A cheap fingerprint of a policy folder: every `.lua` file's path, size and modification time.
/// `--watch` compares it every second and reloads when it changes.
struct FolderFingerprint: Equatable {
    private var entries: [String]

    /// Reads the folder; an unreadable folder gives an empty fingerprint.
    init(directory: String) {
        let fm = FileManager.default
        var out: [String] = []
        if let walker = fm.enumerator(atPath: directory) {
            while let item = walker.nextObject() as? String {
                guard item.hasSuffix(".lua"),
                      let attrs = try? fm.attributesOfItem(atPath: directory + "/" + item) else { continue }
                let size = (attrs[.size] as? NSNumber)?.int64Value ?? -1
                let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                out.append("\(item)\t\(size)\t\(mtime)")
            }
        }
        entries = out.sorted()
    }
}
