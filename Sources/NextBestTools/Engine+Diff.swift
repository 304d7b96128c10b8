// Engine+Diff: the impact of a policy change on a population, before it goes live.
import Foundation
import NextBest

/// How the plans of a population change from a baseline policy set to a new one.
/// A customer's plan *changed* when its chosen actions (action, department, channel, in
/// order) differ, or when the record gave a plan on one side and an error on the other.
public struct PolicyDiff: Sendable {
    /// One customer whose plan changed.
    public struct Example: Sendable {
        /// The customer's `id` (or the record number when the id is unknown).
        public var customer: JSONValue
        /// The plan (or error record) under the baseline.
        public var before: JSONValue
        /// The plan (or error record) under the new set.
        public var after: JSONValue
    }

    /// Input records compared.
    public var records = 0
    /// Customers whose plan changed.
    public var changed = 0
    /// Actions chosen per action, before and after.
    public var actionsBefore: [String: Int] = [:], actionsAfter: [String: Int] = [:]
    /// Actions chosen per department, before and after.
    public var departmentsBefore: [String: Int] = [:], departmentsAfter: [String: Int] = [:]
    /// Customers per segment, before and after.
    public var segmentsBefore: [String: Int] = [:], segmentsAfter: [String: Int] = [:]
    /// Customers whose plan changed, per segment they are in (before or after).
    public var changedBySegment: [String: Int] = [:]
    /// Records that gave an error record instead of a plan, before and after.
    public var errorRecordsBefore = 0, errorRecordsAfter = 0
    /// Plans carrying policy errors, before and after.
    public var plansWithErrorsBefore = 0, plansWithErrorsAfter = 0
    /// The first few customers whose plan changed.
    public var examples: [Example] = []
    /// Actions chosen per department and then per channel, before and after (the channel mix).
    public var channelsBefore: [String: [String: Int]] = [:], channelsAfter: [String: [String: Int]] = [:]
    /// Actions and segments the new set declares and the baseline does not, in declaration order.
    public var newActions: [String] = [], newSegments: [String] = []
    /// Actions and segments the baseline declares and the new set does not.
    public var removedActions: [String] = [], removedSegments: [String] = []
    /// Policy errors per error (`policy 'x': message`, without its place), before and after.
    public var policyErrorsBefore: [String: Int] = [:], policyErrorsAfter: [String: Int] = [:]

    /// Customers who lost an action to capacity (policy-language.md §8.4), before and after.
    public var capacityMovedBefore = 0, capacityMovedAfter = 0
    /// The first few customers the new set's capacity moved: `C00012 invite_event → invite_webinar`.
    public var capacityExamples: [String] = []

    /// Policy errors the new set has and the baseline did not (by policy and message), with their counts.
    public var newPolicyErrors: [String: Int] { policyErrorsAfter.filter { policyErrorsBefore[$0.key] == nil } }

    /// An error as the summary counts it, without its place: `policy 'x' (file:line): m` -> `policy 'x': m`
    /// (the two sets live in different folders and lines move).
    public static func withoutPlace(_ error: String) -> String {
        guard let open = error.range(of: " ("), let close = error.range(of: "): ", range: open.upperBound..<error.endIndex)
        else { return error }
        return String(error[..<open.lowerBound]) + ": " + String(error[close.upperBound...])
    }

    /// The share of customers whose plan changed, from 0 to 1.
    public var changedShare: Double { records == 0 ? 0 : Double(changed) / Double(records) }

    /// The diff as one JSON object (what `nextbest diff --format json` prints).
    public var json: JSONValue {
        func counts(_ before: [String: Int], _ after: [String: Int]) -> JSONValue {
            var o: [String: JSONValue] = [:]
            for k in Set(before.keys).union(after.keys) {
                o[k] = ["before": .int(before[k] ?? 0), "after": .int(after[k] ?? 0)]
            }
            return .object(o)
        }
        return [
            "records": .int(records), "changed": .int(changed), "changed_share": .double(changedShare),
            "actions": counts(actionsBefore, actionsAfter),
            "departments": counts(departmentsBefore, departmentsAfter),
            "segments": counts(segmentsBefore, segmentsAfter),
            "changed_by_segment": .object(changedBySegment.mapValues { .int($0) }),
            "error_records": ["before": .int(errorRecordsBefore), "after": .int(errorRecordsAfter)],
            "plans_with_errors": ["before": .int(plansWithErrorsBefore), "after": .int(plansWithErrorsAfter)],
            "examples": .array(examples.map { ["customer": $0.customer, "before": $0.before, "after": $0.after] }),
            "new_policy_errors": .object(newPolicyErrors.mapValues { .int($0) }),
            "policy_errors": counts(policyErrorsBefore, policyErrorsAfter),
            "channels_per_department": .object(Set(channelsBefore.keys).union(channelsAfter.keys).reduce(into: [:]) {
                $0[$1] = counts(channelsBefore[$1] ?? [:], channelsAfter[$1] ?? [:])
            }),
            "new_actions": .array(newActions.map { .string($0) }), "new_segments": .array(newSegments.map { .string($0) }),
            "capacity_moved": ["before": .int(capacityMovedBefore), "after": .int(capacityMovedAfter),
                               "examples": .array(capacityExamples.map { .string($0) })],
            "removed_actions": .array(removedActions.map { .string($0) }),
            "removed_segments": .array(removedSegments.map { .string($0) }),
        ]
    }

    /// What decides whether a plan changed: its actions' (action, department, channel), in order;
    /// for an error record, its message.
    static func key(_ plan: JSONValue) -> [String] {
        if let error = plan["error"]?.stringValue { return ["error: " + error] }
        return (plan["actions"]?.arrayValue ?? []).map {
            [$0["action"], $0["department"], $0["channel"]].map { $0?.stringValue ?? "" }.joined(separator: "/")
        }
    }

