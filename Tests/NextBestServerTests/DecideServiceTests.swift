// `nextbest serve` as a real process: decide gives what `nextbest run` gives, bad requests get their answers.
import Foundation
import NextBest
import Testing

/// Parses a JSON line with Foundation (tests only) into a comparable dictionary.
func object(_ text: some StringProtocol) -> NSDictionary {
    ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? NSDictionary) ?? [:]
}

/// A plan from the service without its `decision` and `revision` stamps.
func unstamped(_ plan: Any) -> NSDictionary {
    let d = NSMutableDictionary(dictionary: (plan as? [String: Any]) ?? [:])
    d.removeObject(forKey: "decision")
    d.removeObject(forKey: "revision")
    return d
}

@Suite("nextbest serve: decide", .serialized)
struct DecideServiceTests {
    static let now = "2026-11-01"

    /// The sample profiles, one JSON text each.
    static func profiles() throws -> [String] {
        try String(contentsOfFile: sampleProfiles, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func singleAndBatchDecisionsEqualNextbestRun() throws {
        // The service decides one customer at a time and applies no capacity across customers
        // (policy-language.md §8.4): compare with a run of the same set without its capacities.
        let uncapped = NSTemporaryDirectory() + "nextbest-uncapped-" + UUID().uuidString
        try FileManager.default.copyItem(atPath: samplePolicies, toPath: uncapped)
        defer { try? FileManager.default.removeItem(atPath: uncapped) }
        for name in try FileManager.default.contentsOfDirectory(atPath: uncapped) where name.hasSuffix(".lua") {
            let text = try String(contentsOfFile: uncapped + "/" + name, encoding: .utf8)
            try text.replacingOccurrences(of: #"capacity = \d+,?"#, with: "", options: .regularExpression)
                .write(toFile: uncapped + "/" + name, atomically: true, encoding: .utf8)
        }
        let run = try runNextbest(["run", "--policies", uncapped, "--profiles", sampleProfiles, "--now", Self.now])
        #expect(run.status == 0 && !run.stdout.contains("is at capacity ("))
        let expected = run.stdout.split(separator: "\n").map { object($0) }
        let profiles = try Self.profiles()
        #expect(expected.count == profiles.count)
        let server = try ServerProcess(["--policies", samplePolicies])
        let revision = try PolicySet(directory: samplePolicies).revision

        // One by one (a sample: every 10th profile), on one keep-alive connection.
        let client = try HTTPClient(port: server.port)
        var decisions = Set<String>()
        for i in stride(from: 0, to: profiles.count, by: 10) {
            let reply = try client.send("POST", "/v1/decide", body: Array(#"{"now":"\#(Self.now)","profile":\#(profiles[i])}"#.utf8))
            #expect(reply.status == 200, "\(reply.text)")
            let plan = reply.json["plan"] as? [String: Any] ?? [:]
            #expect(plan["revision"] as? String == revision)
            if let d = plan["decision"] as? String { decisions.insert(d); #expect(d.count == 26) }
            #expect(unstamped(plan) == expected[i], "profile \(i + 1)")
        }
        #expect(decisions.count == (profiles.count + 9) / 10)

        // In batches of 100: same plans, same order.
        for start in stride(from: 0, to: profiles.count, by: 100) {
            let batch = profiles[start..<min(start + 100, profiles.count)].joined(separator: ",")
            let reply = try client.send("POST", "/v1/decide", body: Array(#"{"profiles":[\#(batch)],"now":"\#(Self.now)"}"#.utf8))
            #expect(reply.status == 200)
            let plans = reply.json["plans"] as? [Any] ?? []
            #expect(plans.count == min(100, profiles.count - start))
            for (k, plan) in plans.enumerated() {
                #expect(unstamped(plan) == expected[start + k], "profile \(start + k + 1)")
                #expect((plan as? NSDictionary)?["revision"] as? String == revision)
            }
        }
    }

    @Test func aBadProfileInABatchIsAnErrorInItsSlot() throws {
        let server = try ServerProcess(["--policies", samplePolicies])
        let p = try Self.profiles()
        let body = #"{"now":"2026-11-01","profiles":[\#(p[0]),{"no_id":true},[1,2],\#(p[1])]}"#
        let reply = try server.request("POST", "/v1/decide", body: body)
        #expect(reply.status == 200)
        let plans = reply.json["plans"] as? [[String: Any]] ?? []
        #expect(plans.count == 4)
        #expect(plans[0]["customer"] as? String == "C00001")
        #expect(plans[1]["input"] as? Int == 2 && (plans[1]["error"] as? String ?? "").contains("id"))
        #expect(plans[2]["input"] as? Int == 3 && plans[2]["error"] != nil)
        #expect(plans[3]["customer"] as? String == "C00002")
        // One bad profile alone is a 400 with the reason.
        let single = try server.request("POST", "/v1/decide", body: #"{"profile":{"no_id":true}}"#)
        #expect(single.status == 400)
        #expect((single.json["error"] as? String ?? "").contains("id"))
    }

    @Test func explainAddsTheTraceAndABadNowIsRefused() throws {
        let server = try ServerProcess(["--policies", samplePolicies])
        let p = try Self.profiles()
        let reply = try server.request("POST", "/v1/decide", body: #"{"now":"2026-11-01","explain":true,"profile":\#(p[0]),"context":{"page":"home"}}"#)
        #expect(reply.status == 200)
        let trace = reply.json["explanation"] as? [String: Any] ?? [:]
        #expect(trace["now"] as? String == "2026-11-01T00:00:00Z")
        #expect((trace["policies"] as? [Any])?.isEmpty == false)
        let bad = try server.request("POST", "/v1/decide", body: #"{"now":"yesterday","profile":\#(p[0])}"#)
        #expect(bad.status == 400)
        #expect((bad.json["error"] as? String ?? "").contains("yesterday"))
        // record needs a store; with now it is refused outright.
        let record = try server.request("POST", "/v1/decide", body: #"{"record":true,"profile":\#(p[0])}"#)
        #expect(record.status == 501)
        #expect((record.json["error"] as? String ?? "").contains("--store"))
        let both = try server.request("POST", "/v1/decide", body: #"{"record":true,"now":"2026-11-01","profile":\#(p[0])}"#)
        #expect(both.status == 400)
    }

    @Test func storeEndpointsAnswer501WithoutAStore() throws {
        let server = try ServerProcess(["--policies", samplePolicies])
        for (method, path, body) in [("POST", "/v1/outcomes", #"{"outcomes":[]}"#), ("GET", "/v1/tasks?department=marketing", nil),
                                     ("POST", "/v1/tasks/T1/assign", #"{"to":"ann"}"#), ("POST", "/v1/tasks/T1/done", #"{"outcome":"accepted"}"#),
                                     ("POST", "/v1/tasks/T1/cancel", nil), ("GET", "/v1/customers/C1/history", nil)] {
            let reply = try server.request(method, path, body: body)
            #expect(reply.status == 501, "\(method) \(path)")
            #expect((reply.json["error"] as? String ?? "").contains("without --store"))
        }
        #expect(try server.request("GET", "/healthz").status == 200)
        let ready = try server.request("GET", "/readyz")
        #expect(ready.status == 200 && ready.json["revision"] != nil)
        let openapi = try server.request("GET", "/openapi.yaml")
        #expect(openapi.status == 200 && openapi.text.hasPrefix("openapi: 3"))
        let metrics = try server.request("GET", "/metrics")
        #expect(metrics.text.contains(#"nextbest_http_requests_total{route="/v1/outcomes",method="POST",status="501"} 1"#))
    }

    @Test func metricsCountRequestsPlansAndLatency() throws {
        let server = try ServerProcess(["--policies", samplePolicies])
        let p = try Self.profiles()
        for i in 0..<3 { _ = try server.request("POST", "/v1/decide", body: #"{"profile":\#(p[i])}"#) }
        _ = try server.request("POST", "/v1/decide", body: "{")
        let text = try server.request("GET", "/metrics").text
        #expect(text.contains(#"nextbest_http_requests_total{route="/v1/decide",method="POST",status="200"} 3"#))
        #expect(text.contains(#"nextbest_http_requests_total{route="/v1/decide",method="POST",status="400"} 1"#))
        #expect(text.contains("nextbest_plans_total 3"))
        #expect(text.contains("nextbest_decide_duration_seconds_count 3"))
        #expect(text.contains("nextbest_decide_duration_seconds_bucket{le=\"+Inf\"} 3"))
    }
}
