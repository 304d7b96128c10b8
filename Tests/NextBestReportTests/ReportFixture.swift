// A hand-made fixture of decisions, tasks and outcomes whose report numbers are worked out by hand in ReportBuilderTests.
import Foundation
import NextBestReport

/// Parses "2026-11-12T09:00" (UTC) into a Date.
func utc(_ s: String) -> Date {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.date(from: s + ":00Z")!
}

/// The fixture's window, [from, to), and the moment the report is made.
enum Fixture {
    static let from = utc("2026-11-10T00:00")
    static let to = utc("2026-11-20T00:00")
    static let now = utc("2026-11-20T12:00")

    /// Seven decisions in the window (D1–D5, D7, D8) and one before it (D6).
    static let decisions: [ReportDecision] = [
        ReportDecision(id: "D1", customer: "c1", revision: "r", at: utc("2026-11-12T09:00"), segments: ["high_value"]),
        ReportDecision(id: "D2", customer: "c2", revision: "r", at: utc("2026-11-12T09:00"), segments: ["high_value", "at_risk"]),
        ReportDecision(id: "D3", customer: "c3", revision: "r", at: utc("2026-11-13T10:00"), segments: ["at_risk"],
                       heldOut: [ReportHeldOut(action: "retention_offer", policy: "retention", holdout: "retention")]),
        ReportDecision(id: "D4", customer: "c4", revision: "r", at: utc("2026-11-14T08:00"), segments: ["new_customer"],
                       holdout: "universal", heldOut: [ReportHeldOut(action: "card_upgrade", policy: "growth", holdout: "universal")]),
        ReportDecision(id: "D5", customer: "c5", revision: "r", at: utc("2026-11-15T08:00"), segments: ["new_customer"]),
        ReportDecision(id: "D6", customer: "c6", revision: "r", at: utc("2026-11-09T23:00"), segments: ["high_value"]),
        ReportDecision(id: "D7", customer: "c1", revision: "r", at: utc("2026-11-18T10:00"), segments: ["high_value"]),
        ReportDecision(id: "D8", customer: "c7", revision: "r", at: utc("2026-11-14T09:00"), segments: ["new_customer"],
                       holdout: "universal", heldOut: [ReportHeldOut(action: "retention_offer", policy: "retention", holdout: "universal")]),
    ]

    /// Nine tasks in the window (T1–T8, T10) and one after it (T9).
    static let tasks: [ReportTask] = {
        func t(_ id: String, _ d: String, _ c: String, _ action: String, _ dept: String, _ channel: String, _ policy: String,
               _ created: String, _ status: ReportTaskStatus, statusAt: String? = nil, assignedAt: String? = nil,
               due: String, segments: [String]) -> ReportTask {
            ReportTask(id: id, decision: d, customer: c, action: action, department: dept, channel: channel,
                       createdAt: utc(created), status: status, statusAt: statusAt.map(utc), assignedAt: assignedAt.map(utc),
                       dueAt: utc(due), policy: policy, segments: segments)
        }
        return [
            t("T1", "D1", "c1", "retention_offer", "sales", "phone", "retention", "2026-11-12T09:00", .done,
              statusAt: "2026-11-13T09:00", assignedAt: "2026-11-12T13:00", due: "2026-11-15T09:00", segments: ["high_value"]),
            t("T2", "D1", "c1", "card_upgrade", "marketing", "email", "growth", "2026-11-12T09:00", .open,
              due: "2026-11-19T09:00", segments: ["high_value"]),
            t("T3", "D2", "c2", "retention_offer", "sales", "phone", "retention", "2026-11-12T09:00", .assigned,
              statusAt: "2026-11-12T21:00", due: "2026-11-15T09:00", segments: ["high_value", "at_risk"]),
            t("T4", "D2", "c2", "service_check_in", "service", "sms", "service", "2026-11-12T09:00", .done,
              statusAt: "2026-11-16T09:00", assignedAt: "2026-11-12T10:00", due: "2026-11-14T09:00", segments: ["high_value", "at_risk"]),
            t("T5", "D3", "c3", "newsletter_signup", "marketing", "app push", "fallback", "2026-11-13T10:00", .cancelled,
              statusAt: "2026-11-13T11:00", due: "2026-11-23T10:00", segments: ["at_risk"]),
            t("T6", "D3", "c3", "service_check_in", "service", "sms", "service", "2026-11-13T10:00", .expired,
              statusAt: "2026-11-15T10:00", due: "2026-11-15T10:00", segments: ["at_risk"]),
            t("T7", "D7", "c1", "upgrade_call", "sales", "phone", "growth", "2026-11-18T10:00", .open,
              due: "2026-11-23T10:00", segments: ["high_value"]),
            t("T8", "D7", "c1", "event_invite", "marketing", "email", "events", "2026-11-18T10:00", .assigned,
              statusAt: "2026-11-19T22:00", due: "2026-11-22T10:00", segments: ["high_value"]),
            t("T9", "D2", "c2", "card_upgrade", "marketing", "email", "growth", "2026-11-20T06:00", .open,
              due: "2026-11-27T06:00", segments: ["high_value", "at_risk"]),
            t("T10", "D2", "c2", "card_upgrade", "marketing", "email", "growth", "2026-11-19T18:00", .open,
              due: "2026-11-26T18:00", segments: ["high_value", "at_risk"]),
        ]
    }()

    /// Seven outcomes in the window (O1–O6, O8) and one after it (O7).
    static let outcomes: [ReportOutcome] = [
        ReportOutcome(task: "T1", customer: "c1", action: "retention_offer", channel: "phone", outcome: "accepted",
                      at: utc("2026-11-13T09:00"), value: 120),
        ReportOutcome(customer: "c2", action: "retention_offer", channel: "phone", outcome: "converted",
                      at: utc("2026-11-14T12:00"), value: 300),
        ReportOutcome(customer: "c2", action: "service_check_in", channel: "sms", outcome: "declined", at: utc("2026-11-16T09:00")),
        ReportOutcome(customer: "c4", action: "card_upgrade", channel: nil, outcome: "converted", at: utc("2026-11-17T10:00"), value: 50),
        ReportOutcome(customer: "c3", action: "retention_offer", channel: "phone", outcome: "accepted", at: utc("2026-11-16T10:00")),
        ReportOutcome(customer: "c1", action: "card_upgrade", channel: "email", outcome: "ignored", at: utc("2026-11-15T10:00")),
        ReportOutcome(customer: "c5", action: "newsletter_signup", channel: "app push", outcome: "accepted", at: utc("2026-11-21T10:00")),
        ReportOutcome(customer: "c9", action: "upgrade_call", channel: "phone", outcome: "accepted", at: utc("2026-11-18T12:00")),
    ]

    /// The fixture's report.
    static func report() throws -> ReportData {
        var b = ReportBuilder(from: from, to: to, now: now)
        for d in decisions { try b.add(d) }
        for t in tasks { try b.add(t) }
        for o in outcomes { try b.add(o) }
        return b.finish()
    }
}
