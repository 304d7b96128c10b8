// nextbest check: load and validate a policy set; list what it declares; report every problem.
import ArgumentParser
import Foundation
import NextBest

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load and validate a policy set; list its segments, actions and policies; report every problem.",
        discussion: """
            Every problem is printed as file:line: message, every warning as file:line: warning: message. \
            Warnings (a segment or action nothing uses, a policy whose segments can never all match) \
            do not fail the check; problems do (exit 1).

            Example:
              nextbest check --policies policies
            """
    )

    @Option(name: .long, help: ArgumentHelp("The policy set: a folder of .lua files.", valueName: "dir"))
    var policies: String

    @Flag(name: .long, help: "Print only problems and warnings, not the list of declarations.")
    var quiet = false

    func run() throws {
        let report: PolicyCheck
        do { report = try PolicySet(directory: policies).check() } catch { throw cannotRun(error.description) }
        if !quiet { print(report.listing(directory: policies)) }
        for w in report.warnings { print("\(w.file):\(w.line): warning: \(w.message)") }
        for p in report.problems { print(p.description) }
        let summary = "check: \(count(report.problems.count, "problem")), \(count(report.warnings.count, "warning"))"
        print(report.problems.isEmpty ? summary + " — the set loads" : summary + " — the set does not load")
        if !report.problems.isEmpty { throw ExitCode(1) }
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
