// Plans as readable text, for test failures and explain.
import NextBest

extension Plan {
    /// The plan as indented lines: actions, suppressed, segments, errors.
    func textLines(indent: String = "  ") -> [String] {
        var lines: [String] = []
        if actions.isEmpty { lines.append(indent + "actions:    (none)") }
        for (i, a) in actions.enumerated() {
            lines.append(indent + (i == 0 ? "actions:    " : "            ") + a.summary)
        }
        for (i, s) in suppressed.enumerated() {
            lines.append(indent + (i == 0 ? "suppressed: " : "            ") + "\(s.action) (policy \(s.policy)): \(s.reason)")
        }
        if let holdout { lines.append(indent + "holdout:    \(holdout) (the customer gets no action: a control group)") }
        for (i, h) in heldOut.enumerated() {
            lines.append(indent + (i == 0 ? "held out:   " : "            ") + "\(h.action) (policy \(h.policy), holdout \(h.holdout))")
        }
        lines.append(indent + "segments:   " + (segments.isEmpty ? "(none)" : segments.joined(separator: ", ")))
        for (i, e) in errors.enumerated() {
            lines.append(indent + (i == 0 ? "errors:     " : "            ") + e.description)
        }
        return lines
    }
}

extension PlannedAction {
    /// `retention_call -> customer_service by phone, priority 88 (policy retention): churn risk`.
    var summary: String {
        var s = "\(action) -> \(department) by \(channel), priority \(number(priority))"
        if let factors { s += " = \(factors.text)" }
        s += " (policy \(policy))"
        if !reason.isEmpty { s += ": \(reason)" }
        if !params.isEmpty { s += " " + JSONValue.object(params).jsonText }
        return s
    }
}

/// A number as short text: whole numbers without a fraction.
func number(_ d: Double) -> String { JSONValue.double(d).jsonText }

/// A JSON value as short text for a table cell: lists joined by commas, text unquoted.
func cell(_ v: JSONValue?) -> String {
    guard let v else { return "-" }
    switch v {
    case .string(let s): return s
    case .array(let a): return a.isEmpty ? "(none)" : a.map { cell($0) }.joined(separator: ", ")
    case .object(let o) where o.isEmpty: return "(none)"
    default: return v.jsonText
    }
}

extension ScoreFactors {
    /// `p 0.72 × c 1 × v 120 × l 1.3`.
    var text: String { "p \(number(p)) × c \(number(c)) × v \(number(v)) × l \(number(l))" }
}
