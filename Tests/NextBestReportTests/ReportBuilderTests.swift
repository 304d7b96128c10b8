// The report's numbers, checked in its JSON against the fixture's numbers worked out by hand.
import Foundation
import Testing
@testable import NextBestReport

/// The fixture report's JSON, parsed without the library's types (so key names are checked too).
private func json() throws -> [String: Any] {
    let data = try Fixture.report().jsonData()
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

private func dict(_ v: Any?) throws -> [String: Any] { try #require(v as? [String: Any]) }

private func list(_ v: Any?) throws -> [[String: Any]] { try #require(v as? [[String: Any]]) }

/// A list of {name, count} as pairs, in order.
private func counts(_ v: Any?) throws -> [String] {
    try list(v).map { "\($0["name"] as? String ?? "?")=\($0["count"] as? Int ?? -1)" }
}

/// One outcome-rate row as "contacts outcomes accepted converted acceptedRate convertedRate value".
private func rate(_ rows: [[String: Any]], _ name: String) throws -> String {
    let r = try #require(rows.first { $0["name"] as? String == name })
    func f(_ k: String) -> String { (r[k] as? Double).map { String(format: "%.4f", $0) } ?? "nil" }
    return "\(r["contacts"] as? Int ?? -1) \(r["outcomes"] as? Int ?? -1) \(r["accepted"] as? Int ?? -1) "
        + "\(r["converted"] as? Int ?? -1) \(f("acceptedRate")) \(f("convertedRate")) \(f("value"))"
}

/// A lift row as "treated responded rate | held responded rate | lift relative note".
private func lift(_ r: [String: Any]) -> String {
    func f(_ k: String) -> String { (r[k] as? Double).map { String(format: "%.4f", $0) } ?? "nil" }
    return "\(r["treatedCustomers"] as? Int ?? -1) \(r["treatedResponded"] as? Int ?? -1) \(f("treatedRate")) | "
        + "\(r["heldOutCustomers"] as? Int ?? -1) \(r["heldOutResponded"] as? Int ?? -1) \(f("heldOutRate")) | "
        + "\(f("lift")) \(f("relativeLift")) \(r["note"] as? String ?? "-")"
}

@Suite struct ReportBuilderTests {
    @Test func volumesMatchTheHandCount() throws {
        let o = try dict(try json()["output"])
        // In the window [11-10, 11-20): D1 D2 D3 D4 D5 D7 D8 (D6 is before it) → 7 decisions,
        // customers c1 c2 c3 c4 c5 c7 → 6 decided. Reached (a task not cancelled): c1 (T1), c2 (T3), c3 (T6 expired
        // still counts) → 3; not reached: c4, c7 (universal holdout) and c5 (nothing proposed) → 3.
        #expect(o["decisions"] as? Int == 7)
        #expect(o["customersDecided"] as? Int == 6)
        #expect(o["customersReached"] as? Int == 3)
        #expect(o["customersNotReached"] as? Int == 3)
        // Tasks T1–T8 and T10 (T9 is created after the window) → 9; outcomes O1–O6 and O8 (O7 after) → 7.
        #expect(o["tasks"] as? Int == 9)
        #expect(o["outcomes"] as? Int == 7)
        // sales T1 T3 T7; marketing T2 T5 T8 T10; service T4 T6. Most first, then by name.
        #expect(try counts(o["actionsPerDepartment"]) == ["marketing=4", "sales=3", "service=2"])
        // email T2 T8 T10, phone T1 T3 T7, sms T4 T6, app push T5.
        #expect(try counts(o["actionsPerChannel"]) == ["email=3", "phone=3", "sms=2", "app push=1"])
        #expect(try counts(o["actionsPerAction"]) == ["card_upgrade=2", "retention_offer=2", "service_check_in=2",
                                                      "event_invite=1", "newsletter_signup=1", "upgrade_call=1"])
        // high_value: T1 T2 T3 T4 T7 T8 T10; at_risk: T3 T4 T5 T6 T10 (a task counts for each segment).
        #expect(try counts(o["actionsPerSegment"]) == ["high_value=7", "at_risk=5"])
        // growth T2 T7 T10; retention T1 T3; service T4 T6; events T8; fallback T5.
        #expect(try counts(o["actionsPerPolicy"]) == ["growth=3", "retention=2", "service=2", "events=1", "fallback=1"])
    }

    @Test func outcomeRatesMatchTheHandCount() throws {
        let o = try dict(try json()["output"])
        let perAction = try list(o["ratesPerAction"])
        // retention_offer: contacts T1 T3 = 2; outcomes O1 (accepted, 120) O2 (converted, 300) O5 (accepted) = 3
        // → accepted 2/2 = 1, converted 1/2 = 0.5, value 420.
        #expect(try rate(perAction, "retention_offer") == "2 3 2 1 1.0000 0.5000 420.0000")
        // card_upgrade: contacts T2 T10 = 2; O4 (converted, 50, from held-out c4) O6 (ignored) → 0/2, 1/2, 50.
        #expect(try rate(perAction, "card_upgrade") == "2 2 0 1 0.0000 0.5000 50.0000")
        // service_check_in: contacts T4 T6 = 2; O3 declined.
        #expect(try rate(perAction, "service_check_in") == "2 1 0 0 0.0000 0.0000 0.0000")
        // upgrade_call: contact T7; O8 accepted (from c9, who has no decision) → 1/1.
        #expect(try rate(perAction, "upgrade_call") == "1 1 1 0 1.0000 0.0000 0.0000")
        #expect(try rate(perAction, "event_invite") == "1 0 0 0 0.0000 0.0000 0.0000")
        // newsletter_signup: its only task is cancelled and its only outcome is after the window: no row.
        #expect(perAction.map { $0["name"] as? String ?? "?" } ==
                ["card_upgrade", "retention_offer", "service_check_in", "event_invite", "upgrade_call"])

        let perChannel = try list(o["ratesPerChannel"])
        // phone: contacts T1 T3 T7 = 3; outcomes O1 O2 O5 O8 = 4, accepted O1 O5 O8 = 3, converted O2 → 1, 1/3, 420.
        #expect(try rate(perChannel, "phone") == "3 4 3 1 1.0000 0.3333 420.0000")
        #expect(try rate(perChannel, "email") == "3 1 0 0 0.0000 0.0000 0.0000")
        #expect(try rate(perChannel, "sms") == "2 1 0 0 0.0000 0.0000 0.0000")
        // O4 gives no channel: no contacts, so no rates.
        #expect(try rate(perChannel, "(not given)") == "0 1 0 1 nil nil 50.0000")

        let perSegment = try list(o["ratesPerSegment"])
        // Outcomes take the segments of the customer's last decision in the window: c1 → high_value (D7),
        // c2 → high_value + at_risk, c3 → at_risk, c4 → new_customer; c9 has none.
        // high_value: contacts 7 (none cancelled); O1 O2 O3 O6 → accepted 1, converted 1 → 1/7 each; value 420.
        #expect(try rate(perSegment, "high_value") == "7 4 1 1 0.1429 0.1429 420.0000")
        // at_risk: contacts T3 T4 T6 T10 = 4 (T5 cancelled); O2 O3 O5 → 1/4, 1/4; value 300.
        #expect(try rate(perSegment, "at_risk") == "4 3 1 1 0.2500 0.2500 300.0000")
        #expect(try rate(perSegment, "new_customer") == "0 1 0 1 nil nil 50.0000")
    }

    @Test func liftMatchesTheHandCount() throws {
        let l = try dict(try dict(try json()["output"])["lift"])
        // Overall: treated = reached c1 c2 c3, all with an accepted/converted outcome (O1, O2, O5) → 3/3 = 1.
        // Held out = universal holdout c4 c7; c4 converted (O4) → 1/2 = 0.5. Lift 0.5, relative 0.5/0.5 = 1.
        #expect(lift(try dict(l["overall"])) == "3 3 1.0000 | 2 1 0.5000 | 0.5000 1.0000 -")
        let policies = try list(l["perPolicy"])
        #expect(policies.map { $0["name"] as? String ?? "?" } == ["events", "fallback", "growth", "retention", "service"])
        func row(_ n: String) throws -> String { lift(try #require(policies.first { $0["name"] as? String == n })) }
        // retention: treated c1 (T1) c2 (T3), both responded to retention_offer → 1; held c3 (D3) c7 (D8),
        // c3 accepted anyway (O5) → 0.5; lift 0.5, relative 1.
        #expect(try row("retention") == "2 2 1.0000 | 2 1 0.5000 | 0.5000 1.0000 -")
        // growth: treated c1 (T2 T7) c2 (T10), no accepted/converted growth outcome (O6 ignored; O8 is c9) → 0;
        // held c4 (D4), converted card_upgrade (O4) → 1; lift −1, relative −1.
        #expect(try row("growth") == "2 0 0.0000 | 1 1 1.0000 | -1.0000 -1.0000 -")
        // service: treated c2 (T4) c3 (T6), O3 declined → 0; nobody held out.
        #expect(try row("service") == "2 0 0.0000 | 0 0 nil | nil nil no holdout yet")
        // fallback: its only task was cancelled → nobody treated.
        #expect(try row("fallback") == "0 0 nil | 0 0 nil | nil nil no holdout yet")
        #expect(try row("events") == "1 0 0.0000 | 0 0 nil | nil nil no holdout yet")
    }

    @Test func processMetricsMatchTheHandCount() throws {
        let p = try dict(try json()["process"])
        let depts = try list(p["departments"])
        #expect(depts.map { $0["department"] as? String ?? "?" } == ["marketing", "sales", "service"])
        func dept(_ n: String) throws -> [String: Any] { try #require(depts.first { $0["department"] as? String == n }) }
        func ints(_ d: [String: Any], _ key: String, _ fields: [String]) throws -> [Int] {
            let x = try dict(d[key])
            return fields.map { x[$0] as? Int ?? -1 }
        }
        let statuses = ["open", "assigned", "done", "cancelled", "expired"]
        let ages = ["under1Day", "days1to3", "days3to7", "over7Days"]
        let sla = ["openOverdue", "doneLate", "expired"]
        func durations(_ d: [String: Any], _ key: String) throws -> String {
            let x = try dict(d[key])
            return "\(x["count"] as? Int ?? -1) \(x["p50Hours"] as? Double ?? -1) \(x["p90Hours"] as? Double ?? -1)"
        }
        // Now is 11-20 12:00.
        // sales: T1 done, T3 assigned, T7 open. Ages: T3 8 d 3 h → 7+; T7 2 d 2 h → 1–3. T3 due 11-15 → overdue;
        // T1 done 11-13, due 11-15 → on time. Assign: T1 4 h, T3 12 h → p50 4, p90 12. Done: T1 24 h.
        let sales = try dept("sales")
        #expect(sales["tasks"] as? Int == 3)
        #expect(try ints(sales, "byStatus", statuses) == [1, 1, 1, 0, 0])
        #expect(try ints(sales, "backlogAge", ages) == [0, 1, 0, 1])
        #expect(try ints(sales, "pastSLA", sla) == [1, 0, 0])
        #expect(try durations(sales, "timeToAssign") == "2 4.0 12.0")
        #expect(try durations(sales, "timeToDone") == "1 24.0 24.0")
        // marketing: T2 open (8 d 3 h, due 11-19 09:00 → overdue), T5 cancelled, T8 assigned (2 d 2 h, 36 h to assign),
        // T10 open (18 h). Nothing done.
        let marketing = try dept("marketing")
        #expect(try ints(marketing, "byStatus", statuses) == [2, 1, 0, 1, 0])
        #expect(try ints(marketing, "backlogAge", ages) == [1, 1, 0, 1])
        #expect(try ints(marketing, "pastSLA", sla) == [1, 0, 0])
        #expect(try durations(marketing, "timeToAssign") == "1 36.0 36.0")
        #expect(try durations(marketing, "timeToDone") == "0 -1.0 -1.0")
        // service: T4 done 11-16 09:00 after its due 11-14 09:00 → late; 1 h to assign, 96 h to done. T6 expired.
        let service = try dept("service")
        #expect(try ints(service, "byStatus", statuses) == [0, 0, 1, 0, 1])
        #expect(try ints(service, "backlogAge", ages) == [0, 0, 0, 0])
        #expect(try ints(service, "pastSLA", sla) == [0, 1, 1])
        #expect(try durations(service, "timeToAssign") == "1 1.0 1.0")
        #expect(try durations(service, "timeToDone") == "1 96.0 96.0")
        // All: assign [1, 4, 12, 36] → p50 = 2nd = 4, p90 = ceil(3.6) = 4th = 36; done [24, 96] → 24, 96.
        let total = try dict(p["total"])
        #expect(total["tasks"] as? Int == 9)
        #expect(try ints(total, "byStatus", statuses) == [3, 2, 2, 1, 1])
        #expect(try ints(total, "backlogAge", ages) == [1, 2, 0, 2])
        #expect(try ints(total, "pastSLA", sla) == [2, 1, 1])
        #expect(try durations(total, "timeToAssign") == "4 4.0 36.0")
        #expect(try durations(total, "timeToDone") == "2 24.0 96.0")
    }

    @Test func jsonCarriesTheWindowAndReadsBackUnchanged() throws {
        let report = try Fixture.report()
        let data = try report.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"from\" : \"2026-11-10T00:00:00Z\""))
        #expect(text.contains("\"to\" : \"2026-11-20T00:00:00Z\""))
        #expect(text.contains("\"generatedAt\" : \"2026-11-20T12:00:00Z\""))
        #expect(try ReportData.fromJSON(data) == report)
    }

    @Test func decisionsAfterTasksAreRefused() throws {
        var b = ReportBuilder(now: Fixture.now)
        try b.add(Fixture.tasks[0])
        #expect(throws: ReportError.self) { try b.add(Fixture.decisions[0]) }
        try b.add(Fixture.outcomes[0])
        #expect(throws: ReportError.self) { try b.add(Fixture.tasks[1]) }
    }

    @Test func percentilesAreNearestRank() {
        #expect(ReportBuilder.durations([]) == Durations(count: 0, p50Hours: nil, p90Hours: nil))
        #expect(ReportBuilder.durations([5]) == Durations(count: 1, p50Hours: 5, p90Hours: 5))
        // 10 values 1…10: p50 = 5th = 5, p90 = 9th = 9; 11 values: p50 = ceil(5.5) = 6th, p90 = ceil(9.9) = 10th.
        #expect(ReportBuilder.durations((1...10).reversed().map(Double.init)) == Durations(count: 10, p50Hours: 5, p90Hours: 9))
        #expect(ReportBuilder.durations((1...11).map(Double.init)) == Durations(count: 11, p50Hours: 6, p90Hours: 10))
    }

    @Test func anEmptyWindowSaysNoHoldoutYet() throws {
        let r = ReportBuilder(now: Fixture.now).finish()
        #expect(r.output.decisions == 0)
        #expect(r.output.lift.overall.note == "no holdout yet")
        #expect(r.process.departments.isEmpty)
        #expect(ReportHTML.render(r).contains("Nothing in this window"))
    }
}
