// The bar of the core issue: on a generated population, `nextbest run` with the bench policy
// set chooses exactly the actions the native baseline (chost.cpp + reference.lua) chooses.
import Foundation
import NextBest
import Testing

@Suite("Same choices as the native baseline")
struct BaselineEquivalenceTests {
    @Test func tenThousandCustomersGetExactlyTheBaselineActions() throws {
        let dir = try temporaryDirectory()
        let chost = dir + "/chost"
        let build = try run("/usr/bin/env", ["g++", "-O1", "-std=c++17", "-I/usr/include/lua5.4", benchDir + "/chost.cpp",
                                             "-o", chost, "-lsimdjson", "-llua5.4"])
        try #require(build.status == 0, "building the baseline failed (scripts/setup installs g++, libsimdjson-dev): \(build.stderr)")
        let gen = try run("/usr/bin/env", ["python3", benchDir + "/gen_profiles.py", "10000", "11"])
        try #require(gen.status == 0, "gen_profiles.py failed: \(gen.stderr)")
        let profiles = dir + "/profiles.jsonl"
        try gen.stdout.write(toFile: profiles, atomically: true, encoding: .utf8)

        let base = try run(chost, [benchDir + "/reference.lua", profiles])
        try #require(base.status == 0, "\(base.stderr)")
        let ours = try nextbest("run", "--policies", benchDir + "/policies", "--profiles", profiles, "--now", "2026-11-01", "--quiet")
        #expect(ours.status == 0, "\(ours.stderr)")

        let expected = base.lines, actual = ours.lines
        try #require(expected.count == 10_000)
        try #require(actual.count == expected.count)
        var mismatches = 0
        for (e, a) in zip(expected, actual) {
            let ev = try JSONValue(parsing: e), av = try JSONValue(parsing: a)
            let ea = ev["actions"]?.arrayValue ?? [], aa = av["actions"]?.arrayValue ?? []
            var same = ev["customer"] == av["customer"] && ea.count == aa.count
            if same {
                for (x, y) in zip(ea, aa) {
                    same = same && x["action"] == y["action"] && x["department"] == y["department"] && x["channel"] == y["channel"]
                        && abs((x["priority"]?.doubleValue ?? .nan) - (y["priority"]?.doubleValue ?? .nan)) <= 1e-9
                }
            }
            if !same {
                mismatches += 1
                if mismatches <= 3 { Issue.record("baseline: \(e)\nnextbest: \(a)") }
            }
        }
        #expect(mismatches == 0)
    }
}
