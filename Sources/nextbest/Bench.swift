// nextbest bench: decisions per second, latency per decision and peak memory of a set on real data.
import ArgumentParser
import Foundation
import NextBest
import NextBestTools

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a policy set on a file of profiles: decisions/s, latency percentiles, peak memory.",
        discussion: """
            Loads the set (timed), decides every profile once as `run` would (plans are encoded, \
            then dropped) for throughput, then times single decisions (Engine.decide on JSON \
            bytes, a Plan out) on the first --samples profiles. Figures go to standard output. \
            Timings on a busy machine are noisy: compare against a baseline measured in the same \
            run (scripts/bench does).

            Example:
              nextbest bench --policies policies --profiles customers.jsonl --now 2026-11-01 --jobs 1
            """
    )

    @OptionGroup var policy: PolicyOptions

    @OptionGroup var csv: CSVOptions

    @Option(name: .long, help: ArgumentHelp("Profiles: .jsonl/.ndjson, .json or .csv.", valueName: "file"))
    var profiles: String

    @Option(name: .long, help: ArgumentHelp("Input format when the extension does not say (jsonl, json, csv).", valueName: "format"))
    var format: String?

    @Option(name: .long, help: "Worker threads for the throughput pass (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: ArgumentHelp("Profiles decided one by one and timed for the latency percentiles.", valueName: "n"))
    var samples: Int = 10_000

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be 1 or more") }
        if samples < 0 { throw ValidationError("--samples must be 0 or more") }
        if let format, ProfileFormat(rawValue: format) == nil { throw ValidationError("--format must be jsonl, json or csv") }
    }

    func run() throws {
        let fmt = format.flatMap(ProfileFormat.init(rawValue:)) ?? ProfileFormat.guess(path: profiles)
        if profiles == "-" { throw cannotRun("bench reads its profiles twice: give a file, not '-'") }
        if !FileManager.default.fileExists(atPath: profiles) { throw cannotRun("profiles not found: \(profiles)") }
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let engine = try policy.engine(concurrency: jobs)
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
        let report: BenchmarkReport
        do {
            report = try engine.benchmark(profiles: profiles,
                                          options: BenchmarkOptions(jobs: jobs, format: fmt, latencySamples: samples, csv: csv.reading))
        } catch {
            throw cannotRun("\(error)")
        }
        let set = engine.policySet
        let b = report.batch
        print("nextbest bench: \(set.directory) on \(profiles)")
        print("  load:       \(String(format: "%.3f", loadSeconds)) s (\(engine.policyCount) policies, \(engine.segmentCount) segments)")
        print("  throughput: \(grouped(b.records)) decisions in \(String(format: "%.3f", b.seconds)) s"
            + " = \(grouped(Int(report.decisionsPerSecond))) decisions/s (jobs \(report.jobs))")
        let l = report.latency
        if l.count > 0 {
            print("  latency:    p50 \(micro(l.p50)) µs  p90 \(micro(l.p90)) µs  p99 \(micro(l.p99)) µs  max \(micro(l.max)) µs"
                + " (\(grouped(l.count)) single decisions)")
            let v = report.valueLatency
            let ratio = l.p99 > 0 ? String(format: "%.2f", v.p99 / l.p99) : "-"
            print("  from Swift: p50 \(micro(v.p50)) µs  p90 \(micro(v.p90)) µs  p99 \(micro(v.p99)) µs  max \(micro(v.max)) µs"
                + " (decide(_ profile:) on the same records, each right after its decide(json:) above; p99 ratio \(ratio))")
        } else {
            print("  latency:    not measured (--samples 0)")
        }
        print("  memory:     peak RSS \(mib(report.peakResidentBytes)) MiB, Lua state peak \(mib(report.luaPeakBytes)) MiB")
        if b.errorRecords > 0 || b.plansWithErrors > 0 {
            print("  note:       \(grouped(b.errorRecords)) error records, \(grouped(b.plansWithErrors)) plans with policy errors")
        }
    }

    private func micro(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1e6) }
    private func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
}
