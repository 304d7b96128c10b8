// nextbest test: run a policy set's own tests (tests/ folders and *_test.lua files).
import ArgumentParser
import Foundation
import NextBest

struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run a policy set's tests; the last line is 'N passed, M failed'.",
        discussion: """
            Tests live under a tests/ folder or in files ending in _test.lua. Each failure shows the \
            test's file:line, what it expected beside what the plan had, and the whole plan. \
            Exit 1 when a test fails.

            Example:
              nextbest test --policies policies --filter retention
            """
    )

    @OptionGroup var policy: PolicyOptions

    @Option(name: .long, help: ArgumentHelp("Run only the tests whose name or file:line contains this text.", valueName: "text"))
    var filter: String?

    @Flag(name: .long, help: "Also list the tests that passed.")
    var verbose = false

    func run() throws {
        let engine = try policy.engine(concurrency: 1)
        let results: [PolicyTestResult]
        do { results = try engine.runTests(filter: filter) } catch { throw cannotRun(error.description) }
        for r in results {
            if r.passed {
                if verbose { print("ok    \(r.name) (\(r.at))") }
                continue
            }
            print(r.failureReport())
        }
        let failed = results.filter { !$0.passed }.count
        if results.isEmpty {
            note(filter.map { "no test matches '\($0)'" } ?? "the policy set has no tests (tests/ folder or *_test.lua)")
        }
        print("\(grouped(results.count - failed)) passed, \(grouped(failed)) failed")
        if failed > 0 || results.isEmpty { throw ExitCode(1) }
    }
}

extension PolicyTestResult {
    /// The failure as text: where, expected beside actual, then the plan.
    func failureReport() -> String {
        var lines = ["FAIL  \(name) (\(at))"]
        let rows = failures.filter { $0.expected != nil || $0.actual != nil }
        if !rows.isEmpty {
            lines += table([["", "expected", "actual"]] + rows.map { [$0.field, cell($0.expected), cell($0.actual)] })
                .map { "      " + $0 }
        }
        for f in failures {
            lines.append("      \(f.field): \(f.message)" + (f.at.map { " at \($0)" } ?? ""))
        }
        if let plan {
            lines.append("      the plan at \(now):")
            lines += plan.textLines(indent: "        ")
        }
        return lines.joined(separator: "\n")
    }
}
