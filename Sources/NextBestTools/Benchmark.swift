// Benchmark: how fast a policy set decides on real data — throughput, per-decision latency, memory.
import Foundation
import NextBest

/// What to measure in ``Engine/benchmark(profiles:options:)``.
public struct BenchmarkOptions: Sendable {
    /// Worker threads for the throughput pass (each with its own Lua state).
    public var jobs: Int
    /// The input format.
    public var format: ProfileFormat
    /// How many records (from the start of the file) are decided one by one and timed.
    public var latencySamples: Int
    /// Untimed decisions before the timed ones, to warm caches and the Lua heap.
    public var warmup: Int
    /// How CSV cells are typed when the set declares a profile schema.
    public var csv: CSVReading

    /// Options with the given values.
    public init(jobs: Int = ProcessInfo.processInfo.activeProcessorCount, format: ProfileFormat = .jsonl,
                latencySamples: Int = 10_000, warmup: Int = 200, csv: CSVReading = CSVReading()) {
        self.csv = csv
        self.jobs = max(1, jobs)
        self.format = format
        self.latencySamples = max(0, latencySamples)
        self.warmup = max(0, warmup)
    }
}

/// Percentiles of a set of durations, in seconds.
public struct LatencyPercentiles: Sendable, Hashable {
    /// How many durations were measured.
    public var count: Int
    /// The median.
    public var p50: Double
    /// 90% of the durations are at most this.
    public var p90: Double
    /// 99% of the durations are at most this.
    public var p99: Double
    /// The longest.
    public var max: Double
    /// The arithmetic mean.
    public var mean: Double

    /// Percentiles of `durations` (seconds); all zero when there are none.
    public init(durations: [Double]) {
        let sorted = durations.sorted()
        count = sorted.count
        func at(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1  // nearest-rank
            return sorted[Swift.min(Swift.max(rank, 0), sorted.count - 1)]
        }
        p50 = at(0.50)
        p90 = at(0.90)
        p99 = at(0.99)
        max = sorted.last ?? 0
        mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
    }
}

/// The figures of one benchmark: throughput of a batch pass, latency of single decisions, memory.
public struct BenchmarkReport: Sendable {
    /// The batch pass over the whole file (plans are decided and encoded, then dropped).
    public var batch: BatchSummary
    /// Worker threads used for the batch pass.
    public var jobs: Int
    /// Decisions (plans and error records) per second in the batch pass.
    public var decisionsPerSecond: Double { batch.seconds > 0 ? Double(batch.records) / batch.seconds : 0 }
    /// Latency of one ``Engine/decide(json:)`` call (JSON bytes in, ``Plan`` out), per record.
    public var latency: LatencyPercentiles
    /// Latency of one ``Engine/decide(_:)`` call (a Swift ``Profile`` in, ``Plan`` out) on the same records.
    public var valueLatency: LatencyPercentiles
    /// Peak resident memory of the whole process so far, in bytes (0 when the system does not say).
    public var peakResidentBytes: Int
    /// The most any one Lua state of the engine has held, in bytes.
    public var luaPeakBytes: Int
}

extension Engine {
    /// How many policies the loaded set declares.
    public var policyCount: Int { declaredPolicyCount }
    /// How many segments the loaded set declares.
    public var segmentCount: Int { declaredSegmentCount }

    /// Measures this engine on the profiles in `path`: one batch pass for throughput (like
    /// `run`, output discarded), then the first `latencySamples` records decided one at a
    /// time through ``decide(json:)``, each timed.
    ///
    /// ```swift
    /// let engine = try Engine(policies: "policies", options: EngineOptions(now: "2026-11-01"))
    /// let report = try engine.benchmark(profiles: "customers.jsonl", options: BenchmarkOptions(jobs: 1))
    /// print(report.decisionsPerSecond, report.latency.p99)
    /// ```
    public func benchmark(profiles path: String, options: BenchmarkOptions = BenchmarkOptions()) throws -> BenchmarkReport {
        var batchOptions = BatchOptions(jobs: options.jobs, format: options.format)
        batchOptions.csv = options.csv
        let batch = try run(profiles: path, options: batchOptions, output: { _ in })
        let (latency, valueLatency) = try pairedDecisionLatency(profiles: path, format: options.format, samples: options.latencySamples,
                                                                warmup: options.warmup, csv: options.csv)
        return BenchmarkReport(batch: batch, jobs: min(options.jobs, options.jobs > 1 ? self.options.concurrency : 1),
                               latency: latency, valueLatency: valueLatency, peakResidentBytes: peakResidentMemory(),
                               luaPeakBytes: luaPeakBytes)
    }

