// Two `nextbest serve` replicas on one store deciding the same customers at once, and SIGTERM with recorded writes in flight.
import Foundation
import NextBestStore
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Sends `bodies` to `port` from `connections` threads at once (each thread its own keep-alive
/// connection, taking the next body as it goes); the answers' statuses.
func sendConcurrently(port: Int, bodies: [String], connections: Int) -> [Int] {
    let next = Atomic<Int>(0)
    let statuses = Mutex<[Int]>([])
    let group = DispatchGroup()
    for _ in 0..<connections {
        group.enter()
        Thread {
            defer { group.leave() }
            var client = try? HTTPClient(port: port)
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= bodies.count { return }
                if client == nil { client = try? HTTPClient(port: port) }
                let status = (try? client?.send("POST", "/v1/decide", body: Array(bodies[i].utf8)))?.status ?? 0
                if status == 0 { client = nil }
                statuses.withLock { $0.append(status) }
            }
        }.start()
    }
    group.wait()
    return statuses.withLock { $0 }
}

@Suite("nextbest serve: replicas on one store, and SIGTERM with recorded writes", .serialized)
struct ReplicaTests {
    func policies() throws -> String {
        let dir = try temporaryDirectory()
        try write(recordSet, to: dir + "/set.lua")
        return dir
    }

    /// Two servers decide, with record, each of 100 customers at the same moment: the per-customer
    /// lock makes one wait for the other, which then sees the first's email and respects the cap.
    func twoReplicasRecordOneEmailPerCustomer(_ place: FreshStore) async throws {
        let dir = try policies()
        let a = try ServerProcess(["--policies", dir, "--store", place.argument, "--jobs", "2"])
        let b = try ServerProcess(["--policies", dir, "--store", place.argument, "--jobs", "2"])
        let customers = (1...100).map { String(format: "R%03d", $0) }
        let bodies = customers.map { #"{"profile":\#(recordProfile($0)),"record":true}"# }
        let answers = Mutex<[Int]>([])
        let group = DispatchGroup()
        for server in [a, b] {
            group.enter()
            Thread {
                let s = sendConcurrently(port: server.port, bodies: bodies, connections: 8)
                answers.withLock { $0 += s }
                group.leave()
            }.start()
        }
        group.wait()
        let statuses = answers.withLock { $0 }
        #expect(statuses.count == 200 && statuses.allSatisfy { $0 == 200 }, "\(Set(statuses)) \(a.stderr) \(b.stderr)")
        let tasks = try await place.with { try await $0.tasks(department: nil, status: nil, limit: nil) }
        var emails: [String: Int] = [:]
        for t in tasks where t.channel == "email" { emails[t.customer, default: 0] += 1 }
        #expect(emails.count == 100)
        #expect(emails.values.allSatisfy { $0 == 1 }, "customers with more than one email: \(emails.filter { $0.value > 1 })")
        let decisions = try await place.with { try await $0.counts() }.decisions
        #expect(decisions == 200)
    }

    @Test func twoReplicasOnPostgreSQL() async throws {
        guard let base = testPostgres else {
            Issue.record("NEXTBEST_TEST_POSTGRES is not set: run the suite with scripts/postgres run swift test")
            return
        }
        let place = try await FreshStore.postgres(base)
        do { try await twoReplicasRecordOneEmailPerCustomer(place) } catch { await place.remove(); throw error }
        await place.remove()
    }

    @Test func twoReplicasOnSQLite() async throws {
        let place = try FreshStore.sqlite()
        do { try await twoReplicasRecordOneEmailPerCustomer(place) } catch { await place.remove(); throw error }
        await place.remove()
    }

    /// SIGTERM while recorded decisions are in flight: each one answered is in the store, and the
    /// process exits 0 within 10 seconds.
    @Test func sigtermFinishesRecordedDecisionsAndExits0() async throws {
        let dir = try temporaryDirectory()
        try write(slowSet(reason: "slow"), to: dir + "/slow.lua")
        let place = try FreshStore.sqlite()
        defer { Task { await place.remove() } }
        let server = try ServerProcess(["--policies", dir, "--instruction-budget", "0", "--store", place.argument])
        let slow = RequestInFlight(port: server.port, method: "POST", path: "/v1/decide",
                                   body: #"{"profile":{"id":"S","spin":100000000,"consent":{"phone":true}},"record":true}"#)
        #expect(try eventually(seconds: 30) { try decisionInFlight(server) })
        server.signal(SIGTERM)
        let reply = try slow.reply()
        #expect(reply.status == 200, "\(reply.text)")
        let decision = try #require((reply.json["plan"] as? [String: Any])?["decision"] as? String)
        let status = server.waitForExit(seconds: 10)
        #expect(status == 0, "\(server.stderr)")
        let tasks = try await place.with { try await $0.tasks(department: nil, status: nil, limit: nil) }
        #expect(tasks.map(\.decision) == [decision])
    }
}
