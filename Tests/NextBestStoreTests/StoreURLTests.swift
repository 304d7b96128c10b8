// StoreURL parsing and StoreTime reading/writing.
import Foundation
import Testing
@testable import NextBestStore

@Suite("Store URLs and times")
struct StoreURLTests {
    @Test func sqliteForms() throws {
        #expect(try StoreURL("sqlite:history.db") == .sqlite(path: "history.db"))
        #expect(try StoreURL("sqlite:/var/lib/nb/store") == .sqlite(path: "/var/lib/nb/store"))
        #expect(try StoreURL("sqlite:///var/lib/nb.sqlite") == .sqlite(path: "/var/lib/nb.sqlite"))
        #expect(try StoreURL("data/history.db") == .sqlite(path: "data/history.db"))
        #expect(try StoreURL("History.DB") == .sqlite(path: "History.DB"))
    }

    @Test func postgresForms() throws {
        let env = ["PGPASSWORD": "from-env"]
        #expect(try StoreURL("postgres://nb:secret@db.internal:6543/crm", environment: env)
                == .postgres(PostgresLocation(user: "nb", password: "secret", host: "db.internal", port: 6543, database: "crm")))
        #expect(try StoreURL("postgresql://nb@localhost/crm", environment: env)
                == .postgres(PostgresLocation(user: "nb", password: "from-env", host: "localhost", port: 5432, database: "crm")))
        #expect(try StoreURL("postgres://nb@localhost/crm", environment: [:])
                == .postgres(PostgresLocation(user: "nb", password: nil, host: "localhost", database: "crm")))
        #expect(try StoreURL("postgres://n%40b:p%3Aw@[::1]:5433/crm", environment: [:])
                == .postgres(PostgresLocation(user: "n@b", password: "p:w", host: "::1", port: 5433, database: "crm")))
        // The password never shows in messages.
        #expect(try StoreURL("postgres://nb:secret@db:5432/crm").description == "postgres://nb@db:5432/crm")
    }

    @Test func refusals() {
        let cases: [(String, String)] = [
            ("", "it is empty"),
            ("sqlite:", "sqlite: needs a file path"),
            ("history.sqlite", "use sqlite:PATH"),
            ("mysql://u@h/db", "use sqlite:PATH"),
            ("postgres://localhost/crm", "names no user"),
            ("postgres://nb@localhost", "names no database"),
            ("postgres://nb@localhost:99999/crm", "the port '99999' is not a number from 1 to 65535"),
            ("postgres://nb@:5432/crm", "the host name after '@' is empty"),
            ("postgres://nb@h/crm?sslmode=require", "options after '?'"),
        ]
        for (text, why) in cases {
            do {
                _ = try StoreURL(text)
                Issue.record("'\(text)' was taken")
            } catch {
                #expect(error.description.contains(why), "\(text): \(error.description)")
            }
        }
    }

    @Test func times() {
        #expect(StoreTime.normalized("2026-11-03") == "2026-11-03T00:00:00Z")
        #expect(StoreTime.normalized("2026-11-03T10:00") == "2026-11-03T10:00:00Z")
        #expect(StoreTime.normalized("2026-11-03T10:00:59.987Z") == "2026-11-03T10:00:59Z")
        #expect(StoreTime.normalized("2026-11-03 10:00:00+01:00") == "2026-11-03T09:00:00Z")
        #expect(StoreTime.normalized("2026-11-03T00:30:00-0130") == "2026-11-03T02:00:00Z")
        #expect(StoreTime.normalized("2024-02-29") == "2024-02-29T00:00:00Z")
        #expect(StoreTime.normalized("1969-12-31T23:59:59Z") == "1969-12-31T23:59:59Z")
        for bad in ["2026-02-29", "2026-13-01", "2026-11-3", "03/11/2026", "yesterday", "2026-11-03T25:00", "2026-11-03Tfoo", ""] {
            #expect(StoreTime.seconds(bad) == nil, "\(bad)")
        }
        let d = Date(timeIntervalSince1970: 1_793_000_000)
        #expect(StoreTime.date(StoreTime.text(d)) == d)
        #expect(StoreTime.seconds("1970-01-01T00:00:00Z") == 0)
    }
}
