// Engine+Tests: running a policy set's own tests (policy-language.md §7).

/// The outcome of one test of a policy set.
public struct PolicyTestResult: Sendable {
    /// The test's name.
    public var name: String
    /// Where the test is declared (`file:line`).
    public var at: String
    /// The evaluation time the test ran at.
    public var now: String
    /// Whether every expectation held.
    public var passed: Bool
    /// What did not hold (empty when the test passed).
    public var failures: [PolicyTestFailure]
    /// The plan the test's customer got (`nil` when the customer was not a valid profile).
    public var plan: Plan?
}

/// One expectation of a test that did not hold.
public struct PolicyTestFailure: Sendable {
    /// What was compared: `actions`, `includes`, `segments`, `suppressed.<action>`, `check`, ...
    public var field: String
    /// What the test expected, when it states a value.
    public var expected: JSONValue?
    /// What the plan had instead.
    public var actual: JSONValue?
    /// A plain explanation.
    public var message: String
    /// For a failing `check`, the `file:line` of the failing `assert`.
    public var at: String?
}

extension Engine {
    /// Runs the set's tests whose name or `file:line` contains `filter` (all when `nil`).
    /// A test without its own `now` runs at the engine's `now`.
    public func runTests(filter: String? = nil) throws(DecisionError) -> [PolicyTestResult] {
        let replies: [TestReply]
        // The engine's states hold the policy files only; the tests load into a state of their own.
        let state: LuaState
        do { (state, _) = try policySet.openState(limits: options.limits, withTests: true) } catch {
            throw .failed(message: "cannot load the tests: \(error)", customer: nil)
        }
        do {
            if let now = options.now { _ = try state.setNow(now) } else { try refreshClock(state) }
            replies = try state.runTests(filter: filter ?? "")
        } catch {
            throw .failed(message: "cannot run the tests: \(error)", customer: nil)
        }
        var out: [PolicyTestResult] = []
        for r in replies {
            let failures = r.failures.map {
                PolicyTestFailure(field: $0.field, expected: $0.expected, actual: $0.actual, message: $0.message, at: $0.at)
            }
            let plan = try r.plan.map { v throws(DecisionError) in try Plan(json: v) }
            out.append(PolicyTestResult(name: r.name, at: r.at, now: r.now, passed: r.passed, failures: failures, plan: plan))
        }
        return out
    }
}
