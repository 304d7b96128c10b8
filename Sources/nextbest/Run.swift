// nextbest run: dry-run / batch — one plan per profile, in input order.
import ArgumentParser
import Foundation
import NextBest
import NextBestStore

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Decide a plan for every profile in a file (JSON Lines out, in input order).",
        discussion: """
            Plans go to standard output (or --out) as JSON Lines, one per input record; a record \
            that cannot be read gives {"input":N,"error":"..."} in its place. A summary goes to \
            standard error (what needs attention first, then the counts; --summary FILE writes it as JSON \
            too). With --routes DIR, each department gets its work queue DIR/<department>.jsonl, or \
            DIR/<department>.csv with --routes-format csv (opens in a spreadsheet).

            Example:
              nextbest run --policies policies --profiles policies/samples/customers.jsonl \\
                --now 2026-11-01 --routes out/routes > out/plans.jsonl
              nextbest run --policies policies --profiles customers.csv --now 2026-11-01 \\
                --routes out/queues --routes-format csv --summary out/summary.json --out out/plans.jsonl

            Sharded (shard 0 of 4; --shard auto/4 reads the index from JOB_COMPLETION_INDEX). \
            Records without a readable id go to shard (input number - 1) mod 4:
              nextbest run --policies policies --profiles customers.jsonl --now 2026-11-01 \\
                --shard 0/4 --with-input-number --out plans-0.jsonl
            """
    )

    @OptionGroup var policy: PolicyOptions

    @OptionGroup var csv: CSVOptions

    @OptionGroup var context: ContextOptions

    @Option(name: .long, help: ArgumentHelp("Profiles: .jsonl/.ndjson, .json or .csv; '-' reads standard input.", valueName: "file"))
    var profiles: String

    @Option(name: .long, help: ArgumentHelp("Input format when the extension does not say (jsonl, json, csv).", valueName: "format"))
    var format: String?

    @Option(name: .long, help: ArgumentHelp("Write plans to this file instead of standard output (a regular file is written beside, then renamed; a device or FIFO is written directly).", valueName: "file"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Write one work queue per department into this folder.", valueName: "dir"))
    var routes: String?

    @Option(name: .long, help: "Worker threads, each with its own Lua state (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: ArgumentHelp("Decide only shard I of N (0-based; customers by FNV-1a 64 of their id); auto/N reads I from JOB_COMPLETION_INDEX.", valueName: "I/N"))
    var shard: String?

    @Flag(name: .long, help: "Give every plan its input record number (\"input\":N), to merge shards back into input order.")
    var withInputNumber = false

    @Flag(name: .long, help: "No summary on standard error.")
    var quiet = false

    @Option(name: .long, help: ArgumentHelp("Also write the run summary to this file as JSON.", valueName: "file"))
    var summary: String?

    @Option(name: .long, help: ArgumentHelp("Route files: jsonl (default) or csv (for spreadsheets: header row, quoted cells, UTF-8 byte-order mark).", valueName: "format"))
    var routesFormat: RouteFormat = .jsonl

    @Option(name: .long, help: ArgumentHelp("Read contact history from this store (sqlite:PATH, FILE.db or postgres://...); with --record, record the plans and their tasks too.", valueName: "url"))
    var store: String?

    @Flag(name: .long, help: "Record every plan and every action taken (as an open task) in the --store.")
    var record = false

    @Option(name: .long, help: ArgumentHelp("The run's id for --record; run again with the same id to complete a run that stopped part-way.", valueName: "id"))
    var runId: String?

    @Option(name: .long, help: ArgumentHelp("Contact history from a file (JSON Lines or CSV rows: customer, action, channel, at, outcome?) instead of a store.", valueName: "file"))
    var history: String?

    /// The shard to decide, read from --shard (and JOB_COMPLETION_INDEX for auto/N).
    func selectedShard() throws -> Shard? {
        guard let shard else { return nil }
        do { return try Shard.parse(shard) } catch { throw ValidationError("--shard: \(error.message)") }
    }

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be 1 or more") }
        _ = try selectedShard()
        if let format, ProfileFormat(rawValue: format) == nil { throw ValidationError("--format must be jsonl, json or csv") }
        if record && store == nil { throw ValidationError("--record needs --store URL: where to record the plans") }
        if runId != nil && !record { throw ValidationError("--run-id goes with --record") }
        if history != nil && store != nil { throw ValidationError("give the contact history with --store or with --history, not both") }
    }

    func run() throws {
        let fmt = format.flatMap(ProfileFormat.init(rawValue:)) ?? ProfileFormat.guess(path: profiles)
        if profiles != "-" && !FileManager.default.fileExists(atPath: profiles) {
            throw cannotRun("profiles not found: \(profiles)")
        }
        let engine = try policy.engine(concurrency: jobs, context: context.values)
        if !quiet { for w in engine.warnings { note("\(w.file):\(w.line): warning: \(w.message)") } }
        let sink: OutputFile
        do { sink = try OutputFile(path: out) } catch { throw cannotRun("\(error)") }
        var routeWriter: RouteWriter?
        if let routes {
            do { routeWriter = try RouteWriter(directory: routes, departments: engine.departments, format: routesFormat,
                                               fields: engine.departmentFields) }
            catch { sink.discard(); throw cannotRun("cannot write routes to \(routes): \(error)") }
        }
        let memory: RunMemory
        do { memory = try RunMemory.open(run: self, engine: engine) } catch { sink.discard(); routeWriter?.discard(); throw error }
        defer { memory.close() }
        let bar = ProgressBar(path: profiles, enabled: !quiet)
        var options = BatchOptions(jobs: jobs, format: fmt)
        options.shard = try selectedShard()
        options.inputNumbers = withInputNumber
        options.csv = csv.reading
        options.history = memory.history
        if let store = memory.store, engine.hasCapacity {  // capacity per UTC day (§8.4): what today's runs took counts
            let day = engine.options.now.flatMap { StoreTime.date($0) } ?? Date()
            let runID = memory.runID
            do {
                let taken = try blocking { try await store.recordedOnDay(of: day, excludingRun: runID) }
                options.capacityAlreadyTaken = CapacityTaken(departments: taken.departments, actions: taken.actions)
            } catch { sink.discard(); routeWriter?.discard(); throw cannotRun(storeMessage(error)) }
        }
        let write: (UnsafeRawBufferPointer) throws -> Void
        if let recorder = memory.recorder {
            write = { try recorder.handle($0, write: sink.write) }
            if recorder.wantsItems { options.workItems = { recorder.take($0) } }  // the tasks' profile fields
        } else {
            write = sink.write
            options.outputDescriptor = sink.fd  // a run with capacity may keep its first decisions there
        }
        let summary: BatchSummary
        do {
            summary = try engine.run(profiles: profiles, options: options,
                                     output: write, routes: routeWriter, progress: bar.update)
            try memory.recorder?.finish()  // every plan recorded and written before the output is committed
            bar.finish()
            try sink.commit()
            try routeWriter?.commit()
        } catch {
            try? memory.recorder?.finish()
            bar.finish()
            sink.discard()
            routeWriter?.discard()
            throw cannotRun("\(error)")
        }
        if !quiet { note(summary.text(title: "nextbest run", routes: routeWriter?.departmentFiles) + memory.summaryLines) }
        if let path = self.summary {
            do {
                let file = try OutputFile(path: path)
                do {
                    try Array((summary.json.jsonText + "\n").utf8).withUnsafeBytes { try file.write($0) }
                    try file.commit()
                } catch { file.discard(); throw error }
            } catch { throw cannotRun("cannot write the summary to \(path): \(error)") }
        }
        if !summary.isClean { throw ExitCode(1) }
    }
}

/// A one-line progress bar on standard error, only when it is a terminal and the input is large.
final class ProgressBar {
    private let total: Int
    private let enabled: Bool
    private var last = DispatchTime.now()
    private var shown = false

    init(path: String, enabled: Bool) {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        total = size ?? 0
        self.enabled = enabled && isatty(2) == 1 && total > 8 << 20
    }

    func update(bytes: Int, records: Int) {
        guard enabled else { return }
        let now = DispatchTime.now()
        guard now.uptimeNanoseconds - last.uptimeNanoseconds > 200_000_000 else { return }
        last = now
        let fraction = min(1, Double(bytes) / Double(max(total, 1)))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(Int(fraction * 100))%  \(grouped(records)) profiles".utf8))
        shown = true
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

extension BatchSummary {
    /// The run summary for standard error: what needs attention first, then the counts.
    func text(title: String, routes: [String]?) -> String {
        var lines: [String] = []
        let rate = seconds > 0 ? Int(Double(records) / seconds) : 0
        let shardNote = shard.map { ", shard \($0)" } ?? ""
        lines.append("\(title)\(shardNote): \(grouped(records)) records -> \(grouped(plans)) plans + \(grouped(errorRecords)) error records"
            + " in \(String(format: "%.2f", seconds)) s (\(grouped(rate)) profiles/s)")
        lines.append("  now: \(now) (\(nowSource))")
        if let shard {
            lines.append("  skipped as other shards' records: \(grouped(skippedForOtherShards))"
                + " (this is shard \(shard.index) of \(shard.count), counted from 0)")
        }
        func byCount<V>(_ d: [String: V], _ n: (V) -> Int) -> [(key: String, value: V)] {
            d.sorted { n($0.value) != n($1.value) ? n($0.value) > n($1.value) : $0.key < $1.key }
        }
        func reasons(_ d: [String: Int]) -> String {
            byCount(d, { $0 }).map { "\($0.key) \(grouped($0.value))" }.joined(separator: "; ")
        }
        // What needs attention.
        var attention: [String] = []
        if errorRecords > 0 {
            attention.append("    error records: \(grouped(errorRecords)) (records that got no plan), first ones:")
            for e in errorExamples { attention.append("      " + e) }
        }
        if plansWithErrors > 0 {
            attention.append("    policy errors in \(grouped(plansWithErrors)) plans, by policy and message:")
            for (k, n) in byCount(policyErrors, { $0 }).prefix(20) { attention.append("      \(grouped(n)) x \(k)") }
            if policyErrors.count > 20 { attention.append("      ... and \(policyErrors.count - 20) more kinds (--summary FILE lists them all)") }
        }
        func fieldRows(_ title: String, _ d: [String: Int]) {
            guard !d.isEmpty else { return }
            attention.append("    \(title):")
            attention += table(byCount(d, { $0 }).map { [$0.key, grouped($0.value), fieldErrorExamples[$0.key].map { "e.g. \($0)" } ?? ""] })
                .map { "      " + $0 }
        }
        fieldRows("consent values that are not booleans (never read as consent), per field", consentErrors)
        fieldRows("values of the wrong type, per field (treated as missing)", typeErrors)
        if duplicateIds > 0 {
            attention.append("    duplicate customer ids (\(grouped(duplicateIds)) records; each still has its plan), first ones:")
            for d in duplicateExamples { attention.append("      " + d) }
        }
        if let last = duplicatesCheckedUpTo {
            attention.append("    repeated customer ids were looked for in the first \(grouped(last)) records only")
        }
        lines.append(attention.isEmpty ? "  needs attention: nothing" : "  needs attention:")
        lines += attention
        // The counts.
        lines.append("  customers with no action: \(grouped(plansWithoutAction)) of \(grouped(plans))"
            + String(format: " (%.1f%%)", 100 * shareWithoutAction))
        lines.append("  actions: \(grouped(actions))")
        if let capacity {
            lines.append("  capacity: \(grouped(capacity.customersMoved)) customers moved to their next action"
                + " (\(capacity.rounds) round\(capacity.rounds == 1 ? "" : "s") of deciding again)")
            lines += capacity.lines.map { "    " + $0 }
        }
        func section(_ label: String, _ d: [String: Int], share: Bool = false) {
            guard !d.isEmpty else { return }
            lines.append("  \(label):")
            lines += table(byCount(d, { $0 }).map { e in
                [e.key, grouped(e.value) + (share && plans > 0 ? String(format: " (%.1f%%)", 100 * Double(e.value) / Double(plans)) : "")]
            }).map { "    " + $0 }
        }
        section("per department", actionsByDepartment)
        if channelsByDepartment.count > 0 {
            lines.append("  channels per department:")
            lines += table(channelsByDepartment.sorted { $0.key < $1.key }.map { [$0.key, reasons($0.value)] }).map { "    " + $0 }
        }
        section("per channel", actionsByChannel)
        section("per action", actionsByAction)
        section("segment sizes", segmentSizes, share: true)
        if !policyFunnels.isEmpty {
            lines.append("  policies: customers it ran for -> proposals -> taken / dropped for a better proposal / suppressed")
            lines += table(policyFunnels.sorted { $0.key < $1.key }.map { name, f in
                let sup = f.suppressed.values.reduce(0, +)
                return [name, "ran for \(grouped(f.ranFor))", "proposed \(grouped(f.proposals))", "taken \(grouped(f.taken))",
                        "dropped \(grouped(f.dropped))", "suppressed \(grouped(sup))" + (sup > 0 ? ": " + reasons(f.suppressed) : "")]
            }).map { "    " + $0 }
        }
        if !suppressedByReason.isEmpty {
            lines.append("  suppressions per action, by reason:")
            lines += table(suppressedByReason.sorted { $0.key < $1.key }.map { [$0.key, reasons($0.value)] }).map { "    " + $0 }
        }
        if let routes, !routes.isEmpty { lines.append("  routes: " + routes.joined(separator: ", ")) }
        lines.append(isClean ? "  ok: every record has a plan, no policy errors"
                             : "  records = plans + error records: \(grouped(records)) = \(grouped(plans)) + \(grouped(errorRecords))")
        return lines.joined(separator: "\n")
    }
}

extension RouteFormat: ExpressibleByArgument {}
