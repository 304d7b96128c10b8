// nextbest: the command-line tool. Thin: parses options, calls the library, prints.
import ArgumentParser
import Foundation
import NextBest

@main
struct NextBestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nextbest",
        abstract: "Next-best-action policies in Lua: dry-run, check, test, explain and compare them.",
        discussion: """
            Exit codes: 0 all good; 1 the work ran but something failed (a policy error, a bad \
            record, a failing test, a check finding); 2 it could not run (bad usage, the policy \
            set does not load, a file not found).

            Example:
              nextbest run --policies policies --profiles policies/samples/customers.jsonl --now 2026-11-01
            """,
        subcommands: [Run.self, Check.self, Test.self, Explain.self, Diff.self, Bench.self, Serve.self,
                      StoreCommand.self, Outcomes.self, History.self, Tasks.self, Report.self]
    )

    /// Runs the command and maps failures to the documented exit codes (usage errors are 2).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let message = fullMessage(for: error)
            if exitCode(for: error) == .success {
                print(message)
                Foundation.exit(0)
            }
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            Foundation.exit(2)
        }
    }
}

/// Prints a line to standard error.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Stops with exit code 2 after printing `message` (the work could not run).
func cannotRun(_ message: String) -> ExitCode {
    note("nextbest: " + message)
    return ExitCode(2)
}

/// How CSV profiles are read when the set declares a profile schema (policy-language.md §3.1).
struct CSVOptions: ParsableArguments {
    @Flag(name: .long, help: "CSV numbers use a decimal comma (1.234,56 is 1234.56), as Italian or German Excel writes them.")
    var decimalComma = false

    @Option(name: .long, help: ArgumentHelp("CSV dates are written this way: dd/mm/yyyy, mm/dd/yyyy or yyyy-mm-dd (the default).", valueName: "format"))
    var dateFormat: String?

    /// The reading options, for the engine.
    var reading: CSVReading { CSVReading(decimalComma: decimalComma, dateFormat: dateFormat) }

    func validate() throws {
        if let problem = reading.dateFormatProblem { throw ValidationError(problem) }
    }
}

/// Options shared by commands that load a policy set.
struct PolicyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The policy set: a folder of .lua files.", valueName: "dir"))
    var policies: String

    @Option(name: .long, help: ArgumentHelp("Evaluation time for ctx.now (ISO-8601 date or date-time); default: now.", valueName: "time"))
    var now: String?

    @Option(name: .long, help: ArgumentHelp("Lua instructions one policy call may run (0 = no limit).", valueName: "n"))
    var instructionBudget: Int = Limits().instructionsPerCall

    @Option(name: .long, help: ArgumentHelp("Memory one Lua state may use, in MiB (0 = no limit).", valueName: "mib"))
    var memoryLimit: Int = Limits().memoryBytes >> 20

    /// The limits these options ask for.
    var limits: Limits { Limits(memoryBytes: memoryLimit << 20, instructionsPerCall: instructionBudget) }

    /// Loads the engine or stops with exit code 2 and every problem as file:line: message.
    func engine(concurrency: Int = ProcessInfo.processInfo.activeProcessorCount, directory: String? = nil,
                context: [String: String] = [:]) throws -> Engine {
        do {
            return try Engine(policies: directory ?? policies,
                              options: EngineOptions(limits: limits, now: now, concurrency: concurrency, context: context))
        } catch {
            if case .invalid(let problems) = error {
                for p in problems { note(p.description) }
                throw cannotRun("the policy set \(directory ?? policies) does not load (\(problems.count) problem\(problems.count == 1 ? "" : "s"))")
            }
            throw cannotRun(error.description)
        }
    }
}

/// Thousands separators for counts in summaries.
func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(ch)
    }
    return n < 0 ? "-" + out : out
}
