// nextbest history: one customer's contacts and outcomes from the store, newest first.
import ArgumentParser
import Foundation
import NextBest
import NextBestStore

/// `nextbest history --store URL --customer ID [--format text|json]`.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show one customer's contacts and outcomes from the store, newest first.",
        discussion: """
            Contacts are the customer's recorded tasks that were not cancelled (at the time the task \
            was made); outcomes are the responses imported or recorded with `tasks done`. This is the \
            history that policies see, on top of the profile's own contacts.

            Example:
              nextbest history --store sqlite:history.db --customer C0042
              nextbest history --store sqlite:history.db --customer C0042 --format json
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: ArgumentHelp("The customer's id, as written in the profiles.", valueName: "id"))
    var customer: String

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: String = "text"

    func validate() throws {
        if !["text", "json"].contains(format) { throw ValidationError("--format must be text or json, not '\(format)'") }
    }

    func run() async throws {
        let (store, _) = try await storeOptions.open()
        let entries: [HistoryEntry]
        do { entries = try await store.history(customer: customer) } catch {
            await store.close()
            throw cannotRun(storeMessage(error))
        }
        await store.close()
        if format == "json" {
            print(JSONValue.object(["customer": .string(customer), "history": .array(entries.map(\.json))]).jsonText)
            return
        }
        if entries.isEmpty {
            print("customer \(customer): no contacts or outcomes in \(store.url)")
            return
        }
        let contacts = entries.filter { $0.outcome == nil }.count
        print("customer \(customer): \(count(contacts, "contact")), \(count(entries.count - contacts, "outcome")) (newest first)")
        let rows = entries.map { e -> [String] in
            [StoreTime.text(e.at), e.outcome ?? "contact", e.action, e.channel ?? "-",
             e.task.map { "task \($0)" } ?? "", e.value.map { "value \(JSONValue.double($0).jsonText)" } ?? ""]
        }
        for line in table(rows) { print("  " + line) }
    }
}

extension HistoryEntry {
    /// The entry as a JSON object: action, channel, at, and outcome, task, value when present.
    var json: JSONValue {
        var o: [String: JSONValue] = ["action": .string(action), "channel": channel.map(JSONValue.string) ?? .null,
                                      "at": .string(StoreTime.text(at))]
        if let outcome { o["outcome"] = .string(outcome) }
        if let task { o["task"] = .string(task) }
        if let value { o["value"] = .double(value) }
        return .object(o)
    }
}