    /// Times ``decide(json:)`` on each of the first `samples` records of `path` (after
    /// `warmup` untimed calls on the same records); records without a plan are timed too.
    /// With `asValues`, the records are read into ``Profile`` values first and ``decide(_:)`` is timed.
    public func decisionLatency(profiles path: String, format: ProfileFormat = .jsonl,
                                samples: Int, warmup: Int = 200, asValues: Bool = false,
                                csv: CSVReading = CSVReading()) throws -> LatencyPercentiles {
        let records = try latencyRecords(path, format: format, samples: samples, csv: csv)
        guard !records.isEmpty else { return LatencyPercentiles(durations: []) }
        if asValues {
            let profiles = records.compactMap { try? JSONValue(parsing: $0) }
            guard !profiles.isEmpty else { return LatencyPercentiles(durations: []) }
            for i in 0..<warmup { _ = try? decide(profiles[i % profiles.count]) }
            var durations: [Double] = []
            durations.reserveCapacity(profiles.count)
            for p in profiles {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try? decide(p)
                durations.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return LatencyPercentiles(durations: durations)
        }
        for i in 0..<warmup { _ = try? decide(json: records[i % records.count]) }
        var durations: [Double] = []
        durations.reserveCapacity(records.count)
        for r in records {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try? decide(json: r)
            let end = DispatchTime.now().uptimeNanoseconds
            durations.append(Double(end - start) / 1e9)
        }
        return LatencyPercentiles(durations: durations)
    }
}

extension Engine {
    /// The first `samples` records of `path` that have bytes (none when `samples` is 0).
    private func latencyRecords(_ path: String, format: ProfileFormat, samples: Int, csv: CSVReading) throws -> [[UInt8]] {
        guard samples > 0 else { return [] }
        var source = try RecordIterator(path: path, format: format, schema: profileSchema, csv: csv)
        var records: [[UInt8]] = []
        while records.count < samples, let record = try source.next() {
            if let bytes = record.bytes { records.append(bytes) }
        }
        return records
    }

    /// ``decisionLatency(profiles:format:samples:warmup:asValues:csv:)`` of both entry points
    /// at once: each record is decided through ``decide(json:)`` and then, read into a
    /// ``Profile``, through ``decide(_:)``, one right after the other, so that a busy machine
    /// slows both alike and their ratio (what `nextbest bench` reports) is the code's.
    public func pairedDecisionLatency(profiles path: String, format: ProfileFormat = .jsonl, samples: Int, warmup: Int = 200,
                                      csv: CSVReading = CSVReading()) throws -> (json: LatencyPercentiles, values: LatencyPercentiles) {
        let records = try latencyRecords(path, format: format, samples: samples, csv: csv)
        let pairs = records.compactMap { r in (try? JSONValue(parsing: r)).map { (r, $0) } }
        guard !pairs.isEmpty else { return (LatencyPercentiles(durations: []), LatencyPercentiles(durations: [])) }
        for i in 0..<warmup {
            _ = try? decide(json: pairs[i % pairs.count].0)
            _ = try? decide(pairs[i % pairs.count].1)
        }
        var json: [Double] = [], values: [Double] = []
        json.reserveCapacity(pairs.count)
        values.reserveCapacity(pairs.count)
        for (bytes, profile) in pairs {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try? decide(json: bytes)
            let middle = DispatchTime.now().uptimeNanoseconds
            _ = try? decide(profile)
            let end = DispatchTime.now().uptimeNanoseconds
            json.append(Double(middle - start) / 1e9)
            values.append(Double(end - middle) / 1e9)
        }
        return (LatencyPercentiles(durations: json), LatencyPercentiles(durations: values))
    }
}

/// The process's peak resident memory (VmHWM) in bytes, or 0 when it cannot be read.
func peakResidentMemory() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kb * 1024
    }
    return 0
}
