// The store suite: the same tests against SQLite and (when NEXTBEST_TEST_POSTGRES is set) PostgreSQL.
import Foundation
import NextBest
import GRDB
import Testing
@testable import NextBestStore

@Suite("Store, on every backend")
struct StoreSuiteTests {
    @Test("a new store is created at the current version; opening it again migrates nothing", arguments: Backend.available)
    func migrates(_ backend: Backend) async throws {
        try await withPlace(backend) { place in
            let (s1, m1) = try await openStore(place.url)
            #expect(m1.from == 0 && m1.to == storeSchemaVersion)
            #expect(try await s1.schemaVersion() == storeSchemaVersion)
            await s1.close()
            let (s2, m2) = try await openStore(place.url)
            #expect(m2.from == storeSchemaVersion && m2.to == storeSchemaVersion)
            #expect(try await s2.counts() == StoreCounts(decisions: 0, tasks: 0, outcomes: 0))
            await s2.close()
            if backend == .sqlite {  // a new SQLite file: 16 KiB pages, in WAL mode, kept when opened again
                #expect(try await place.sql("PRAGMA page_size") == [[String(SQLiteStore.pageSize)]])
                #expect(try await place.sql("PRAGMA journal_mode") == [["wal"]])
            }
        }
    }

    @Test("an existing SQLite store with SQLite's default pages opens and keeps them")
    func oldPageSizeKept() async throws {
        try await withPlace(.sqlite) { place in
            guard case .sqlite(let path) = place.url else { return }
            let q = try DatabaseQueue(path: path)  // an empty file as SQLite makes it: 4 KiB pages
            try q.close()
            _ = try sqliteRows(path: path, "PRAGMA journal_mode = WAL")
            let (s, m) = try await openStore(place.url)
            #expect(m.from == 0 && m.to == storeSchemaVersion)
            await s.close()
            #expect(try await place.sql("PRAGMA page_size") == [["4096"]])
        }
    }

