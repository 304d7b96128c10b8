// nextbest diff: the impact of a policy change on a population, before it goes live.
import ArgumentParser
import Foundation
import NextBest
import NextBestTools

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare the plans of a new policy set with a baseline set on the same profiles.",
        discussion: """
            Decides every profile with both sets and reports the customers whose plan changed (their \
            chosen actions: action, department, channel, in order), action and department volumes \
            before -> after, each department's channel mix, segment sizes, new actions and segments \
            (even those that reach nobody), and a few example customers. Policy errors the new set \
            has and the baseline did not come first, and make the exit code 1; otherwise a diff is \
            not an error: exit 0.

            Example:
              nextbest diff --policies policies-new --baseline policies --profiles policies/samples/customers.jsonl --now 2026-11-01
            """
    )

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    @OptionGroup var policy: PolicyOptions

    @OptionGroup var csv: CSVOptions

    @Option(name: .long, help: ArgumentHelp("The policy set before the change.", valueName: "dir"))
    var baseline: String

    @Option(name: .long, help: ArgumentHelp("Profiles: .jsonl/.ndjson, .json or .csv (read twice, so not '-').", valueName: "file"))
    var profiles: String

    @Option(name: .long, help: "Output: text (default) or json.")
    var format: OutputFormat = .text

    @Option(name: .long, help: "How many changed customers to show.")
    var examples: Int = 5

    @Option(name: .long, help: "Worker threads per run (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        if profiles == "-" { throw ValidationError("diff reads the profiles twice: give a file, not '-'") }
        if jobs < 1 { throw ValidationError("--jobs must be 1 or more") }
        if examples < 0 { throw ValidationError("--examples must be 0 or more") }
    }

    func run() throws {
        if !FileManager.default.fileExists(atPath: profiles) { throw cannotRun("profiles not found: \(profiles)") }
        let new = try policy.engine(concurrency: jobs)
        let old = try policy.engine(concurrency: jobs, directory: baseline)
        let diff: PolicyDiff
        var options = BatchOptions(jobs: jobs, format: ProfileFormat.guess(path: profiles))
        options.csv = csv.reading
        do {
            diff = try new.diff(baseline: old, profiles: profiles,
                                options: options,
                                examples: examples)
        } catch { throw cannotRun("\(error)") }
        switch format {
        case .json: print(diff.json.jsonText)
        case .text: print(diff.text(baseline: baseline, policies: policy.policies))
        }
        if !diff.newPolicyErrors.isEmpty { throw ExitCode(1) }
    }
}

