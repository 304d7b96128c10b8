// What `run --store`, `--record` and `--history` add to a run: contact history from a store or a file, and recorded plans.
import Foundation
import NextBest
import NextBestStore

/// Runs `body` (async) from synchronous code and waits for it. Used from the run's own threads
/// (the main thread and the batch workers), never from inside Swift concurrency.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    try Pending(body).wait()
}

/// Async work started from synchronous code, to be waited for later (`blocking` waits at once).
/// Its result is written once, before `done` is signalled, and read only after that.
final class Pending<T: Sendable>: @unchecked Sendable {
    private var result: Result<T, any Error>?
    private let done = DispatchSemaphore(value: 0)
    private var waited = false

    /// Starts `body` now.
    init(_ body: @escaping @Sendable () async throws -> T) {
        Task {
            do { self.result = .success(try await body()) } catch { self.result = .failure(error) }
            self.done.signal()
        }
    }

    /// Waits until `body` has finished (at once when waited for before) and gives its result.
    /// Called from one thread.
    func wait() throws -> T {
        if !waited {
            done.wait()
            waited = true
        }
        return try result!.get()
    }
}

/// A store's contact history for the engine: each customer's recorded tasks that were not
/// cancelled (a contact at `created_at`) with their outcomes attached, and outcomes that name no
/// recorded task as contacts of their own (`ContactRow.merge`). One store query per chunk of
/// customers, for the window the set's rules need.
struct StoreContactHistory: ContactHistoryProvider {
    let store: any Store
    /// The run being recorded: its own earlier decisions (a resumed run) are not history.
    let run: String?

    func contacts(for customers: [String], since: Int64?) throws -> [String: [PastContact]] {
        var batch = ContactBatch()
        try contacts(for: customers, since: since, into: &batch)
        return batch.byCustomer
    }

    func contacts(for customers: [String], since: Int64?, into batch: inout ContactBatch) throws {
        let store = self.store, run = self.run
        let from = since.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        if let sqlite = store as? SQLiteStore {  // read on this worker thread: no hop per chunk
            batch = try sqlite.contactsWaiting(customers: customers, since: from, skippingRun: run)
        } else {
            batch = try blocking { try await store.contacts(customers: customers, since: from, skippingRun: run) }
        }
    }
}

/// A history file (`run --history FILE`): JSON Lines objects or CSV rows with `customer`,
/// `action`, `channel`, `at` and optionally `outcome`.
enum HistoryFile {
    /// Reads the whole file; throws a message naming the line of the first bad row.
    static func read(_ path: String) throws -> ContactHistory {
        guard let data = FileManager.default.contents(atPath: path) else { throw HistoryFileError(message: "cannot read the history file \(path)") }
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = first.dropFirst() }
        let csv = path.lowercased().hasSuffix(".csv")
        var byCustomer: [String: [PastContact]] = [:]
        var columns = ["customer", "action", "channel", "at", "outcome"]
        for (i, line) in lines.enumerated() {
            let n = i + 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            var fields: [String: String] = [:]
            if csv {
                let cells = CSVLine.cells(String(line))
                if i == 0 && cells.first?.trimmingCharacters(in: .whitespaces).lowercased() == "customer" {
                    columns = cells.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                    continue
                }
                for (k, v) in zip(columns, cells) where !v.isEmpty { fields[k] = v }
            } else {
                guard case .object(let o)? = try? JSONValue(parsing: String(line)) else {
                    throw HistoryFileError(message: "\(path):\(n): not a JSON object (each line is {\"customer\", \"action\", \"channel\", \"at\", \"outcome\"?})")
                }
                for (k, v) in o {
                    switch v {
                    case .string(let s): fields[k] = s
                    case .int(let x): fields[k] = String(x)
                    case .null: break
                    default: throw HistoryFileError(message: "\(path):\(n): \"\(k)\" must be text")
                    }
                }
            }
            guard let customer = fields["customer"], !customer.isEmpty else { throw HistoryFileError(message: "\(path):\(n): no customer") }
            guard let action = fields["action"], !action.isEmpty else { throw HistoryFileError(message: "\(path):\(n): no action") }
            guard let at = fields["at"], let when = StoreTime.normalized(at) else {
                throw HistoryFileError(message: "\(path):\(n): \"at\" must be an ISO-8601 date or date-time, like 2026-11-03 or 2026-11-03T10:00:00Z")
            }
            let channel = fields["channel"].flatMap { $0.isEmpty ? nil : $0 }
            byCustomer[customer, default: []].append(PastContact(action: action, channel: channel, at: when, outcome: fields["outcome"]))
        }
        return ContactHistory(byCustomer)
    }
}

