// nextbest report: the store's decisions, tasks and outcomes of a window, streamed into the report builder, as HTML or JSON.
import ArgumentParser
import Foundation
import NextBest
import NextBestReport
import NextBestStore

/// `nextbest report --store URL [--from DATE] [--to DATE] --out FILE [--format html|json]`.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the report of output and process metrics: one self-contained HTML file, or JSON.",
        discussion: """
            The window is --from (inclusive) to --to (exclusive), UTC; either may be left out. Rows \
            are read from one snapshot of the store, one at a time (the report keeps counts, not \
            rows). The file appears whole or not at all.

            Example:
              nextbest report --store sqlite:history.db --from 2026-11-01 --to 2026-12-01 --out november.html
              nextbest report --store sqlite:history.db --out report.json --format json
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: ArgumentHelp("The window's first moment (ISO-8601 date or date-time, UTC), inclusive.", valueName: "date"))
    var from: String?

    @Option(name: .long, help: ArgumentHelp("The window's end (ISO-8601), exclusive: --to 2026-12-01 ends with November.", valueName: "date"))
    var to: String?

    @Option(name: .long, help: ArgumentHelp("The file to write.", valueName: "file"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("html or json (default: json when the file ends in .json, else html).", valueName: "format"))
    var format: String?

    @Option(name: .long, help: ArgumentHelp("The moment backlog ages and overdue tasks are measured at (ISO-8601; default: now).", valueName: "time"))
    var now: String?

    func validate() throws {
        if let format, !["html", "json"].contains(format) { throw ValidationError("--format must be html or json, not '\(format)'") }
        for (name, value) in [("--from", from), ("--to", to), ("--now", now)] {
            if let value, StoreTime.date(value) == nil {
                throw ValidationError("\(name) '\(value)' is not a date (use ISO-8601, as in 2026-11-03 or 2026-11-03T10:00:00Z)")
            }
        }
        if let f = from.flatMap(StoreTime.date), let t = to.flatMap(StoreTime.date), t <= f {
            throw ValidationError("--to must come after --from")
        }
    }

    func run() async throws {
        let window = (from: from.flatMap(StoreTime.date), to: to.flatMap(StoreTime.date))
        let at = now.flatMap(StoreTime.date) ?? Date()
        let asJSON = (format ?? (out.lowercased().hasSuffix(".json") ? "json" : "html")) == "json"
        let file: OutputFile
        do { file = try OutputFile(path: out) } catch { throw cannotRun("\(error)") }
        let (store, _) = try await storeOptions.open()
        let sink: ReportSink
        do {
            sink = try await store.scan(from: window.from, to: window.to, now: at,
                                        into: ReportSink(builder: ReportBuilder(from: window.from, to: window.to, now: at)))
        } catch {
            await store.close()
            file.discard()
            throw cannotRun(storeMessage(error))
        }
        await store.close()
        let data = sink.builder.finish()
        do {
            let bytes = asJSON ? try data.jsonData() : Data(ReportHTML.render(data).utf8)
            try bytes.withUnsafeBytes { try file.write($0) }
            try file.commit()
        } catch {
            file.discard()
            throw cannotRun("\(error)")
        }
        let span = [window.from.map { "from \(StoreTime.text($0))" }, window.to.map { "to \(StoreTime.text($0))" }]
            .compactMap { $0 }.joined(separator: " ")
        print("report \(out): \(count(data.output.decisions, "decision")), \(count(data.output.tasks, "task")), "
              + "\(count(data.output.outcomes, "outcome"))" + (span.isEmpty ? "" : " (\(span))"))
    }
}

/// Feeds the rows of a store scan to a `ReportBuilder`.
struct ReportSink: StoreScanSink {
    /// The builder the rows go to.
    var builder: ReportBuilder

    mutating func expect(decisions: Int) {
        builder = ReportBuilder(from: builder.from, to: builder.to, now: builder.now, expectedCustomers: decisions)
    }

    mutating func decision(_ d: ScannedDecision) throws {
        try builder.add(ReportDecision(
            id: d.id, run: d.run, customer: d.customer, revision: d.revision, at: d.at, segments: d.segments,
            holdout: d.holdout, heldOut: d.heldOut.map { ReportHeldOut(action: $0.action, policy: $0.policy, holdout: $0.holdout) }))
    }

    mutating func task(_ t: TaskRecord) throws {
        try builder.add(ReportTask(
            id: t.id, decision: t.decision, customer: t.customer, action: t.action, department: t.department,
            channel: t.channel, priority: t.priority, createdAt: t.createdAt,
            status: ReportTaskStatus(rawValue: t.status.rawValue) ?? .open, assignee: t.assignee, statusAt: t.statusAt,
            assignedAt: t.assignedAt, dueAt: t.dueAt, outcome: t.outcome, policy: t.policy ?? ReportSink.policyNotGiven,
            segments: t.segments))
    }

    mutating func outcome(_ o: OutcomeRow) throws {
        try builder.add(ReportOutcome(task: o.task, customer: o.customer, action: o.action, channel: o.channel,
                                      outcome: o.outcome, at: o.at, value: o.value))
    }

    /// The policy name shown for tasks recorded without one.
    static let policyNotGiven = "(not given)"
}
