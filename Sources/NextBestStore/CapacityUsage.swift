// Capacity per UTC day with a store (policy-language.md §8.4): the actions already recorded on a day, per department and per action.
import Foundation

/// Actions already recorded on one UTC day, per department and per action: what a run with a
/// store counts against the set's capacities before it hands out the rest.
public struct RecordedOnDay: Sendable, Hashable {
    /// Tasks per department.
    public var departments: [String: Int] = [:]
    /// Tasks per action.
    public var actions: [String: Int] = [:]
}

extension Store {
    /// The tasks created on the UTC day of `day` and not cancelled, per department and per
    /// action. Tasks of decisions recorded by run `excludingRun` (a run being completed after it
    /// stopped part-way) are left out, so they are not counted twice.
    public func recordedOnDay(of day: Date, excludingRun run: String?) async throws -> RecordedOnDay {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.startOfDay(for: day)
        let end = calendar.date(byAdding: .day, value: 1, to: start)!
        return try await scan(from: start, to: end, now: day, into: DayCounter(run: run)).counts
    }
}

/// Counts a day's tasks as a scan reads them (decisions come first, so a run's own are known).
private struct DayCounter: StoreScanSink {
    let run: String?
    var own: Set<String> = []
    var counts = RecordedOnDay()

    mutating func expect(decisions: Int) {}

    mutating func decision(_ d: ScannedDecision) throws {
        if let run, d.run == run { own.insert(d.id) }
    }

    mutating func task(_ t: TaskRecord) throws {
        guard t.status != .cancelled, !own.contains(t.decision) else { return }
        counts.departments[t.department, default: 0] += 1
        counts.actions[t.action, default: 0] += 1
    }

    mutating func outcome(_ o: OutcomeRow) throws {}
}
