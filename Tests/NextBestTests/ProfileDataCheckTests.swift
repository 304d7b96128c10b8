// ProfileSchema.check: a file of profiles against the set's schema, field by field.
import Foundation
import NextBest
import Testing

@Suite("profile data against the schema")
struct ProfileDataCheckTests {
    @Test func countsPresenceWrongTypesWithExamplesAndUndeclaredFields() throws {
        let path = NSTemporaryDirectory() + "nextbest-schema-\(UUID().uuidString).jsonl"
        try """
            {"id":"0042","annual_revenue":18200,"signup":"2026-01-31","consent":{"email":true}}
            {"id":"0043","annual_revenue":"8.250,00","signup":"31/01/2026","consent":{"email":"FALSE"},"nickname":"Gigi"}
            {"id":"0044","consent":{"email":false,"fax":true}}
            not json

            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // As the language describes `profile { annual_revenue = "number", signup = "date", consent = { email = "boolean" } }`.
        let schema = try JSONDecoder().decode(ProfileSchema.self, from: Data("""
            {"at": "policies/profile.lua:1", "strict": false, "fields": [
              {"path": "annual_revenue", "type": "number"}, {"path": "consent", "type": "nested"},
              {"path": "consent.email", "type": "boolean"}, {"path": "signup", "type": "date"}]}
            """.utf8))
        let r = try schema.check(profiles: path, format: .jsonl)
        #expect(r.records == 4 && r.unreadable == 1)
        let byName = Dictionary(uniqueKeysWithValues: r.fields.map { ($0.field, $0) })
        #expect(byName["annual_revenue"]?.present == 2 && byName["annual_revenue"]?.wrongType == 1)
        #expect(byName["annual_revenue"]?.examples == [#"input 2 (0043): the text "8.250,00""#])
        #expect(byName["signup"]?.wrongType == 1)
        #expect(byName["consent.email"]?.present == 3 && byName["consent.email"]?.wrongType == 1)
        #expect(r.undeclared == ["nickname": 1, "consent.fax": 1])
        #expect(r.hasProblems)
    }
}
