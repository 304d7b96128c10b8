// `nextbest bench` on a small file: it runs and prints every figure (no timing is asserted).
import Foundation
import Testing

@Suite("nextbest bench")
struct BenchCommandTests {
    @Test func printsThroughputLatencyAndMemoryFigures() throws {
        let dir = try temporaryDirectory()
        try write(threeProfiles, to: dir + "/p.jsonl")
        let r = try nextbest("bench", "--policies", benchPolicies, "--profiles", dir + "/p.jsonl",
                             "--now", "2026-11-01", "--jobs", "1", "--samples", "3")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("load:"))
        #expect(r.stdout.contains("(7 policies, 1 segments)"))
        #expect(r.stdout.contains("throughput: 3 decisions in"))
        #expect(r.stdout.contains("decisions/s (jobs 1)"))
        #expect(r.stdout.contains("p50") && r.stdout.contains("p90") && r.stdout.contains("p99"))
        #expect(r.stdout.contains("(3 single decisions)"))
        #expect(r.stdout.contains("peak RSS"))
    }

    @Test func missingProfilesExit2() throws {
        let r = try nextbest("bench", "--policies", benchPolicies, "--profiles", "/nonexistent.jsonl")
        #expect(r.status == 2)
        #expect(r.stderr.contains("profiles not found"))
    }

    @Test func helpShowsAnExample() throws {
        let r = try nextbest("bench", "--help")
        #expect(r.status == 0)
        #expect(r.stdout.contains("Example:"))
        #expect(r.stdout.contains("nextbest bench --policies"))
    }
}