/// A history file that cannot be used, with its line.
struct HistoryFileError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// CSV cells of one line (quotes as RFC 4180; a comma or semicolon separator, whichever the line uses first outside quotes).
enum CSVLine {
    static func cells(_ line: String) -> [String] {
        var out: [String] = [], cell = "", quoted = false
        var sep: Character? = nil
        var chars = Array(line)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { cell.append("\""); chars = chars.dropFirst() } else { quoted = false }
                } else { cell.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if (sep == nil && (c == "," || c == ";")) || c == sep {
                sep = c
                out.append(cell)
                cell = ""
            } else {
                cell.append(c)
            }
        }
        out.append(cell)
        return out
    }
}

/// What a run's `--store`, `--record`, `--run-id` and `--history` set up: the history provider,
/// the recorder, and the lines they add to the summary.
struct RunMemory {
    var history: (any ContactHistoryProvider)?
    var recorder: PlanRecorder?
    var store: (any Store)?
    var runID: String?
    var source = ""

    /// Opens the store or reads the history file the run asks for (exit 2 when it cannot).
    static func open(run: Run, engine: Engine) throws -> RunMemory {
        var m = RunMemory()
        if let path = run.history {
            do { m.history = try HistoryFile.read(path) } catch { throw cannotRun("\(error)") }
            m.source = "history file \(path)"
            return m
        }
        guard let text = run.store else { return m }
        let url: StoreURL
        do { url = try StoreURL(text) } catch { throw cannotRun(error.description) }
        let store: any Store
        do { store = try blocking { try await openStore(url).store } } catch { throw cannotRun(storeMessage(error)) }
        m.store = store
        m.source = "store \(url)"
        if run.record {
            let id = run.runId ?? "run-" + DecisionIDGenerator().next()
            m.runID = id
            let at = engine.options.now.flatMap { StoreTime.date($0) } ?? Date()
            var sla: [String: Double] = [:]
            for a in engine.policySet.actionsWithSLA(engine) { sla[a.name] = a.days }
            m.recorder = PlanRecorder(store: store, run: id, revision: engine.policySet.revision, at: at, sla: sla,
                                      fields: engine.departmentFields)
        }
        // A store that holds no task and no outcome yet (a first recorded run) has no history to
        // read: the run then asks it nothing per customer.
        let holdsContacts: Bool
        do { holdsContacts = try blocking { try await store.holdsContacts() } } catch { throw cannotRun(storeMessage(error)) }
        if holdsContacts {
            m.history = StoreContactHistory(store: store, run: m.runID)
        } else {
            m.source += " (no contacts in it yet)"
        }
        return m
    }

    /// Closes the store.
    func close() {
        guard let store else { return }
        _ = try? blocking { await store.close() }
    }

    /// The summary's lines about history and recording ("" when the run used neither).
    var summaryLines: String {
        var lines: [String] = []
        if !source.isEmpty { lines.append("  contact history: \(source)") }
        if let r = recorder {
            let res = r.result
            lines.append("  recorded: run \(r.run): \(grouped(res.decisions)) decisions, \(grouped(res.tasks)) tasks"
                + (res.skipped > 0 ? " (\(grouped(res.skipped)) already recorded by an earlier attempt of this run, skipped)" : ""))
        }
        return lines.isEmpty ? "" : "\n" + lines.joined(separator: "\n")
    }
}

extension PolicySet {
    /// The actions with `sla_days`, as the engine describes them.
    func actionsWithSLA(_ engine: Engine) -> [(name: String, days: Double)] {
        engine.actionInfo.compactMap { a in a.slaDays.map { (a.name, $0) } }
    }
}
