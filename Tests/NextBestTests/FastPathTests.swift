// The fast path without the count hook (state.c, decide.c, fastrun.c): a run the clock cannot vouch for
// is decided again carefully, and a run that never ends is stopped by the watchdog's signal;
// either way the plan is the one the careful path, with its count hook, gives.
import Foundation
import Testing
@testable import NextBest

/// A good policy that reads the profile, beside which the hostile ones run.
private let good = catalog + """

    policy "aaa-good" { action = "care", priority = 5, reason = function(c) return "tier " .. c.tier end }
    """

private let customers = (1...6).map { #"{"id":"C\#($0)","tier":"\#($0 % 2 == 0 ? "gold" : "silver")"}"# }

/// Every line of `profiles` through `engine` with `jobs` states, in small chunks: the output lines.
private func runBatch(_ engine: Engine, _ profiles: [String], jobs: Int) throws -> [String] {
    let path = NSTemporaryDirectory() + "nextbest-fast-" + UUID().uuidString + ".jsonl"
    FileManager.default.createFile(atPath: path, contents: Data((profiles.joined(separator: "\n") + "\n").utf8))
    defer { try? FileManager.default.removeItem(atPath: path) }
    var out: [UInt8] = []
    var options = BatchOptions(jobs: jobs)
    options.chunkBytes = 64
    _ = try engine.run(profiles: path, options: options, output: { out += $0 })
    return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// Policies that never end, however they try to outlast the budget.
private let endless: [(name: String, file: String)] = [
    ("a loop in propose", #"policy "zzz-evil" { propose = function(c) while true do end return nil end }"#),
    ("a loop that catches its own errors", #"""
        policy "zzz-evil" { propose = function(c)
          while true do pcall(function() while true do end end) end
          return nil
        end }
        """#),
    ("a loop in a policy's condition", #"policy "zzz-evil" { when = function(c) while true do end return true end, action = "webinar", priority = 9 }"#),
    ("a loop in a segment", #"""
        segment "evil" { when = function(c) local n = 0; while true do n = n + 1 end return n > 0 end }
        policy "zzz-evil" { segments = { "evil" }, action = "webinar", priority = 9 }
        """#),
    ("a loop in an eligible check", #"""
        action "stuck" { department = "sales", channel = "social", eligible = function(c) repeat until false return true end }
        policy "zzz-evil" { action = "stuck", priority = 9 }
        """#),
]

@Suite("The fast path without the count hook")
struct FastPathTests {
    @Test(arguments: [1, 2])
    func anEndlessLoopIsStoppedWithTheBudgetError(jobs: Int) throws {
        for evil in endless {
            let f = try Fixture(["a.lua": good, "evil.lua": evil.file])
            // The default budget: a normal customer is decided on the fast path, without the hook.
            let lines = try runBatch(f.engine(), customers, jobs: jobs)
            #expect(lines.count == customers.count, "\(evil.name)")
            for (i, line) in lines.enumerated() {
                #expect(line.contains(#""customer":"C\#(i + 1)""#), "\(evil.name): \(line)")
                #expect(line.contains(#""reason":"tier \#((i + 1) % 2 == 0 ? "gold" : "silver")""#), "\(evil.name): \(line)")
                #expect(line.contains("instruction budget exceeded"), "\(evil.name): \(line)")
                #expect(line.contains("evil.lua:"), "\(evil.name): \(line)")
            }
        }
    }

    @Test func aPolicyJustOverTheBudgetIsStoppedHoweverQuicklyItRuns() throws {
        // Some 2 instructions an iteration: 60,000 iterations are just over a budget of 100,000
        // instructions, 40,000 just under; both finish in well under a millisecond.
        func loop(_ n: Int) -> String {
            #"policy "zzz-count" { propose = function(c) local n = 0; for k = 1, \#(n) do n = n + k end; return { action = "webinar", priority = 9, reason = tostring(n) } end }"#
        }
        let limits = Limits(instructionsPerCall: 100_000)
        let over = try Fixture(["a.lua": good, "evil.lua": loop(60_000)]).engine(limits: limits)
        let under = try Fixture(["a.lua": good, "evil.lua": loop(40_000)]).engine(limits: limits)
        for _ in 0..<3 {
            let stopped = try over.decide(["id": "1", "tier": "gold"])
            #expect(stopped.actionNames == ["care"])
            #expect(stopped.errors.first?.policy == "zzz-count")
            #expect(stopped.errors.first?.message.contains("instruction budget exceeded") == true, "\(stopped.errors)")
            let passed = try under.decide(["id": "1", "tier": "gold"])
            #expect(passed.errors.isEmpty, "\(passed.errors)")
            #expect(passed.actionNames == ["webinar", "care"])
        }
    }

    @Test func aThreadThatBlockedTheWatchdogsSignalIsStillWatched() throws {
        let f = try Fixture(["a.lua": good, "evil.lua": endless[1].file])
        let engine = try f.engine()
        let result = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var block = sigset_t()
            sigemptyset(&block)
            sigaddset(&block, SIGURG)
            pthread_sigmask(SIG_BLOCK, &block, nil)
            result.set(Result { try engine.decide(["id": "1", "tier": "gold"]) })
            done.signal()
        }
        thread.start()
        done.wait()
        let plan = try #require(try result.get()?.get())
        #expect(plan.actionNames == ["care"])
        #expect(plan.errors.first?.message.contains("instruction budget exceeded") == true, "\(plan.errors)")
    }
}

/// A result handed from a thread to the test.
private final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<Plan, any Error>?
    func set(_ r: Result<Plan, any Error>) { lock.withLock { value = r } }
    func get() -> Result<Plan, any Error>? { lock.withLock { value } }
}