    @Test("recording twice, or resuming a run with new decision ids, writes nothing twice", arguments: Backend.available)
    func recordIsIdempotent(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let customers = (1...10).map { String(format: "C%04d", $0) }
            let first = decisions(run: "run-1", customers: customers, at: t("2026-11-01T09:00:00Z"), tasksEach: 2)
            var r = try await store.record(Array(first.prefix(4)))
            #expect(r.decisions == 4 && r.tasks == 8 && r.skipped == 0)
            // The same decisions again: nothing.
            r = try await store.record(Array(first.prefix(4)))
            #expect(r.decisions == 0 && r.tasks == 0 && r.skipped == 4)
            let firstIDs = Dictionary(uniqueKeysWithValues: first.prefix(4).map { ($0.customer, $0.id) })
            #expect(r.kept == firstIDs)
            // A resumed run makes new ids for every customer: only the 6 missing customers are written,
            // and the store names the ids it keeps for the other 4.
            let resumed = decisions(run: "run-1", customers: customers, at: t("2026-11-01T09:05:00Z"), tasksEach: 2)
            r = try await store.record(resumed)
            #expect(r.decisions == 6 && r.tasks == 12 && r.skipped == 4)
            #expect(r.kept == firstIDs)
            // One customer twice in one call: the first is written, the second skipped and pointed to it.
            let twice = decisions(run: "run-3", customers: ["C0001", "C0002", "C0001"], at: t("2026-11-03T09:00:00Z"))
            r = try await store.record(twice)
            #expect(r.decisions == 2 && r.skipped == 1 && r.kept == ["C0001": twice[0].id])
            r = try await store.record([])  // nothing: nothing to say
            #expect(r == RecordResult())
            #expect(try await store.counts() == StoreCounts(decisions: 12, tasks: 22, outcomes: 0))
            // Another run decides the same customers again: new decisions.
            r = try await store.record(decisions(run: "run-2", customers: customers, at: t("2026-11-02T09:00:00Z")))
            #expect(r.decisions == 10 && r.tasks == 10)
            let task = try #require(try await store.task(first[0].taskID(at: 1)))
            #expect(task.action == "call_back" && task.channel == "phone" && task.status == .open && task.customer == "C0001")
            #expect(task.segments == ["high_value"] && task.fields == "{\"name\":\"N C0001\"}" && task.policy == "p1")
            #expect(task.createdAt == t("2026-11-01T09:00:00Z") && task.statusAt == task.createdAt)
        }
    }

    @Test("outcomes are deduplicated by id, and by content when they have none", arguments: Backend.available)
    func outcomeDuplicates(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let rows = [
                OutcomeRow(id: "o-1", customer: "C1", action: "invite_webinar", outcome: "accepted", at: t("2026-11-02")),
                OutcomeRow(id: nil, customer: "C1", action: "invite_webinar", channel: "email", outcome: "declined",
                           at: t("2026-11-03T10:00:00Z"), value: 12.5),
                OutcomeRow(id: nil, customer: "C2", action: "invite_webinar", outcome: "declined", at: t("2026-11-03T10:00:00Z")),
            ]
            var r = try await store.importOutcomes(rows)
            #expect(r.imported == 3 && r.duplicates == 0 && r.rejected.isEmpty)
            r = try await store.importOutcomes(rows)
            #expect(r.imported == 0 && r.duplicates == 3)
            // Same id, other content: still the same outcome. Same content at another second: a new one.
            r = try await store.importOutcomes([
                OutcomeRow(id: "o-1", customer: "C1", action: "invite_webinar", outcome: "declined", at: t("2026-11-05")),
                OutcomeRow(id: nil, customer: "C2", action: "invite_webinar", outcome: "declined", at: t("2026-11-03T10:00:01Z")),
                OutcomeRow(id: nil, customer: "C2", action: "invite_webinar", outcome: "declined", at: t("2026-11-03T10:00:01Z")),
            ])
            #expect(r.imported == 1 && r.duplicates == 2)
            #expect(try await store.counts().outcomes == 4)
            let h = try await store.history(customer: "C1")
            #expect(h.count == 2)
            #expect(h[0].outcome == "declined" && h[0].value == 12.5 && h[0].channel == "email")
            #expect(h[1].outcome == "accepted" && h[1].channel == nil && h[1].at == t("2026-11-02T00:00:00Z"))
        }
    }

    @Test("an outcome naming a task must name a task of that customer and action; it takes the task's channel",
          arguments: Backend.available)
    func outcomeTasks(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let ds = decisions(run: "r", customers: ["C1", "C2"], at: t("2026-11-01T09:00:00Z"))
            _ = try await store.record(ds)
            let task1 = ds[0].taskID(at: 0)
            let r = try await store.importOutcomes([
                OutcomeRow(id: "a", task: task1, customer: "C1", action: "invite_webinar", outcome: "accepted", at: t("2026-11-02")),
                OutcomeRow(id: "b", task: "nope-1", customer: "C1", action: "invite_webinar", outcome: "accepted", at: t("2026-11-02")),
                OutcomeRow(id: "c", task: task1, customer: "C2", action: "invite_webinar", outcome: "accepted", at: t("2026-11-02")),
                OutcomeRow(id: "d", task: task1, customer: "C1", action: "call_back", outcome: "accepted", at: t("2026-11-02")),
            ])
            #expect(r.imported == 1 && r.duplicates == 0)
            #expect(r.rejected.map(\.index) == [1, 2, 3])
            #expect(r.rejected[0].reason == "task nope-1 does not exist")
            #expect(r.rejected[1].reason == "task \(task1) belongs to customer C1, not C2")
            #expect(r.rejected[2].reason == "task \(task1) is for action invite_webinar, not call_back")
            let h = try await store.history(customer: "C1")
            #expect(h.map(\.outcome) == ["accepted", nil])
            #expect(h[0].channel == "email" && h[0].task == task1)
        }
    }

    @Test("history: contacts from tasks that are not cancelled, outcomes, newest first, in one call for many customers",
          arguments: Backend.available)
    func history(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let customers = (1...300).map { "C\($0)" }
            let ds = decisions(run: "r1", customers: customers, at: t("2026-10-01T09:00:00Z"))
            _ = try await store.record(ds)
            _ = try await store.record(decisions(run: "r2", customers: ["C1"], at: t("2026-10-20T09:00:00Z")))
            _ = try await store.importOutcomes([
                OutcomeRow(id: nil, customer: "C1", action: "invite_webinar", outcome: "declined", at: t("2026-10-05")),
                OutcomeRow(id: nil, customer: "C2", action: "invite_webinar", outcome: "accepted", at: t("2026-10-06")),
            ])
            _ = try await store.cancel(task: ds[2].taskID(at: 0), at: t("2026-10-02"))  // C3's only contact
            let all = try await store.history(customers: customers + ["nobody"], since: nil)
            #expect(all.count == 299)  // C3 (cancelled) and "nobody" have none
            #expect(all["C3"] == nil && all["nobody"] == nil)
            let c1 = try #require(all["C1"])
            #expect(c1.map(\.at) == [t("2026-10-20T09:00:00Z"), t("2026-10-05"), t("2026-10-01T09:00:00Z")])
            #expect(c1.map(\.outcome) == [nil, "declined", nil])
            #expect(c1[0].action == "invite_webinar" && c1[0].channel == "email" && c1[0].task != nil)
            let recent = try await store.history(customers: ["C1", "C2"], since: t("2026-10-05"))
            #expect(recent["C1"]?.count == 2)
            #expect(recent["C2"]?.map(\.outcome) == ["accepted"])
            #expect(try await store.history(customer: "C250").count == 1)
            #expect(try await store.history(customers: [], since: nil).isEmpty)
        }
    }

    @Test("contact rows for deciding: only the window asked for, an old task's outcome left out with its task, merged as contacts",
          arguments: Backend.available)
    func contactRowsWindow(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let ids = IDs()
            let old = decisions(run: "r1", customers: ["C1", "C2"], at: t("2026-09-01T09:00:00Z"), ids: ids)
            let recent = decisions(run: "r2", customers: ["C1"], at: t("2026-10-20T09:00:00Z"), ids: ids)
            _ = try await store.record(old + recent)
            _ = try await store.importOutcomes([
                // An answer to the old task, given inside the window: it belongs to its task's time.
                OutcomeRow(id: "a", task: old[0].taskID(at: 0), customer: "C1", action: "invite_webinar", outcome: "declined", at: t("2026-10-10")),
                OutcomeRow(id: "b", task: recent[0].taskID(at: 0), customer: "C1", action: "invite_webinar", outcome: "accepted", at: t("2026-10-21")),
                OutcomeRow(id: "c", customer: "C1", action: "invite_webinar", outcome: "ignored", at: t("2026-10-05")),
            ])
            let all = try await store.contactRows(customers: ["C1", "C2", "nobody"], since: nil)
            #expect(all["C1"]?.count == 5 && all["C2"]?.count == 1 && all["nobody"] == nil)
            // The same rows, in the same order, as the history the service reads.
            #expect(all["C1"] == (try await store.history(customer: "C1")).map(ContactRow.init))
            let window = try await store.contactRows(customers: ["C1", "C2"], since: t("2026-10-01"))
            #expect(window["C2"] == nil)
            let c1 = try #require(window["C1"])
            #expect(c1.map(\.at) == ["2026-10-21T00:00:00Z", "2026-10-20T09:00:00Z", "2026-10-05T00:00:00Z"])
            #expect(ContactRow.merge(c1).map { [$0.at, $0.outcome ?? "-"] }
                    == [["2026-10-20T09:00:00Z", "accepted"], ["2026-10-05T00:00:00Z", "ignored"]])
            // A resumed run's own decisions are not its history.
            #expect(ContactRow.merge(c1, skippingDecisions: [recent[0].id]).map(\.outcome) == ["ignored"])
            // What a batch run reads (SQLite: straight from the statement's bytes) is the same merge.
            func merged(_ rows: [String: [ContactRow]], skipping own: Set<String> = []) -> [String: [PastContact]] {
                rows.mapValues { ContactRow.merge($0, skippingDecisions: own).map { PastContact(action: $0.action, channel: $0.channel, at: $0.at, outcome: $0.outcome) } }
            }
            #expect(try await store.contacts(customers: ["C1", "C2", "nobody"], since: nil, skippingRun: nil).byCustomer == merged(all))
            let batch = try await store.contacts(customers: ["C1", "C2"], since: t("2026-10-01"), skippingRun: nil)
            #expect(batch.byCustomer == merged(window))
            #expect(batch.byCustomer["C1"]?.map(\.outcome) == ["accepted", "ignored"])
            let resumed = try await store.contacts(customers: ["C1", "C2"], since: t("2026-10-01"), skippingRun: "r2")
            #expect(resumed.byCustomer == merged(window, skipping: [recent[0].id]))
            #expect(resumed.byCustomer["C1"]?.map(\.outcome) == ["ignored"])
            // Ties in time keep the store's order: two tasks of one decision, and an outcome
            // without a task at the same moment (C2 also reads from both queries).
            let twin = decisions(run: "r3", customers: ["C2"], at: t("2026-10-25T09:00:00Z"), ids: ids, tasksEach: 2)
            _ = try await store.record(twin)
            _ = try await store.importOutcomes([
                OutcomeRow(id: "d", customer: "C2", action: "invite_webinar", outcome: "declined", at: t("2026-10-25T09:00:00Z")),
                OutcomeRow(id: "e", task: twin[0].taskID(at: 1), customer: "C2", action: "invite_webinar", outcome: "accepted", at: t("2026-10-26")),
            ])
            let tied = try await store.contactRows(customers: ["C1", "C2"], since: t("2026-10-01"))
            #expect((tied["C2"]?.count ?? 0) >= 3)
            #expect(try await store.contacts(customers: ["C2", "C1"], since: t("2026-10-01"), skippingRun: nil).byCustomer == merged(tied))
            // An answer in the window to an old task that was cancelled: the task is no contact, so
            // the answer is one of its own (the batch read asks about such a task on its own).
            _ = try await store.cancel(task: old[1].taskID(at: 0), at: t("2026-09-02"))
            let f = OutcomeRow(id: "f", task: old[1].taskID(at: 0), customer: "C2", action: "invite_webinar", outcome: "declined",
                               at: t("2026-10-27"))
            #expect(try await store.importOutcomes([f]).imported == 1)
            let cancelled = try await store.contactRows(customers: ["C1", "C2"], since: t("2026-10-01"))
            #expect(cancelled["C2"]?.contains { $0.outcome == "declined" && $0.at == "2026-10-27T00:00:00Z" } == true)
            #expect(try await store.contacts(customers: ["C1", "C2"], since: t("2026-10-01"), skippingRun: nil).byCustomer
                    == merged(cancelled))
        }
    }

    @Test("a batch run's read of many customers (SQLite: as one range of ids when the input is in id order) gives what the lookup by customer gives")
    func rangeReadsMatchLookups() async throws {
        try await withStore(.sqlite) { store, _ in
            let sqlite = try #require(store as? SQLiteStore)
            let ids = IDs()
            let everyone = (1...400).map { String(format: "K%04d", $0) }
            // Histories in the window and before it, and outcomes with and without their tasks.
            let old = decisions(run: "r1", customers: everyone, at: t("2026-09-01T09:00:00Z"), ids: ids)
            let recent = decisions(run: "r2", customers: everyone, at: t("2026-10-20T09:00:00Z"), ids: ids, tasksEach: 2)
            _ = try await store.record(old + recent)
            var rows: [OutcomeRow] = []
            for (i, c) in everyone.enumerated() where i % 3 == 0 {
                rows.append(OutcomeRow(id: "o\(i)", task: old[i].taskID(at: 0), customer: c, action: "invite_webinar",
                                       outcome: "declined", at: t("2026-10-10")))
                rows.append(OutcomeRow(id: "p\(i)", task: recent[i].taskID(at: 1), customer: c, action: "call_back",
                                       outcome: "accepted", at: t("2026-10-21")))
                rows.append(OutcomeRow(id: "q\(i)", customer: c, action: "invite_webinar", outcome: "ignored", at: t("2026-10-05")))
            }
            #expect(try await store.importOutcomes(rows).imported == rows.count)
            let since = t("2026-10-01")
            // In id order (read as ranges), every second customer (ranges with others between),
            // and a few scattered ones, shuffled (the range gives up and each customer is looked up).
            let scattered = Array(everyone.shuffled().prefix(30))
            for asked in [Array(everyone[40..<360]), stride(from: 0, to: 400, by: 2).map { everyone[$0] }, scattered,
                          Array(everyone[100..<140].reversed())] {
                for _ in 0..<3 {  // again: a range tried after one gave up
                    let read = try sqlite.contactsWaiting(customers: asked, since: since, skippingRun: nil)
                    let looked = try await store.contacts(customers: asked, since: since, skippingRun: nil)
                    #expect(read.byCustomer == looked.byCustomer)
                    #expect(read.byCustomer.count == Set(asked).count)
                }
            }
            let resumed = try sqlite.contactsWaiting(customers: everyone, since: since, skippingRun: "r2")
            #expect(resumed.byCustomer == (try await store.contacts(customers: everyone, since: since, skippingRun: "r2")).byCustomer)
        }
    }

    @Test("SQLite: after recording (no per-row checks), every other write is checked again")
    func checksComeBackAfterRecording() async throws {
        try await withStore(.sqlite) { store, _ in
            let sqlite = try #require(store as? SQLiteStore)
            let recorded = decisions(run: "r1", customers: ["C1", "C2"], at: t("2026-11-01T09:00:00Z"))
            #expect(try await store.record(recorded).tasks == 2)
            await #expect(throws: (any Error).self) {  // the status CHECK
                try await sqlite.writing { db in try db.execute(sql: "UPDATE tasks SET status = 'lost'") }
            }
            await #expect(throws: (any Error).self) {  // the foreign key to decisions
                try await sqlite.writing { db in
                    try db.execute(sql: """
                        INSERT INTO tasks (id, decision, customer, action, department, channel, priority, created_at, status, status_at)
                        VALUES ('x-1', 'no such decision', 'C1', 'a', 'd', 'c', 1, 't', 'open', 't')
                        """)
                }
            }
            #expect(try await store.record(decisions(run: "r2", customers: ["C3"], at: t("2026-11-02T09:00:00Z"))).tasks == 1)
            #expect(try await store.task(recorded[0].taskID(at: 0))?.status == .open)
        }
    }

    @Test("task moves are compare-and-set and say who holds the task", arguments: Backend.available)
    func taskMoves(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let ds = decisions(run: "r", customers: ["C1", "C2", "C3"], at: t("2026-11-01T09:00:00Z"), department: "sales")
            _ = try await store.record(ds)
            let (a, b, c) = (ds[0].taskID(at: 0), ds[1].taskID(at: 0), ds[2].taskID(at: 0))
            var m = try await store.assign(task: a, to: "alice", at: t("2026-11-02T08:00:00Z"))
            #expect(m.changed && m.task.status == .assigned && m.task.assignee == "alice")
            #expect(m.task.assignedAt == t("2026-11-02T08:00:00Z"))
            m = try await store.assign(task: a, to: "alice", at: t("2026-11-02T08:01:00Z"))
            #expect(!m.changed)
            await #expect(throws: TaskMoveError.self) { try await store.assign(task: a, to: "bob", at: t("2026-11-02T09:00:00Z")) }
            do {
                _ = try await store.assign(task: a, to: "bob", at: t("2026-11-02T09:00:00Z"))
            } catch let e as TaskMoveError {
                #expect(e.description == "cannot assign task \(a): it is assigned to alice (since 2026-11-02T08:00:00Z)")
            }
            m = try await store.done(task: a, outcome: "accepted", note: "called, signed up", at: t("2026-11-03T10:00:00Z"))
            #expect(m.task.status == .done && m.task.outcome == "accepted" && m.task.note == "called, signed up")
            #expect(m.task.doneAt == t("2026-11-03T10:00:00Z") && m.task.assignee == "alice")
            let h = try await store.history(customer: "C1")
            #expect(h.map(\.outcome) == ["accepted", nil])
            #expect(h[0].task == a && h[0].channel == "email")
            do {
                _ = try await store.cancel(task: a, at: t("2026-11-04"))
                Issue.record("cancel on a done task went through")
            } catch let e as TaskMoveError {
                #expect(e.description == "cannot cancel task \(a): it is already done by alice (accepted) on 2026-11-03T10:00:00Z")
            }
            // done straight from open; cancel; and a cancelled task cannot be done.
            m = try await store.done(task: b, outcome: "declined", note: nil, at: t("2026-11-03"))
            #expect(m.task.status == .done && m.task.assignee == nil)
            m = try await store.cancel(task: c, at: t("2026-11-03T12:00:00Z"))
            #expect(m.task.status == .cancelled)
            do {
                _ = try await store.done(task: c, outcome: "accepted", note: nil, at: t("2026-11-04"))
                Issue.record("done on a cancelled task went through")
            } catch let e as TaskMoveError {
                #expect(e.description == "cannot mark done task \(c): it was cancelled on 2026-11-03T12:00:00Z")
            }
            await #expect(throws: TaskMoveError.unknownTask("nope")) { try await store.assign(task: "nope", to: "x", at: Date()) }
            let t3 = try #require(try await store.task(c))
            #expect(t3.status == .cancelled)
            #expect(try await store.counts().outcomes == 2)
        }
    }

    @Test("open tasks past their due time expire; an expired task cannot be taken", arguments: Backend.available)
    func expiry(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let ds = decisions(run: "r", customers: ["C1", "C2", "C3"], at: t("2026-11-01T09:00:00Z"),
                               dueAt: t("2026-11-06T09:00:00Z"))
            _ = try await store.record(ds)
            _ = try await store.assign(task: ds[2].taskID(at: 0), to: "carol", at: t("2026-11-02"))
            do {
                _ = try await store.assign(task: ds[0].taskID(at: 0), to: "alice", at: t("2026-11-07"))
                Issue.record("an expired task was assigned")
            } catch let e as TaskMoveError {
                #expect(e.description.hasSuffix("it expired on 2026-11-06T09:00:00Z (due 2026-11-06T09:00:00Z)"))
            }
            #expect(try await store.expire(now: t("2026-11-05")) == 0)
            // The refused move changed nothing (its transaction rolled back): C1 and C2 expire now; C3 is assigned.
            #expect(try await store.expire(now: t("2026-11-07")) == 2)
            let expired = try await store.tasks(department: "marketing", status: .expired, limit: nil)
            #expect(expired.map(\.customer) == ["C1", "C2"])
            // Expired tasks still count as contacts: they were decided and routed.
            #expect(try await store.history(customer: "C2").count == 1)
        }
    }

    @Test("a department's queue, oldest first, by status", arguments: Backend.available)
    func queue(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            _ = try await store.record(decisions(run: "r2", customers: ["B1", "B2"], at: t("2026-11-02T09:00:00Z"), department: "sales"))
            _ = try await store.record(decisions(run: "r1", customers: ["A1", "A2"], at: t("2026-11-01T09:00:00Z"), department: "sales"))
            _ = try await store.record(decisions(run: "r1", customers: ["M1"], at: t("2026-11-01T08:00:00Z")))
            let sales = try await store.tasks(department: "sales", status: .open, limit: nil)
            #expect(sales.map(\.customer) == ["A1", "A2", "B1", "B2"])
            _ = try await store.assign(task: sales[1].id, to: "dan", at: t("2026-11-03"))
            #expect(try await store.tasks(department: "sales", status: .open, limit: 2).map(\.customer) == ["A1", "B1"])
            #expect(try await store.tasks(department: "sales", status: .assigned, limit: nil).map(\.assignee) == ["dan"])
            #expect(try await store.tasks(department: nil, status: nil, limit: nil).map(\.customer) == ["M1", "A1", "A2", "B1", "B2"])
            #expect(try await store.tasks(department: "service", status: nil, limit: nil).isEmpty)
        }
    }

    @Test("two writers assigning one task at once: exactly one wins", arguments: Backend.available)
    func concurrentAssign(_ backend: Backend) async throws {
        try await withStore(backend) { store, place in
            let ds = decisions(run: "r", customers: (1...20).map { "C\($0)" }, at: t("2026-11-01T09:00:00Z"))
            _ = try await store.record(ds)
            // Separate connections, as two processes would have.
            let (other, _) = try await openStore(place.url)
            for d in ds {
                let id = d.taskID(at: 0)
                async let x = attempt { try await store.assign(task: id, to: "alice", at: t("2026-11-02")) }
                async let y = attempt { try await other.assign(task: id, to: "bob", at: t("2026-11-02")) }
                let results = await [x, y]
                let wins = results.filter { if case .success = $0 { return true }; return false }
                #expect(wins.count == 1)
                let holder = try #require(try await store.task(id)?.assignee)
                for case .failure(let e) in results {
                    #expect("\(e)".contains("it is assigned to \(holder)"))
                }
            }
            await other.close()
        }
    }

    @Test("a database with other tables and no marker is refused and left unchanged", arguments: Backend.available)
    func notAStore(_ backend: Backend) async throws {
        try await withPlace(backend) { place in
            _ = try await place.sql("CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT)")
            _ = try await place.sql("INSERT INTO customers VALUES ('1', 'Ada')")
            let before = try await snapshot(place)
            await #expect(throws: StoreError.self) { _ = try await openStore(place.url) }
            do { _ = try await openStore(place.url) } catch let e as StoreError {
                guard case .notAStore(_, let tables) = e else { Issue.record("wrong error: \(e)"); return }
                #expect(tables == ["customers"])
                #expect(e.description.contains("is not a NextBest store"))
            }
            #expect(try await snapshot(place) == before)
        }
    }

    @Test("a store from a newer NextBest is refused and left unchanged", arguments: Backend.available)
    func newerSchema(_ backend: Backend) async throws {
        try await withPlace(backend) { place in
            let (s, _) = try await openStore(place.url)
            await s.close()
            _ = try await place.sql("UPDATE nextbest_store SET value = '99' WHERE key = 'schema_version'")
            let before = try await snapshot(place)
            do {
                _ = try await openStore(place.url)
                Issue.record("a newer store was opened")
            } catch let e as StoreError {
                #expect(e == .newerSchema(place.url.description, found: 99, supported: storeSchemaVersion))
            }
            #expect(try await snapshot(place) == before)
        }
    }

    /// What a place holds: its tables and the marker's rows (SQLite: the file's bytes too).
    private func snapshot(_ place: FreshPlace) async throws -> [String] {
        switch place.url {
        case .sqlite(let path):
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return [SHA256Hex.of(data.base64EncodedString())]
        case .postgres:
            let tables = try await place.sql("""
                SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1
                """)
            var out = tables.map { $0.compactMap { $0 }.joined() }
            for name in out where name == "nextbest_store" || name == "customers" {
                out += try await place.sql("SELECT * FROM \(name) ORDER BY 1").map { $0.map { $0 ?? "NULL" }.joined(separator: "|") }
            }
            return out
        }
    }
}
