// Importing outcomes: checking each row, then writing them in batches (one transaction each).
import Foundation

/// The rules an outcome row must pass before it reaches the store.
public struct OutcomeCheck: Sendable {
    /// The outcomes NextBest knows unless a policy set says otherwise.
    public static let defaultOutcomes = ["accepted", "declined", "ignored", "converted", "bounced"]

    /// The known outcomes.
    public var outcomes: Set<String>
    /// The known actions and their channels, from a policy set; `nil` when no set is given, and
    /// then any non-empty action name is taken (a row with a task must still name the task's action).
    public var actions: [String: String]?

    /// Rules with a list of outcomes and, optionally, the known actions (name → channel).
    public init(outcomes: [String] = OutcomeCheck.defaultOutcomes, actions: [String: String]? = nil) {
        self.outcomes = Set(outcomes)
        self.actions = actions
        self.outcomeList = outcomes
    }

    private let outcomeList: [String]

    /// The row, checked, or why it is an error row.
    public func check(_ raw: RawRow) -> Result<OutcomeRow, OutcomeRowError> {
        if let problem = raw.problem { return .failure(OutcomeRowError(line: raw.line, message: problem)) }
        func fail(_ m: String) -> Result<OutcomeRow, OutcomeRowError> { .failure(OutcomeRowError(line: raw.line, message: m)) }
        func field(_ name: String) -> String? { Self.trimmed(raw.fields[name]) }
        for (k, v) in raw.fields where v.utf8.contains(0) { return fail("field '\(k)' holds a NUL character") }
        guard let customer = field("customer") else { return fail("no customer") }
        guard let action = field("action") else { return fail("no action") }
        guard let outcome = field("outcome") else { return fail("no outcome") }
        guard let atText = field("at") else { return fail("no time: 'at' is missing") }
        if !outcomes.contains(outcome) {
            return fail("unknown outcome '\(outcome)'\(Self.suggestion(outcome, among: outcomeList)) — known: "
                        + outcomeList.joined(separator: ", "))
        }
        var channel = field("channel")
        if let actions {
            guard let declared = actions[action] else {
                return fail("unknown action '\(action)'\(Self.suggestion(action, among: actions.keys.sorted())): "
                            + "the policy set declares no such action")
            }
            if channel == nil && field("task") == nil { channel = declared }
        }
        guard let seconds = StoreTime.seconds(atText) else {
            return fail("unreadable date '\(atText)' (use ISO-8601, as in 2026-11-03 or 2026-11-03T10:00:00Z)")
        }
        var value: Double?
        if let v = field("value") {
            guard let d = Double(v), d.isFinite else { return fail("value '\(v)' is not a number") }
            value = d
        }
        return .success(OutcomeRow(id: field("id"), task: field("task"), customer: customer, action: action, channel: channel,
                                   outcome: outcome, at: Date(timeIntervalSince1970: TimeInterval(seconds)), value: value))
    }

    /// A cell without its surrounding white space, `nil` when nothing is left. Cells that start
    /// and end with a visible ASCII character (nearly all) are taken as they are, without Foundation.
    static func trimmed(_ v: String?) -> String? {
        guard let v, let first = v.utf8.first, let last = v.utf8.last else { return nil }
        if first > 32 && first < 128 && last > 32 && last < 128 { return v }
        let t = v.trimmingCharacters(in: .whitespaces)
        return t.isEmpty ? nil : t
    }

    /// Why a row naming a task that does not exist is refused.
    public static func noTask(_ id: String) -> String { "task \(id) does not exist" }

    /// Why a row does not fit its task, or `nil` when it does.
    public static func mismatch(_ row: OutcomeRow, taskCustomer: String, taskAction: String) -> String? {
        if row.customer != taskCustomer {
            return "task \(row.task ?? "") belongs to customer \(taskCustomer), not \(row.customer)"
        }
        if row.action != taskAction { return "task \(row.task ?? "") is for action \(taskAction), not \(row.action)" }
        return nil
    }

