// nextbest store migrate: create a store or bring its tables up to date.
import ArgumentParser
import Foundation
import NextBestStore

/// `nextbest store ...`.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage the store of recorded decisions, tasks and outcomes.",
        subcommands: [Migrate.self]
    )

    /// `nextbest store migrate --store URL`.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Create the store's tables, or bring an older store up to this version.",
            discussion: """
                Every command that uses a store does this on first use; run it to prepare a store ahead \
                of time. A file or database that is not a NextBest store, is damaged, or was made by a \
                newer NextBest is refused (exit 2) and left unchanged.

                Example:
                  nextbest store migrate --store sqlite:history.db
                  nextbest store migrate --store postgres://nextbest@db.internal/crm
                """
        )

        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let (store, m) = try await storeOptions.open()
            let what: String
            if m.from == 0 { what = "created (version \(m.to))" }
            else if m.from < m.to { what = "migrated from version \(m.from) to \(m.to)" }
            else { what = "up to date (version \(m.to))" }
            let counts: StoreCounts
            do { counts = try await store.counts() } catch { await store.close(); throw cannotRun(storeMessage(error)) }
            await store.close()
            print("store \(store.url): \(what); \(count(counts.decisions, "decision")), \(count(counts.tasks, "task")), "
                  + "\(count(counts.outcomes, "outcome"))")
        }
    }
}
