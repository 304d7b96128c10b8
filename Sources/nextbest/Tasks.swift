// nextbest tasks: a department's work queue from the store (list), and the moves assign, done, cancel.
import ArgumentParser
import Foundation
import NextBest
import NextBestStore

/// `nextbest tasks list|assign|done|cancel`.
struct Tasks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "Work a department's queue: list its tasks, assign, mark done, cancel.",
        discussion: """
            A task goes open → assigned → done, or is cancelled; an open task whose due time has \
            passed is expired (computed when read: nothing needs to run for it). A move that does \
            not fit the task's status (an unknown id, done on a cancelled task, assign on a done \
            one, assign on a task someone else has) changes nothing and exits 1, saying why.

            Example:
              nextbest tasks list --store sqlite:history.db --department sales --status open
              nextbest tasks assign 01JC4Z8T1M3Q6V9XK2R7B5N0PD-1 --to Giulia --store sqlite:history.db
              nextbest tasks done 01JC4Z8T1M3Q6V9XK2R7B5N0PD-1 --outcome accepted --note "called back" --store sqlite:history.db
            """,
        subcommands: [List.self, Assign.self, Done.self, Cancel.self]
    )

    /// `nextbest tasks list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "A department's queue (or every department's), oldest first, with the department's profile fields.",
            discussion: """
                Formats: table (for people: times in UTC to the minute), json (one object with a \
                "tasks" array; times as stored), csv (the route files' CSV: a byte-order mark, a header \
                row, every cell quoted, CRLF). The department's declared profile fields (name, email, \
                phone...) kept with each task are the last columns.
                """
        )

        @OptionGroup var storeOptions: StoreOptions

        @Option(name: .long, help: ArgumentHelp("Only this department's tasks.", valueName: "name"))
        var department: String?

        @Option(name: .long, help: ArgumentHelp("Only tasks with this status: open, assigned, done, cancelled or expired.", valueName: "status"))
        var status: String?

        @Option(name: .long, help: ArgumentHelp("table, json or csv.", valueName: "format"))
        var format: String = "table"

        @Option(name: .long, help: ArgumentHelp("At most this many tasks (the oldest).", valueName: "n"))
        var limit: Int?

        @Option(name: .long, help: ArgumentHelp("Read the queue as it stands at this time (ISO-8601; default: now): open tasks due before it are expired.", valueName: "time"))
        var now: String?

        func validate() throws {
            if !["table", "json", "csv"].contains(format) { throw ValidationError("--format must be table, json or csv, not '\(format)'") }
            if let status, TaskStatus(rawValue: status) == nil {
                throw ValidationError("--status must be one of \(TaskStatus.allCases.map(\.rawValue).joined(separator: ", ")), not '\(status)'")
            }
            if let limit, limit < 0 { throw ValidationError("--limit cannot be negative") }
            _ = try moveTime(now)
        }

        func run() async throws {
            let at = try moveTime(now)
            let (store, _) = try await storeOptions.open()
            let wanted = status.flatMap(TaskStatus.init(rawValue:))
            let out = ByteOutput()
            do {
                // JSON goes out as the store reads it; a table or CSV needs every row first (widths, field names).
                switch format {
                case "json":
                    try await store.tasks(department: department, status: wanted, limit: limit, at: at,
                                          into: JSONTaskWriter(out: out, department: department, status: status)).finish()
                case "csv":
                    try await store.tasks(department: department, status: wanted, limit: limit, at: at,
                                          into: TaskCells(csv: true)).writeCSV(to: out)
                default:
                    try await store.tasks(department: department, status: wanted, limit: limit, at: at, into: TaskCells(csv: false))
                        .writeTable(scope: department ?? "all departments", what: status.map { "\($0) task" } ?? "task", to: out)
                }
            } catch {
                await store.close()
                throw cannotRun(storeMessage(error))
            }
            await store.close()
        }
    }

    /// `nextbest tasks assign ID --to NAME`.
    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "assign",
            abstract: "Give an open task to someone (open → assigned).",
            discussion: "Assigning a task again to the person who has it changes nothing. If someone else has it, "
                + "or it is done, cancelled or expired, nothing changes and the message says who has it or why; exit 1."
        )

        @Argument(help: ArgumentHelp("The task's id (from tasks list).", valueName: "id"))
        var id: String

        @Option(name: .long, help: ArgumentHelp("Who takes the task.", valueName: "name"))
        var to: String

        @OptionGroup var storeOptions: StoreOptions

        func validate() throws {
            if to.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--to needs a name") }
        }

        func run() async throws {
            let move = try await moveTask(storeOptions) { store in try await store.assign(task: id, to: to, at: Date()) }
            print(move.changed ? "task \(id): assigned to \(to)" : "task \(id): already assigned to \(to); nothing changed")
        }
    }

    /// `nextbest tasks done ID --outcome O [--note T] [--policies DIR]`.
    struct Done: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "done",
            abstract: "Mark a task done with its outcome (open or assigned → done); the outcome is recorded for the next decision.",
            discussion: "Outcomes: \(OutcomeCheck.defaultOutcomes.joined(separator: ", ")), or with --policies the ones the set's "
                + "contact_policy { outcomes = {...} } lists. The outcome is stored in the "
                + "outcomes table too (key task:<id>), so the customer's history — and the next decision — sees it."
        )

        @Argument(help: ArgumentHelp("The task's id (from tasks list).", valueName: "id"))
        var id: String

        @Option(name: .long, help: ArgumentHelp("How the customer responded: \(OutcomeCheck.defaultOutcomes.joined(separator: ", ")) (or the set's own list, with --policies).", valueName: "outcome"))
        var outcome: String

        @Option(name: .long, help: ArgumentHelp("A note for colleagues.", valueName: "text"))
        var note: String?

        @Option(name: .long, help: ArgumentHelp("A policy set: the outcomes its contact_policy lists are then the known ones.", valueName: "dir"))
        var policies: String?

        @OptionGroup var storeOptions: StoreOptions

        func validate() throws {
            if policies == nil { try Self.check(outcome, among: OutcomeCheck.defaultOutcomes) }
        }

        /// Refuses an outcome not in `known`, naming the known ones.
        static func check(_ outcome: String, among known: [String]) throws {
            if !known.contains(outcome) {
                throw ValidationError("unknown outcome '\(outcome)' — known: \(known.joined(separator: ", "))")
            }
        }

        func run() async throws {
            if let policies {
                let report: PolicyCheck
                do { report = try PolicySet(directory: policies).check() } catch { throw cannotRun(error.description) }
                if !report.problems.isEmpty {
                    for p in report.problems { nextbest.note(p.description) }
                    throw cannotRun("the policy set \(policies) does not load (\(count(report.problems.count, "problem")))")
                }
                try Self.check(outcome, among: report.outcomes ?? OutcomeCheck.defaultOutcomes)
            }
            _ = try await moveTask(storeOptions) { store in try await store.done(task: id, outcome: outcome, note: note, at: Date()) }
            print("task \(id): done (\(outcome)); outcome recorded")
        }
    }

    /// `nextbest tasks cancel ID`.
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel",
            abstract: "Call a task off (open or assigned → cancelled); it no longer counts as a contact."
        )

        @Argument(help: ArgumentHelp("The task's id (from tasks list).", valueName: "id"))
        var id: String

        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            _ = try await moveTask(storeOptions) { store in try await store.cancel(task: id, at: Date()) }
            print("task \(id): cancelled")
        }
    }
}

/// Opens the store and makes one move: a refused move prints why and exits 1 (nothing changed);
/// a store that cannot be used exits 2.
private func moveTask(_ options: StoreOptions, _ body: @Sendable (any Store) async throws -> TaskMove) async throws -> TaskMove {
    let (store, _) = try await options.open()
    do {
        let move = try await body(store)
        await store.close()
        return move
    } catch let refused as TaskMoveError {
        await store.close()
        note("nextbest: " + refused.description)
        throw ExitCode(1)
    } catch {
        await store.close()
        throw cannotRun(storeMessage(error))
    }
}

/// The time given with `--now`, or now.
private func moveTime(_ text: String?) throws -> Date {
    guard let text else { return Date() }
    guard let d = StoreTime.date(text) else {
        throw ValidationError("--now '\(text)' is not a date (use ISO-8601, as in 2026-11-03 or 2026-11-03T10:00:00Z)")
    }
    return d
}
