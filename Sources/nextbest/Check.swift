// nextbest check: load and validate a policy set; list what it declares; report every problem.
import ArgumentParser
import Foundation
import NextBest

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Load and validate a policy set; list its segments, actions and policies; report every problem.",
        discussion: """
            Every problem is printed as file:line: message, every warning as file:line: warning: message. \
            Warnings (a segment or action nothing uses, a policy whose segments can never all match) \
            do not fail the check; problems do (exit 1).

            With --profiles FILE, the data is checked against the set's profile schema: per \
            declared field, how many records have it and how many hold a value of the wrong type \
            (with the first examples), and the fields in the data the schema does not declare. \
            A value of the wrong type is a problem (exit 1); an undeclared field is a warning.

            Examples:
              nextbest check --policies policies
              nextbest check --policies policies --profiles policies/samples/customers.csv
            """
    )

    @Option(name: .long, help: ArgumentHelp("The policy set: a folder of .lua files.", valueName: "dir"))
    var policies: String

    @Flag(name: .long, help: "Print only problems and warnings, not the list of declarations.")
    var quiet = false

    @Option(name: .long, help: ArgumentHelp("Also check this file of profiles against the set's profile schema.", valueName: "file"))
    var profiles: String?

    func run() throws {
        let report: PolicyCheck
        do { report = try PolicySet(directory: policies).check() } catch { throw cannotRun(error.description) }
        if !quiet { print(report.listing(directory: policies)) }
        for w in report.warnings { print("\(w.file):\(w.line): warning: \(w.message)") }
        for p in report.problems { print(p.description) }
        let summary = "check: \(count(report.problems.count, "problem")), \(count(report.warnings.count, "warning"))"
        print(report.problems.isEmpty ? summary + " — the set loads" : summary + " — the set does not load")
        var dataProblems = false
        if let profiles {
            if profiles != "-" && !FileManager.default.fileExists(atPath: profiles) { throw cannotRun("profiles not found: \(profiles)") }
            print("")
            if let schema = report.profile {
                let data: ProfileDataReport
                do { data = try schema.check(profiles: profiles, format: ProfileFormat.guess(path: profiles)) }
                catch { throw cannotRun("\(error)") }
                print(data.text(path: profiles))
                dataProblems = data.hasProblems
            } else {
                print("\(profiles): warning: the set declares no profile schema (profile { ... }), so there is nothing to check the data against")
            }
        }
        if !report.problems.isEmpty || dataProblems { throw ExitCode(1) }
    }
}

extension ProfileDataReport {
    /// The data report as text: one row per declared field, then the undeclared fields.
    func text(path: String) -> String {
        var lines = ["profiles \(path) against the profile schema: \(count(records, "record"))"]
        var rows = [["field", "type", "present", "wrong type", "first examples"]]
        for f in fields {
            rows.append([f.field, f.type, grouped(f.present), f.wrongType == 0 ? "0" : grouped(f.wrongType), f.examples.joined(separator: "; ")])
        }
        lines += table(rows).map { "  " + $0 }
        for f in fields where f.wrongType > 0 {
            lines.append("\(path): field '\(f.field)': \(count(f.wrongType, "record")) hold a value that is not a \(f.type), "
                         + "e.g. \(f.examples.first ?? "")")
        }
        if unreadable > 0 {
            lines.append("\(path): \(count(unreadable, "record")) cannot be read: " + unreadableExamples.joined(separator: "; "))
        }
        for (name, n) in undeclared.sorted(by: { $0.key < $1.key }) {
            lines.append("\(path): warning: field '\(name)' is in \(count(n, "record")) but not in the profile schema")
        }
        let bad = fields.filter { $0.wrongType > 0 }.count
        lines.append("data: \(count(bad, "field")) with values of the wrong type, \(count(undeclared.count, "undeclared field"))")
        return lines.joined(separator: "\n")
    }
}

/// "1 problem", "3 problems", "2 policies".
func count(_ n: Int, _ noun: String, plural: String? = nil) -> String {
    "\(grouped(n)) \(n == 1 ? noun : plural ?? noun + "s")"
}

extension PolicyCheck {
    /// The declarations as an aligned listing.
    func listing(directory: String) -> String {
        var lines = ["policy set \(directory): \(count(segments.count, "segment")), \(count(actions.count, "action")), "
                     + "\(count(policies.count, "policy", plural: "policies")), \(count(tests, "test"))"]
        func section(_ title: String, _ rows: [[String]]) {
            guard !rows.isEmpty else { return }
            lines.append("\(title):")
            lines += table(rows).map { "  " + $0 }
        }
        section("segments", segments.map { [$0.name, $0.at, $0.description ?? ""] })
        section("actions", actions.map { a in
            var extra: [String] = []
            if let g = a.group { extra.append("group \(g)") }
            if let d = a.cooldownDays { extra.append("cooldown \(JSONValue.double(d).jsonText) days") }
            return [a.name, "\(a.department) by \(a.channel)", a.at, extra.joined(separator: ", ")]
        })
        section("policies", policies.map { p in
            [p.name, p.segments.isEmpty ? "every customer" : "segments: " + p.segments.joined(separator: ", "),
             p.action.map { "short form -> \($0)" } ?? "full form (propose)", p.at]
        })
        return lines.joined(separator: "\n")
    }
}

/// Rows of cells as aligned columns (trailing spaces trimmed).
func table(_ rows: [[String]]) -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    return rows.map { row in
        var line = ""
        for (i, cell) in row.enumerated() {
            line += i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
        }
        while line.hasSuffix(" ") { line.removeLast() }
        return line
    }
}
