// The sample set's Italian Excel export gives the same plans as its JSON Lines (issue 9), and the CSV typing options on the command line.
import Foundation
import Testing

@Suite("The sample Excel export")
struct SampleExcelTests {
    @Test func theExcelExportGivesTheSamePlansAsTheJSONLines() throws {
        let jsonl = try nextbest("run", "--policies", "policies", "--profiles", "policies/samples/customers.jsonl",
                                 "--now", "2026-11-01", "--quiet")
        let excel = try nextbest("run", "--policies", "policies", "--profiles", "policies/samples/customers_excel.csv",
                                 "--decimal-comma", "--date-format", "dd/mm/yyyy", "--now", "2026-11-01", "--quiet")
        #expect(jsonl.status == 0 && excel.status == 0, "\(excel.stderr)")
        #expect(jsonl.lines.count == 305)
        #expect(excel.stdout == jsonl.stdout)
        #expect(excel.stdout.contains("{\"customer\":\"000001\","))  // leading zeros kept
        let bytes = try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/policies/samples/customers_excel.csv"))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]) && text.contains(";VERO;") && text.contains("\r\n"))
    }

    @Test func withoutTheDecimalCommaTheWrongTypesAreNamedNotGuessed() throws {
        let r = try nextbest("run", "--policies", "policies", "--profiles", "policies/samples/customers_excel.csv",
                             "--date-format", "dd/mm/yyyy", "--now", "2026-11-01", "--quiet")
        #expect(r.status == 1)
        #expect(r.stdout.contains("\"field\":\"growth_potential\",\"message\":\"expected a number, got the text \\\"0,09\\\"\""))
    }

    @Test func anUnreadableDateFormatCannotRun() throws {
        let r = try nextbest("run", "--policies", "policies", "--profiles", "policies/samples/customers_excel.csv",
                             "--date-format", "dd/mm/yy", "--now", "2026-11-01")
        #expect(r.status == 2)
        #expect(r.stderr.contains("--date-format 'dd/mm/yy' is not one I can read"))
    }
}
