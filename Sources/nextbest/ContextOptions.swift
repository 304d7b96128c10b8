// --context key=value: the request context policies read as ctx.context (policy-language.md §8.1).
import ArgumentParser

/// The `--context` option of `run` and `explain`.
struct ContextOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Request context for ctx.context as key=value, repeatable (e.g. --context channel=web); contact_policy's context_weights match it.", valueName: "key=value"))
    var context: [String] = []

    /// The pairs as a dictionary; a later pair with the same key wins.
    var values: [String: String] {
        var out: [String: String] = [:]
        for pair in context {
            guard let eq = pair.firstIndex(of: "=") else { continue }
            out[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return out
    }

    func validate() throws {
        for pair in context {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("--context takes key=value (like --context channel=web), not '\(pair)'")
            }
        }
    }
}
