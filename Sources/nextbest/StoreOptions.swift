// The --store option shared by the commands that read or write the store, and opening it.
import ArgumentParser
import Foundation
import NextBestStore

/// `--store URL`.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The store: sqlite:PATH, a file ending in .db, or postgres://USER[:PASSWORD]@HOST[:PORT]/DB (password also from PGPASSWORD).",
        valueName: "url"))
    var store: String

    /// The parsed URL, or exit 2 with why it is not one.
    func url() throws -> StoreURL {
        do { return try StoreURL(store) } catch { throw cannotRun(error.description) }
    }

    /// Opens (and if needed migrates) the store, or exits 2 with why it cannot be used.
    func open() async throws -> (store: any Store, migration: MigrationReport) {
        let u = try url()
        do { return try await openStore(u) } catch { throw cannotRun(storeMessage(error)) }
    }
}

/// A store error's message (plain words) for any error a store operation throws.
func storeMessage(_ error: any Error) -> String {
    if let e = error as? StoreError { return e.description }
    if let e = error as? TaskMoveError { return e.description }
    return "\(error)"
}