extension PolicyDiff {
    /// The diff as readable text.
    func text(baseline: String, policies: String) -> String {
        var lines: [String] = []
        let fresh = newPolicyErrors
        if !fresh.isEmpty {
            lines.append("NEW POLICY ERRORS in \(policies) (the baseline did not have them; fix them before going live):")
            for (k, n) in fresh.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                lines.append("  \(grouped(n)) x \(k)")
            }
            lines.append("")
        }
        lines.append("diff \(baseline) -> \(policies): \(grouped(changed)) of \(grouped(records)) customers get a different plan"
                     + String(format: " (%.1f%%)", 100 * changedShare))
        func reach(_ n: Int?, _ what: String) -> String {
            guard let n, n > 0 else { return "reaches no customer in these profiles" }
            return "\(what) \(grouped(n))"
        }
        for a in newActions { lines.append("  new action '\(a)' " + reach(actionsAfter[a], "is taken for")) }
        for s in newSegments { lines.append("  new segment '\(s)' " + reach(segmentsAfter[s], "holds")) }
        for a in removedActions { lines.append("  action '\(a)' is no longer declared (it was taken \(grouped(actionsBefore[a] ?? 0)) times)") }
        for s in removedSegments { lines.append("  segment '\(s)' is no longer declared (it held \(grouped(segmentsBefore[s] ?? 0)))") }
        func section(_ title: String, _ before: [String: Int], _ after: [String: Int], share: Bool = false) {
            let keys = Set(before.keys).union(after.keys).sorted()
            guard !keys.isEmpty else { return }
            lines.append("")
            lines.append(title)
            var rows = [["", "before", "after", "change"]]
            for k in keys {
                let b = before[k] ?? 0, a = after[k] ?? 0
                var change = a == b ? "=" : (a > b ? "+" : "") + grouped(a - b)
                if b > 0 && a != b { change += String(format: " (%+.0f%%)", 100 * Double(a - b) / Double(b)) }
                rows.append([k, grouped(b), grouped(a), change])
            }
            lines += table(rows).map { "  " + $0 }
        }
        if capacityMovedBefore + capacityMovedAfter > 0 {
            lines.append("")
            lines.append("capacity moved \(grouped(capacityMovedAfter)) customers to their next action"
                         + (capacityMovedBefore > 0 ? " (the baseline: \(grouped(capacityMovedBefore)))" : "")
                         + (capacityExamples.isEmpty ? "" : ":"))
            for e in capacityExamples { lines.append("  " + e) }
        }
        section("actions per department", departmentsBefore, departmentsAfter)
        let depts = Set(channelsBefore.keys).union(channelsAfter.keys).sorted()
        if !depts.isEmpty {
            lines.append("")
            lines.append("channel mix per department (share of the department's actions, before -> after)")
            var rows = [["", "channel", "before", "after", "change"]]
            for d in depts {
                let b = channelsBefore[d] ?? [:], a = channelsAfter[d] ?? [:]
                let tb = b.values.reduce(0, +), ta = a.values.reduce(0, +)
                for (i, ch) in Set(b.keys).union(a.keys).sorted().enumerated() {
                    let nb = b[ch] ?? 0, na = a[ch] ?? 0
                    func share(_ n: Int, _ t: Int) -> String { t == 0 ? "-" : String(format: "%.0f%%", 100 * Double(n) / Double(t)) }
                    let change = nb == na ? "=" : (na > nb ? "+" : "") + grouped(na - nb)
                    rows.append([i == 0 ? d : "", ch, "\(grouped(nb)) (\(share(nb, tb)))", "\(grouped(na)) (\(share(na, ta)))", change])
                }
            }
            lines += table(rows).map { "  " + $0 }
        }
        section("actions per action", actionsBefore, actionsAfter)
        section("customers per segment", segmentsBefore, segmentsAfter)
        if !changedBySegment.isEmpty {
            lines.append("")
            lines.append("changed plans per segment")
            lines += table(changedBySegment.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { [$0.key, grouped($0.value)] }).map { "  " + $0 }
        }
        if errorRecordsBefore + errorRecordsAfter + plansWithErrorsBefore + plansWithErrorsAfter > 0 {
            lines.append("")
            lines.append("error records: \(grouped(errorRecordsBefore)) -> \(grouped(errorRecordsAfter)); "
                         + "plans with policy errors: \(grouped(plansWithErrorsBefore)) -> \(grouped(plansWithErrorsAfter))")
        }
        if !examples.isEmpty {
            lines.append("")
            lines.append("examples")
            for e in examples {
                lines.append("  customer \(e.customer.stringValue ?? e.customer.jsonText)")
                lines.append("    before: " + PolicyDiff.actionsText(e.before))
                lines.append("    after:  " + PolicyDiff.actionsText(e.after))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// A plan line's actions as `a (department/channel), ...`, or its error.
    static func actionsText(_ plan: JSONValue) -> String {
        if let e = plan["error"]?.stringValue { return "error: " + e }
        let actions = (plan["actions"]?.arrayValue ?? []).map {
            "\($0["action"]?.stringValue ?? "?") (\($0["department"]?.stringValue ?? "?")/\($0["channel"]?.stringValue ?? "?"))"
        }
        return actions.isEmpty ? "(no action)" : actions.joined(separator: ", ")
    }
}
