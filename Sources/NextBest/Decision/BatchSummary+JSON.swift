// BatchSummary+JSON: the run summary as data (`nextbest run --summary FILE`), what needs attention first.

extension BatchSummary {
    /// Whether a data problem's field is a consent entry (`consent`, `consent.email`): those are
    /// consent values that are not booleans; the others are values of the wrong type.
    public static func isConsentField(_ field: String) -> Bool {
        field == "consent" || field.hasPrefix("consent.")
    }

    /// Data problems per field about consent values (``isConsentField(_:)``).
    public var consentErrors: [String: Int] { fieldErrors.filter { Self.isConsentField($0.key) } }
    /// Data problems per field about other values (the schema's types, the contact history).
    public var typeErrors: [String: Int] { fieldErrors.filter { !Self.isConsentField($0.key) } }

    /// The share of plans with no action, from 0 to 1.
    public var shareWithoutAction: Double { plans == 0 ? 0 : Double(plansWithoutAction) / Double(plans) }

    /// Where ``now`` came from, in words: `from --now`, or `the current time: no --now given`.
    public var nowSource: String { nowGiven ? "from --now" : "the current time: no --now given" }

    /// The summary as one JSON object: `attention` first (error records, policy errors by
    /// policy and message, consent values that are not booleans, type errors by field,
    /// repeated ids), then the counts.
    public var json: JSONValue {
        func counts(_ d: [String: Int]) -> JSONValue { .object(d.mapValues { .int($0) }) }
        func nested(_ d: [String: [String: Int]]) -> JSONValue { .object(d.mapValues { counts($0) }) }
        func fields(_ d: [String: Int]) -> JSONValue {
            .object(d.reduce(into: [:]) { o, e in
                var x: [String: JSONValue] = ["count": .int(e.value)]
                if let m = fieldErrorExamples[e.key] { x["example"] = .string(m) }
                o[e.key] = .object(x)
            })
        }
        let attention: JSONValue = [
            "error_records": .int(errorRecords),
            "error_record_examples": .array(errorExamples.map { .string($0) }),
            "policy_errors": .array(policyErrors.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { ["error": .string($0.key), "count": .int($0.value)] }),
            "plans_with_policy_errors": .int(plansWithErrors),
            "consent_not_boolean": fields(consentErrors),
            "type_errors": fields(typeErrors),
            "duplicate_ids": .int(duplicateIds),
            "duplicate_examples": .array(duplicateExamples.map { .string($0) }),
        ]
        var o: [String: JSONValue] = [
            "attention": attention,
            "now": .string(now), "now_source": .string(nowGiven ? "--now" : "current time"),
            "records": .int(records), "plans": .int(plans), "error_records": .int(errorRecords),
            "without_action": ["count": .int(plansWithoutAction), "share": .double(shareWithoutAction)],
            "actions": .int(actions),
            "per_department": counts(actionsByDepartment), "per_channel": counts(actionsByChannel),
            "per_action": counts(actionsByAction), "channels_per_department": nested(channelsByDepartment),
            "segments": counts(segmentSizes),
            "policies": .object(policyFunnels.mapValues { f in
                ["ran_for": .int(f.ranFor), "proposals": .int(f.proposals), "taken": .int(f.taken),
                 "dropped_for_better": .int(f.dropped), "suppressed": counts(f.suppressed)]
            }),
            "suppressed": nested(suppressedByReason),
            "seconds": .double(seconds), "clean": .bool(isClean),
        ]
        if let shard {
            o["shard"] = ["index": .int(shard.index), "count": .int(shard.count)]
            o["skipped_for_other_shards"] = .int(skippedForOtherShards)
        }
        if let last = duplicatesCheckedUpTo { o["duplicates_checked_up_to"] = .int(last) }
        if let capacity {
            o["capacity"] = [
                "customers_moved": .int(capacity.customersMoved), "rounds": .int(capacity.rounds),
                "limits": .array(capacity.limits.map {
                    var l: [String: JSONValue] = [
                        "kind": .string($0.kind), "name": .string($0.name), "capacity": .int($0.capacity), "declared": .int($0.declared),
                        "taken_before": .int($0.takenBefore), "taken": .int($0.taken), "turned_away": .int($0.customersTurnedAway),
                    ]
                    if let all = $0.takenByAllShards { l["taken_by_all_shards"] = .int(all) }
                    return .object(l)
                }),
            ]
        }
        return .object(o)
    }
}
