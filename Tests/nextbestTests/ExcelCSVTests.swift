// CSV as Excel and CRMs write it: byte-order mark, `;` separator, CRLF, quoted cells, ids as text.
import Foundation
import NextBest
import Testing

@Suite("CSV from Excel")
struct ExcelCSVTests {
    /// The same three customers as `threeProfiles`, as an Italian Excel would save them.
    static let excel = "\u{FEFF}id;annual_revenue;growth_potential;share_of_wallet;tech_affinity;tenure_months;last_purchase_days;purchases_12m;open_tickets;nps;churn_risk;consent.email;consent.phone;note\r\n"
        + "0042;80000;0.5;0.9;0.9;30;10;1;0;9;0.1;TRUE;True;\"Via Roma 1; Milano\"\r\n"
        + "12345678901234567890;1000;0.1;0.9;0.2;40;300;0;0;9;0.1;true;;\"detto \"\"ok\"\"\"\r\n"
        + "C;1000;0.1;0.9;0.2;1;10;0;0;9;0.1;FALSE;;\r\n"

    @Test func byteOrderMarkSemicolonsAndCRLFLoadAndIdsStayText() throws {
        let dir = try temporaryDirectory()
        try write(ExcelCSVTests.excel, to: dir + "/export.csv")
        let r = try nextbest("run", "--policies", benchPolicies, "--profiles", dir + "/export.csv", "--now", "2026-11-01")
        #expect(r.status == 0, "\(r.stderr)")
        let plans = try r.lines.map { try JSONValue(parsing: $0) }
        #expect(plans.map { $0["customer"] } == ["0042", "12345678901234567890", "C"])
        #expect(plans[0]["actions"]?.arrayValue?.first?["action"] == "invite_webinar")
        #expect(plans[1]["actions"]?.arrayValue?.first?["action"] == "win_back")
        #expect(plans[2]["suppressed"]?.arrayValue?.first?["reason"] == "no consent for email")
    }
}
