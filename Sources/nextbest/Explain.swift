// nextbest explain: one customer's decision, step by step.
import ArgumentParser
import Foundation
import NextBest
import NextBestStore

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain one customer's plan step by step: segments, policies, suppressions, the plan.",
        discussion: """
            Give one profile with --profile FILE, or pick one by id from a file of profiles with \
            --profiles FILE --id ID. Prints readable text, or JSON with --format json.

            Examples:
              nextbest explain --policies policies --profiles policies/samples/customers.jsonl --id C0007 --now 2026-11-01
              nextbest explain --policies policies --profiles policies/samples/customers.jsonl --id C0007 --context channel=web
              nextbest explain --policies policies --profile customer.json --format json
            """
    )

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    @OptionGroup var policy: PolicyOptions

    @OptionGroup var csv: CSVOptions

    @OptionGroup var context: ContextOptions

    @Option(name: .long, help: ArgumentHelp("A file holding one profile (.json, .jsonl or .csv).", valueName: "file"))
    var profile: String?

    @Option(name: .long, help: ArgumentHelp("A file of profiles to pick the customer from (with --id).", valueName: "file"))
    var profiles: String?

    @Option(name: .long, help: ArgumentHelp("The customer's id (with --profiles).", valueName: "id"))
    var id: String?

    @Option(name: .long, help: "Output: text (default) or json.")
    var format: OutputFormat = .text

    @Option(name: .long, help: ArgumentHelp("Add the customer's contact history from this store (sqlite:PATH, FILE.db or postgres://...).", valueName: "url"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("Add the customer's contact history from this file (JSON Lines or CSV: customer, action, channel, at, outcome?).", valueName: "file"))
    var history: String?

    func validate() throws {
        if (profile == nil) == (profiles == nil) { throw ValidationError("give either --profile FILE or --profiles FILE --id ID") }
        if profiles != nil && id == nil { throw ValidationError("--profiles needs --id ID: which customer to explain") }
        if profile != nil && id != nil { throw ValidationError("--id goes with --profiles, not --profile") }
        if store != nil && history != nil { throw ValidationError("give the contact history with --store or with --history, not both") }
    }

    func run() throws {
        let path = profile ?? profiles!
        if path != "-" && !FileManager.default.fileExists(atPath: path) { throw cannotRun("profiles not found: \(path)") }
        let engine = try policy.engine(concurrency: 1, context: context.values)
        let fmt = ProfileFormat.guess(path: path)
        let json: [UInt8]
        do {
            if let id {
                guard let found = try engine.findProfile(id: id, in: path, format: fmt, csv: csv.reading) else {
                    throw cannotRun("no customer with id \(id) in \(path)")
                }
                json = found
            } else {
                json = try engine.onlyProfile(in: path, format: fmt, csv: csv.reading)
            }
        } catch let e as ExitCode { throw e } catch { throw cannotRun("\(error)") }
        let explanation: Explanation
        let past = try pastContacts(of: json)
        do { explanation = try engine.explain(json: json, history: past) } catch {
            note("nextbest: the profile cannot be decided: \(error)")
            throw ExitCode(1)
        }
        switch format {
        case .json: print(explanation.json.jsonText)
        case .text: print(explanation.text)
        }
        if !explanation.plan.errors.isEmpty { throw ExitCode(1) }
    }
}

extension Explain {
    /// The customer's contacts from --store or --history (none without them).
    func pastContacts(of profile: [UInt8]) throws -> [PastContact] {
        guard store != nil || history != nil else { return [] }
        guard let v = try? JSONValue(parsing: profile), let idValue = v["id"] else { return [] }
        let customer = idValue.stringValue ?? idValue.jsonText
        if let history {
            do { return try HistoryFile.read(history).byCustomer[customer] ?? [] } catch { throw cannotRun("\(error)") }
        }
        let url: StoreURL
        do { url = try StoreURL(store!) } catch { throw cannotRun(error.description) }
        do {
            let s = try blocking { try await openStore(url).store }
            defer { _ = try? blocking { await s.close() } }
            return try StoreContactHistory(store: s, run: nil).contacts(for: [customer])[customer] ?? []
        } catch { throw cannotRun(storeMessage(error)) }
    }
}

extension Explanation {
    /// The decision as readable text, in the order of policy-language.md §5.
    var text: String {
        let customer = plan.customer.stringValue ?? plan.customer.jsonText
        var lines = ["Customer \(customer), decided at \(now)", "", "1. Segments (each segment's `when` runs once)"]
        func readLine(_ r: [FieldRead]) -> String { "read: " + r.map(\.description).joined(separator: ", ") }
        let segmentRows = table(segments.map { s in
            [s.matched ? "in" : "out", s.segment, s.error.map { "error: \($0)" } ?? ""]
        })
        for (s, row) in zip(segments, segmentRows) {
            lines.append("   " + row)
            if !s.read.isEmpty { lines.append("        " + readLine(s.read)) }
        }
        lines += ["", "2. Policies (in name order; a policy runs when the customer is in all its segments and its `when` holds)"]
        var rows: [[String]] = []
        for p in policies {
            let status = p.error != nil ? "error" : p.ran ? "ran" : "skipped"
            var what: String
            if let e = p.error { what = e }
            else if !p.ran { what = p.skippedBecause ?? "" }
            else if p.proposed.isEmpty { what = "proposed nothing" }
            else { what = "proposed " + p.proposed.map { "\($0.action) (\(number($0.priority))\($0.factors.map { " = " + $0.text } ?? ""))" }.joined(separator: ", ") }
            rows.append([status, p.policy, what, p.at ?? ""])
        }
        for (p, row) in zip(policies, table(rows)) {
            lines.append("   " + row)
            if !p.read.isEmpty { lines.append("        " + readLine(p.read)) }
        }
        for d in dropped {
            lines.append("   dropped: \(d.action) (\(number(d.priority))) from \(d.policy): \(d.keptFrom) proposed it with a priority at least as high")
        }
        lines += ["", "3. Eligibility and 4. arbitration (by priority, highest first)"]
        if !eligibilityRead.isEmpty { lines.append("   the actions' eligible checks " + readLine(eligibilityRead)) }
        if plan.suppressed.isEmpty { lines.append("   nothing suppressed") }
        for s in plan.suppressed {
            lines.append("   suppressed \(s.action) (policy \(s.policy)): \(s.reason)")
            if let c = counted.first(where: { $0.action == s.action && $0.reason == s.reason }), !c.contacts.isEmpty {
                lines.append("        past contacts that counted: " + c.contacts.map { k in
                    "\(k.action) on \(k.channel ?? "?") at \(k.at)" + (k.outcome.map { " (\($0))" } ?? "")
                }.joined(separator: "; "))
            }
        }
        if plan.actions.contains(where: { $0.factors != nil }) {
            lines.append("   priority = score = p (propensity) × c (context weights) × v (value) × l (levers: 1 + weights / 100)")
        }
        lines += ["", "5. Plan"]
        lines += plan.textLines(indent: "   ")
        return lines.joined(separator: "\n")
    }
}
