// Bad requests to a real `nextbest serve`: each gets its status and message, and the server still answers after it.
import Foundation
import Testing

@Suite("nextbest serve: bad requests", .serialized)
struct BadRequestTests {
    static let good = #"{"now":"2026-11-01","profile":{"id":"C1","annual_revenue":82000,"tenure_months":3,"churn_risk":0.1,"consent":{"email":true}}}"#

    /// The server still decides correctly.
    func stillAnswers(_ server: ServerProcess, after what: String) throws {
        let reply = try server.request("POST", "/v1/decide", body: Self.good)
        #expect(reply.status == 200, "after \(what): \(reply.text)")
        #expect((reply.json["plan"] as? [String: Any])?["customer"] as? String == "C1", "after \(what)")
    }

    @Test func malformedJSONIs400WithLineAndColumn() throws {
        let server = try ServerProcess(["--policies", samplePolicies])
        let cases: [(String, Int, Int)] = [
            ("{\"profile\": {\"id\": \"x\",}}", 1, 24),
            ("{\n  \"profile\": {\n    \"id\": \"x\"\n    \"a\": 1\n  }\n}", 4, 5),
            ("", 1, 1),
            ("[1, 2]", 1, 1),
            ("{\"profile\": {\"id\": 01}}", 1, 21),
            ("{\"profile\": {\"id\": \"a\tb\"}}", 1, 22),
            ("{\"profile\": {\"id\": \"x\"}} trailing", 1, 26),
            ("{\"profile\": {\"id\": \"\u{FFFD}\"}}", 0, 0),  // valid UTF-8: decided
        ]
        for (body, line, column) in cases {
            let reply = try server.request("POST", "/v1/decide", body: body)
            if line == 0 { #expect(reply.status == 200, "\(body)"); continue }
            #expect(reply.status == 400, "\(body)")
            #expect(reply.json["line"] as? Int == line, "\(body): \(reply.text)")
            #expect(reply.json["column"] as? Int == column, "\(body): \(reply.text)")
            #expect((reply.json["error"] as? String ?? "").contains("line \(line), column \(column)"))
            try stillAnswers(server, after: body)
        }
        // Invalid UTF-8 and nesting deep enough to hurt a recursive parser.
        let client = try HTTPClient(port: server.port)
        let badUTF8: [UInt8] = Array(#"{"profile":{"id":""#.utf8) + [0xC3, 0x28] + Array(#""}}"#.utf8)
        #expect(try client.send("POST", "/v1/decide", body: badUTF8).status == 400)
        let deep = String(repeating: "[", count: 200_000)
        let reply = try client.send("POST", "/v1/decide", body: Array(#"{"profile":{"id":"x","a":\#(deep)}}"#.utf8))
        #expect(reply.status == 400)
        #expect((reply.json["error"] as? String ?? "").contains("nested too deeply"))
        try stillAnswers(server, after: "deep nesting")
    }

    @Test func unknownFieldsAreNamedAndBatchesOver1000Refused() throws {
        let server = try ServerProcess(["--policies", samplePolicies])
        let unknown = try server.request("POST", "/v1/decide", body: #"{"profile":{"id":"x"},"profil":{},"explian":true}"#)
        #expect(unknown.status == 400)
        #expect(unknown.json["fields"] as? [String] == ["profil", "explian"])
        #expect((unknown.json["error"] as? String ?? "").contains("\"profil\", \"explian\""))
        try stillAnswers(server, after: "unknown fields")
        let twice = try server.request("POST", "/v1/decide", body: #"{"profile":{"id":"x"},"profile":{"id":"y"}}"#)
        #expect(twice.status == 400)
        let both = try server.request("POST", "/v1/decide", body: #"{"profile":{"id":"x"},"profiles":[]}"#)
        #expect(both.status == 400)
        let neither = try server.request("POST", "/v1/decide", body: #"{"explain":true}"#)
        #expect(neither.status == 400)
        let wrongType = try server.request("POST", "/v1/decide", body: #"{"profile":"C1"}"#)
        #expect(wrongType.status == 400)
        // An empty id names nobody: the error has no "customer" (the schema's CustomerId is never empty).
        let emptyID = try server.request("POST", "/v1/decide", body: #"{"profile":{"id":"","a":1}}"#)
        #expect(emptyID.status == 400)
        #expect(emptyID.json["customer"] == nil, "\(emptyID.text)")
        #expect((emptyID.json["error"] as? String ?? "").contains("\"id\" is empty"))
        let emptyInBatch = try server.request("POST", "/v1/decide", body: #"{"profiles":[{"id":""}]}"#)
        let slot = (emptyInBatch.json["plans"] as? [[String: Any]])?.first
        #expect(slot?["input"] as? Int == 1 && slot?["customer"] == nil, "\(emptyInBatch.text)")
        let many = Array(repeating: #"{"id":"x"}"#, count: 1001).joined(separator: ",")
        let big = try server.request("POST", "/v1/decide", body: #"{"profiles":[\#(many)]}"#)
        #expect(big.status == 400)
        #expect((big.json["error"] as? String ?? "").contains("1001"))
        let atLimit = Array(repeating: #"{"id":"x","annual_revenue":1,"tenure_months":1,"churn_risk":0}"#, count: 1000).joined(separator: ",")
        let ok = try server.request("POST", "/v1/decide", body: #"{"profiles":[\#(atLimit)]}"#)
        #expect(ok.status == 200)
        #expect((ok.json["plans"] as? [Any])?.count == 1000)
        try stillAnswers(server, after: "a batch over 1000")
        // Wrong method and unknown path.
        #expect(try server.request("GET", "/v1/decide").status == 405)
        #expect(try server.request("GET", "/v2/nothing").status == 404)
        try stillAnswers(server, after: "404 and 405")
    }

    @Test func bodiesOverMaxBodyAre413OnEveryRoute() throws {
        let server = try ServerProcess(["--policies", samplePolicies, "--max-body", "4096"])
        let big = String(repeating: " ", count: 5000) + Self.good
        for (method, path) in [("POST", "/v1/decide"), ("GET", "/healthz"), ("POST", "/v1/policies/reload"),
                               ("GET", "/metrics"), ("POST", "/nowhere"), ("POST", "/v1/outcomes")] {
            let reply = try server.request(method, path, body: big)
            #expect(reply.status == 413, "\(method) \(path)")
            try stillAnswers(server, after: "413 on \(path)")
        }
        // No Content-Length: the streamed bytes are counted.
        let client = try HTTPClient(port: server.port)
        var raw = "POST /v1/decide HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        for _ in 0..<10 { raw += "3e8\r\n" + String(repeating: " ", count: 1000) + "\r\n" }
        raw += "0\r\n\r\n"
        client.sendRaw(Array(raw.utf8))
        #expect(try client.readReply().status == 413)
        // Just under the limit is fine.
        let fits = String(repeating: " ", count: 4096 - Self.good.utf8.count) + Self.good
        #expect(try server.request("POST", "/v1/decide", body: fits).status == 200)
        try stillAnswers(server, after: "a chunked body over the limit")
    }

    @Test func garbageAndHalfRequestsDoNotStopTheServer() throws {
        let server = try ServerProcess(["--policies", samplePolicies])
        do {
            let c = try HTTPClient(port: server.port)
            c.sendRaw(Array("NOT HTTP AT ALL\r\n\r\n".utf8))
            _ = try? c.readReply()
        }
        do {
            let c = try HTTPClient(port: server.port)
            c.sendRaw(Array("POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"pro".utf8))
        }  // closed half-way
        do {
            let c = try HTTPClient(port: server.port)
            c.sendRaw([0, 1, 2, 255, 254, 13, 10, 13, 10])
        }
        try stillAnswers(server, after: "garbage")
        #expect(try server.request("GET", "/healthz").status == 200)
    }

    @Test func tokensGive401And403() throws {
        let dir = try temporaryDirectory()
        try write("""
            # who may call the service
            dec-123 decide
            adm-456 admin
            mkt-789 department:marketing
            """, to: dir + "/tokens")
        let server = try ServerProcess(["--policies", samplePolicies, "--tokens", dir + "/tokens"])
        func bearer(_ t: String) -> [String: String] { ["Authorization": "Bearer " + t] }
        #expect(try server.request("POST", "/v1/decide", body: Self.good).status == 401)
        #expect(try server.request("POST", "/v1/decide", body: Self.good, headers: bearer("nope")).status == 401)
        #expect(try server.request("POST", "/v1/decide", body: Self.good, headers: ["Authorization": "Basic abc"]).status == 401)
        #expect(try server.request("POST", "/v1/decide", body: Self.good, headers: bearer("dec-123")).status == 200)
        #expect(try server.request("POST", "/v1/decide", body: Self.good, headers: bearer("adm-456")).status == 200)
        #expect(try server.request("POST", "/v1/decide", body: Self.good, headers: bearer("mkt-789")).status == 403)
        #expect(try server.request("POST", "/v1/policies/reload", headers: bearer("dec-123")).status == 403)
        #expect(try server.request("POST", "/v1/policies/reload", headers: bearer("adm-456")).status == 200)
        #expect(try server.request("GET", "/v1/policies").status == 401)
        #expect(try server.request("GET", "/v1/policies", headers: bearer("mkt-789")).status == 200)
        #expect(try server.request("GET", "/healthz").status == 200)
        #expect(try server.request("GET", "/readyz").status == 200)
        #expect(try server.request("GET", "/metrics").status == 401)
        // A bad tokens file stops the start with the line at fault.
        try write("abc decide\nxyz superuser\n", to: dir + "/bad")
        let r = try runNextbestWithStderr(["serve", "--policies", samplePolicies, "--tokens", dir + "/bad", "--port", "0"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("bad:2: unknown role 'superuser'"))
    }

    @Test func aSetThatDoesNotLoadStopsTheStartWithExit2() throws {
        let r = try runNextbestWithStderr(["serve", "--policies", packageRoot + "/Tests/Fixtures/broken", "--port", "0"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("a_syntax_error.lua:"))
    }
}

/// Runs `nextbest` and returns its status and standard error.
func runNextbestWithStderr(_ args: [String]) throws -> (status: Int32, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: nextbestPath)
    p.arguments = args
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let data = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