    /// Counts one side's plan.
    static func count(_ plan: JSONValue, actions: inout [String: Int], departments: inout [String: Int],
                      channels: inout [String: [String: Int]],
                      segments: inout [String: Int], errorRecords: inout Int, plansWithErrors: inout Int) {
        if plan["error"] != nil { errorRecords += 1; return }
        for a in plan["actions"]?.arrayValue ?? [] {
            if let name = a["action"]?.stringValue { actions[name, default: 0] += 1 }
            if let d = a["department"]?.stringValue {
                departments[d, default: 0] += 1
                channels[d, default: [:]][a["channel"]?.stringValue ?? "?", default: 0] += 1
            }
        }
        for s in plan["segments"]?.arrayValue ?? [] { if let s = s.stringValue { segments[s, default: 0] += 1 } }
        if !(plan["errors"]?.arrayValue ?? []).isEmpty { plansWithErrors += 1 }
    }

    /// The actions a plan lost to capacity (suppressed with `... is at capacity (N)`).
    static func lostToCapacity(_ plan: JSONValue) -> [String] {
        (plan["suppressed"]?.arrayValue ?? []).compactMap { s in
            guard let reason = s["reason"]?.stringValue, reason.contains(" is at capacity (") else { return nil }
            return s["action"]?.stringValue ?? "?"
        }
    }

    /// Adds one record's plans under both sets.
    mutating func add(before: JSONValue, after: JSONValue, number: Int, examples limit: Int) {
        records += 1
        if !PolicyDiff.lostToCapacity(before).isEmpty { capacityMovedBefore += 1 }
        let lost = PolicyDiff.lostToCapacity(after)
        if !lost.isEmpty {
            capacityMovedAfter += 1
            if capacityExamples.count < limit {
                let had = Set((before["actions"]?.arrayValue ?? []).compactMap { $0["action"]?.stringValue })
                let instead = (after["actions"]?.arrayValue ?? []).compactMap { $0["action"]?.stringValue }.filter { !had.contains($0) }
                let who = after["customer"]?.stringValue ?? "input \(number)"
                capacityExamples.append("\(who) \(lost.joined(separator: ", ")) → \(instead.isEmpty ? "no other action" : instead.joined(separator: ", "))")
            }
        }
        PolicyDiff.count(before, actions: &actionsBefore, departments: &departmentsBefore, channels: &channelsBefore,
                         segments: &segmentsBefore,
                         errorRecords: &errorRecordsBefore, plansWithErrors: &plansWithErrorsBefore)
        PolicyDiff.count(after, actions: &actionsAfter, departments: &departmentsAfter, channels: &channelsAfter,
                         segments: &segmentsAfter,
                         errorRecords: &errorRecordsAfter, plansWithErrors: &plansWithErrorsAfter)
        guard PolicyDiff.key(before) != PolicyDiff.key(after) else { return }
        changed += 1
        var segs = Set<String>()
        for plan in [before, after] { for s in plan["segments"]?.arrayValue ?? [] { if let s = s.stringValue { segs.insert(s) } } }
        for s in segs { changedBySegment[s, default: 0] += 1 }
        if examples.count < limit {
            examples.append(Example(customer: after["customer"] ?? before["customer"] ?? .int(number), before: before, after: after))
        }
    }
}

extension Engine {
    /// Decides every profile in `path` with this engine and with `baseline`, and compares the
    /// plans customer by customer. Profiles are read twice, so `path` must be a file.
    public func diff(baseline: Engine, profiles path: String, options: BatchOptions = BatchOptions(),
                     examples: Int = 5) throws -> PolicyDiff {
        let dir = NSTemporaryDirectory() + "nextbest-diff-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let beforePath = dir + "/before.jsonl", afterPath = dir + "/after.jsonl"
        var summaries: [BatchSummary] = []
        for (engine, out) in [(baseline, beforePath), (self, afterPath)] {
            _ = FileManager.default.createFile(atPath: out, contents: nil)
            guard let handle = FileHandle(forWritingAtPath: out) else { throw ProfileReadError(message: "cannot write \(out)") }
            defer { try? handle.close() }
            summaries.append(try engine.run(profiles: path, options: options, output: { try handle.write(contentsOf: Data($0)) }))
        }
        var before = try RecordIterator(path: beforePath, format: .jsonl)
        var after = try RecordIterator(path: afterPath, format: .jsonl)
        var diff = PolicyDiff()
        while let b = try before.next() {
            guard let a = try after.next(), let bb = b.bytes, let ab = a.bytes else {
                throw ProfileReadError(message: "the two runs wrote different numbers of records")
            }
            diff.add(before: try JSONValue(parsing: bb), after: try JSONValue(parsing: ab), number: b.number, examples: examples)
        }
        for (side, summary) in summaries.enumerated() {
            var errors: [String: Int] = [:]
            for (k, n) in summary.policyErrors { errors[PolicyDiff.withoutPlace(k), default: 0] += n }
            if side == 0 { diff.policyErrorsBefore = errors } else { diff.policyErrorsAfter = errors }
        }
        let oldActions = Set(baseline.actionNames), newActions = Set(actionNames)
        let oldSegments = Set(baseline.segmentNames), newSegments = Set(segmentNames)
        diff.newActions = actionNames.filter { !oldActions.contains($0) }
        diff.newSegments = segmentNames.filter { !oldSegments.contains($0) }
        diff.removedActions = baseline.actionNames.filter { !newActions.contains($0) }
        diff.removedSegments = baseline.segmentNames.filter { !newSegments.contains($0) }
        return diff
    }
}
