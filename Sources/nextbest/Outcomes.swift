// nextbest outcomes import: customers' responses from JSONL or CSV into the store, in batches.
import ArgumentParser
import Foundation
import NextBest
import NextBestStore

/// `nextbest outcomes ...`.
struct Outcomes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outcomes",
        abstract: "Record customers' responses (outcomes) in the store.",
        subcommands: [Import.self]
    )

    /// `nextbest outcomes import FILE --store URL [--policies DIR]`.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import outcome rows from a JSON Lines or CSV file.",
            discussion: """
                Rows: {id?, task?, customer, action, outcome, at, channel?, value?} (CSV: a header row with \
                these names). Every row ends as imported, a duplicate or an error row (line N: why): an \
                unknown outcome (accepted, declined, ignored, converted, bounced), an unknown action (only \
                with --policies: without it any action name is taken), an unreadable date, no customer, a \
                task that does not exist or is another customer's or action's.

                A row with an id that is already stored is a duplicate; a row without an id is a duplicate \
                when a row with the same task, customer, action, channel, outcome, time (to the second) \
                and value is already stored. Rows are written in batches, each one transaction: an import \
                that is stopped part-way leaves whole batches, and running it again completes it without \
                doubling anything. Exit 1 when there are error rows.

                Example:
                  nextbest outcomes import responses.csv --store sqlite:history.db --policies policies
                """
        )

        @Argument(help: ArgumentHelp("The file (JSON Lines or CSV; - reads standard input).", valueName: "file"))
        var file: String

        @OptionGroup var storeOptions: StoreOptions

        @Option(name: .long, help: ArgumentHelp("A policy set: its actions are then the only known actions.", valueName: "dir"))
        var policies: String?

        @Option(name: .long, help: ArgumentHelp("jsonl or csv (default: from the file's extension or first character).", valueName: "format"))
        var format: String?

        @Option(name: .long, help: ArgumentHelp("Rows per transaction.", valueName: "n"))
        var batchSize: Int = OutcomeImporter.defaultBatchSize

        @Option(name: .long, help: ArgumentHelp("Error rows printed at most (all are counted).", valueName: "n"))
        var maxErrors: Int = 100

        func validate() throws {
            if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
            if let format, OutcomeFileFormat(rawValue: format) == nil {
                throw ValidationError("--format must be jsonl or csv, not '\(format)'")
            }
        }

        func run() async throws {
            var check = OutcomeCheck()
            if let policies {
                let report: PolicyCheck
                do { report = try PolicySet(directory: policies).check() } catch { throw cannotRun(error.description) }
                if !report.problems.isEmpty {
                    for p in report.problems { note(p.description) }
                    throw cannotRun("the policy set \(policies) does not load (\(count(report.problems.count, "problem")))")
                }
                check.actions = Dictionary(report.actions.map { ($0.name, $0.channel) }, uniquingKeysWith: { a, _ in a })
                if let outcomes = report.outcomes { check.outcomes = Set(outcomes) }
            }
            let reader: OutcomeFileReader
            do { reader = try OutcomeFileReader(path: file, format: format.flatMap(OutcomeFileFormat.init(rawValue:))) } catch {
                throw cannotRun(storeMessage(error))
            }
            let (store, _) = try await storeOptions.open()
            let summary: OutcomeImportSummary
            do {
                summary = try await OutcomeImporter(store: store, check: check, batchSize: batchSize).run(reader)
            } catch {
                await store.close()
                throw cannotRun(storeMessage(error))
            }
            await store.close()
            for e in summary.errors.prefix(max(0, maxErrors)) { note(e.description) }
            if summary.errors.count > maxErrors { note("... and \(grouped(summary.errors.count - maxErrors)) more error rows") }
            print("outcomes import \(file): \(grouped(summary.imported)) imported, \(count(summary.duplicates, "duplicate")), "
                  + "\(count(summary.errors.count, "error row"))")
            if !summary.errors.isEmpty { throw ExitCode(1) }
        }
    }
}
