// Plan: what the engine decided for one customer (policy-language.md §5, step 5).

/// The action plan for one customer: the actions to carry out, what was suppressed and
/// why, the customer's segments and any policy errors. Encodes to the JSON line format
/// of `cli-and-formats.md`.
public struct Plan: Sendable, Hashable, Codable {
    /// The customer's `id` (a string or an integer).
    public var customer: JSONValue
    /// The segments the customer is in, in declaration order.
    public var segments: [String]
    /// The chosen actions, highest priority first.
    public var actions: [PlannedAction]
    /// Proposals that were not taken, with the reason.
    public var suppressed: [Suppression]
    /// Policy errors for this customer; the other policies still ran.
    public var errors: [PolicyError]
    /// The universal holdout the customer is in (policy-language.md §8.5), whose plan is then empty.
    public var holdout: String? = nil
    /// What the customer would have received but a holdout kept back (not contacts).
    public var heldOut: [HeldOutAction] = []

    enum CodingKeys: String, CodingKey {
        case customer, segments, actions, suppressed, errors, holdout
        case heldOut = "held_out"
    }

    /// Reads a plan as encoded; `holdout` and `held_out` may be absent (a plan without holdouts).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        customer = try c.decode(JSONValue.self, forKey: .customer)
        segments = try c.decode([String].self, forKey: .segments)
        actions = try c.decode([PlannedAction].self, forKey: .actions)
        suppressed = try c.decode([Suppression].self, forKey: .suppressed)
        errors = try c.decode([PolicyError].self, forKey: .errors)
        holdout = try c.decodeIfPresent(String.self, forKey: .holdout)
        heldOut = try c.decodeIfPresent([HeldOutAction].self, forKey: .heldOut) ?? []
    }

    /// Writes the plan; `held_out` only when a holdout kept something back, as the engine writes it.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(customer, forKey: .customer)
        try c.encode(segments, forKey: .segments)
        try c.encode(actions, forKey: .actions)
        try c.encode(suppressed, forKey: .suppressed)
        try c.encode(errors, forKey: .errors)
        try c.encodeIfPresent(holdout, forKey: .holdout)
        if !heldOut.isEmpty || holdout != nil { try c.encode(heldOut, forKey: .heldOut) }
    }
}

/// An action a holdout kept from the customer (policy-language.md §8.5): what they would have received.
public struct HeldOutAction: Sendable, Hashable, Codable {
    /// The action.
    public var action: String
    /// The policy that proposed it.
    public var policy: String
    /// The holdout: a `holdout` declaration's name, or the name of the policy whose own holdout it is.
    public var holdout: String
}

/// The factors of an action's score under `arbitration = "pcvl"` (policy-language.md §8.1):
/// priority = p × c × v × l.
public struct ScoreFactors: Sendable, Hashable, Codable {
    /// Propensity, from 0 to 1.
    public var p: Double
    /// The product of the context weights that matched the request's context.
    public var c: Double
    /// Value.
    public var v: Double
    /// Levers: 1 + (action weight + group weight) / 100.
    public var l: Double
}

/// One chosen action, routed to the department that carries it out.
public struct PlannedAction: Sendable, Hashable, Codable {
    /// The declared action's name.
    public var action: String
    /// Who carries it out (e.g. `marketing`).
    public var department: String
    /// How the customer is reached (e.g. `email`).
    public var channel: String
    /// The proposal's priority.
    public var priority: Double
    /// The policy that proposed it.
    public var policy: String
    /// Why, in words for the department.
    public var reason: String
    /// Values that travel with the action.
    public var params: [String: JSONValue]
    /// The factors of its score, when the set arbitrates by `"pcvl"` (§8.1).
    public var factors: ScoreFactors? = nil
}

/// A proposal that did not make it into the plan.
public struct Suppression: Sendable, Hashable, Codable {
    /// The action that was proposed.
    public var action: String
    /// The policy that proposed it.
    public var policy: String
    /// Why it was not taken (`no consent for phone`, `cooldown: ...`, `plan is full ...`).
    public var reason: String
}

/// A failure inside one policy, segment or action check, for one customer.
public struct PolicyError: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The policy that failed, if it was a policy.
    public var policy: String?
    /// The segment whose `when` failed, if it was a segment.
    public var segment: String?
    /// The action whose `eligible` failed, if it was an action.
    public var action: String?
    /// The profile field at fault, for contact-history problems.
    public var field: String?
    /// `file:line` in the policy set.
    public var at: String?
    /// A plain message.
    public var message: String

    /// `policy 'retention' (policies/retention.lua:14): attempt to compare number with nil`.
    public var description: String {
        let who: String
        if let policy { who = "policy '\(policy)'" }
        else if let segment { who = "segment '\(segment)'" }
        else if let action { who = "action '\(action)'" }
        else if let field { who = "field '\(field)'" }
        else { who = "policy set" }
        if let at { return "\(who) (\(at)): \(message)" }
        return "\(who): \(message)"
    }
}

extension Plan {
    /// Reads a plan from its JSON form (as the engine writes it), strictly: a missing field is an error.
    init(json v: JSONValue) throws(DecisionError) {
        func fail() -> DecisionError { .failed(message: "the engine wrote a plan it cannot read back (a bug in NextBest): \(v.jsonText)", customer: nil) }
        func string(_ o: JSONValue, _ key: String) throws(DecisionError) -> String {
            guard let s = o[key]?.stringValue else { throw fail() }
            return s
        }
        guard let customer = v["customer"], let segs = v["segments"]?.arrayValue, let acts = v["actions"]?.arrayValue,
              let sups = v["suppressed"]?.arrayValue, let errs = v["errors"]?.arrayValue else { throw fail() }
        self.customer = customer
        segments = []
        for s in segs {
            guard let name = s.stringValue else { throw fail() }
            segments.append(name)
        }
        actions = []
        for a in acts {
            guard let priority = a["priority"]?.doubleValue, let params = a["params"] else { throw fail() }
            var factors: ScoreFactors?
            if let f = a["factors"] {
                guard let p = f["p"]?.doubleValue, let c = f["c"]?.doubleValue, let v = f["v"]?.doubleValue,
                      let l = f["l"]?.doubleValue else { throw fail() }
                factors = ScoreFactors(p: p, c: c, v: v, l: l)
            }
            actions.append(PlannedAction(action: try string(a, "action"), department: try string(a, "department"),
                                         channel: try string(a, "channel"), priority: priority,
                                         policy: try string(a, "policy"), reason: try string(a, "reason"),
                                         params: params.objectValue ?? [:],  // a list as params has no named values
                                         factors: factors))
        }
        suppressed = []
        for x in sups {
            suppressed.append(Suppression(action: try string(x, "action"), policy: try string(x, "policy"), reason: try string(x, "reason")))
        }
        holdout = v["holdout"]?.stringValue
        heldOut = []
        for h in v["held_out"]?.arrayValue ?? [] {
            heldOut.append(HeldOutAction(action: try string(h, "action"), policy: try string(h, "policy"), holdout: try string(h, "holdout")))
        }
        errors = []
        for e in errs {
            errors.append(PolicyError(policy: e["policy"]?.stringValue, segment: e["segment"]?.stringValue,
                                      action: e["action"]?.stringValue, field: e["field"]?.stringValue,
                                      at: e["at"]?.stringValue, message: try string(e, "message")))
        }
    }
}