    /// " (did you mean 'x'?)" for the closest name within two edits, or "".
    static func suggestion(_ word: String, among names: [String]) -> String {
        var best: (String, Int)?
        for n in names {
            let d = editDistance(word, n)
            if d <= 2 && d < (best?.1 ?? Int.max) { best = (n, d) }
        }
        return best.map { " (did you mean '\($0.0)'?)" } ?? ""
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        if x.isEmpty || y.isEmpty { return max(x.count, y.count) }
        var prev = Array(0...y.count)
        for i in 1...x.count {
            var cur = [i] + Array(repeating: 0, count: y.count)
            for j in 1...y.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[y.count]
    }
}

/// An error row: its line and why.
public struct OutcomeRowError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line the row starts on.
    public var line: Int
    /// Why it was not imported.
    public var message: String
    /// `line N: why`.
    public var description: String { "line \(line): \(message)" }
}

/// What an import did, over all its batches.
public struct OutcomeImportSummary: Sendable, Hashable {
    /// Rows written.
    public var imported = 0
    /// Rows already in the store.
    public var duplicates = 0
    /// Error rows, in file order.
    public var errors: [OutcomeRowError] = []
    /// Batches committed.
    public var batches = 0
    /// An empty summary.
    public init() {}
}

/// Imports rows into a store in batches of `batchSize`, each batch one transaction. A run killed
/// part-way leaves whole batches; running it again counts those rows as duplicates.
public struct OutcomeImporter: Sendable {
    /// The store written to.
    public var store: any Store
    /// The rules rows must pass.
    public var check: OutcomeCheck
    /// Rows per transaction.
    public var batchSize: Int

    /// The rows per transaction unless told otherwise: big enough that commits are a small part
    /// of an import's time, small enough that a batch is written in a fraction of a second.
    public static let defaultBatchSize = 20_000

    /// An importer.
    public init(store: any Store, check: OutcomeCheck = OutcomeCheck(), batchSize: Int = OutcomeImporter.defaultBatchSize) {
        self.store = store
        self.check = check
        self.batchSize = max(1, batchSize)
    }

    /// Imports every row `rows` yields; `progress` is called after each committed batch.
    ///
    /// Reading and checking the next batch overlaps with writing the one before (at most one
    /// batch is being written at a time, so batches commit in file order).
    public func run<S: Sequence>(_ rows: S, progress: (OutcomeImportSummary) -> Void = { _ in }) async throws
        -> OutcomeImportSummary where S.Element == RawRow {
        var summary = OutcomeImportSummary()
        var batch: [OutcomeRow] = []
        var lines: [Int] = []
        batch.reserveCapacity(batchSize)
        var writing: (task: Task<OutcomeImportResult, any Error>, lines: [Int])?
        let store = self.store
        func settle() async throws {
            guard let w = writing else { return }
            writing = nil
            let r = try await w.task.value
            summary.imported += r.imported
            summary.duplicates += r.duplicates
            summary.batches += 1
            for rej in r.rejected { summary.errors.append(OutcomeRowError(line: w.lines[rej.index], message: rej.reason)) }
            progress(summary)
        }
        func flush() async throws {
            guard !batch.isEmpty else { return }
            try await settle()
            let rows = batch
            writing = (Task { try await store.importOutcomes(rows) }, lines)
            batch = []
            batch.reserveCapacity(batchSize)
            lines = []
        }
        do {
            for raw in rows {
                switch check.check(raw) {
                case .success(let row):
                    batch.append(row)
                    lines.append(raw.line)
                    if batch.count >= batchSize { try await flush() }
                case .failure(let e):
                    summary.errors.append(e)
                }
            }
            try await flush()
            try await settle()
        } catch {
            _ = try? await writing?.task.value  // never leave a batch being written behind
            throw error
        }
        summary.errors.sort { $0.line < $1.line }
        return summary
    }
}
