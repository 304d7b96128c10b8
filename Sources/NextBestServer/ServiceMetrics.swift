// The service's metrics, through swift-metrics into a Prometheus registry served at /metrics.
import Metrics
import Prometheus
import Synchronization

/// Counters and the decide latency histogram of one server. Created with their own registry, so
/// several servers in one process (tests) do not share numbers, and nothing global is bootstrapped.
public final class ServiceMetrics: Sendable {
    /// The registry `/metrics` reads.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let decideTimer: Metrics.Timer
    private let plans: Metrics.Counter
    private let badProfiles: Metrics.Counter
    private let policyErrors: Metrics.Counter
    private let reloadsOK: Metrics.Counter
    private let reloadsFailed: Metrics.Counter
    private let inFlightMeter: Meter
    private let requests = Mutex<[String: Metrics.Counter]>([:])

    /// A fresh registry with every metric at zero.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["nextbest_decide_duration_seconds"] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        decideTimer = Metrics.Timer(label: "nextbest_decide_duration_seconds", factory: factory)
        plans = Metrics.Counter(label: "nextbest_plans_total", factory: factory)
        badProfiles = Metrics.Counter(label: "nextbest_bad_profiles_total", factory: factory)
        policyErrors = Metrics.Counter(label: "nextbest_policy_errors_total", factory: factory)
        reloadsOK = Metrics.Counter(label: "nextbest_reloads_total", dimensions: [("result", "loaded")], factory: factory)
        reloadsFailed = Metrics.Counter(label: "nextbest_reloads_total", dimensions: [("result", "failed")], factory: factory)
        inFlightMeter = Meter(label: "nextbest_decide_in_flight", factory: factory)
        inFlightMeter.set(0)
    }

    /// Counts one answered request by route (the path pattern, not the raw path) and status.
    public func request(route: String, method: String, status: Int) {
        let key = route + " " + method + " " + String(status)
        let counter = requests.withLock { known -> Metrics.Counter in
            if let c = known[key] { return c }
            let c = Metrics.Counter(label: "nextbest_http_requests_total",
                            dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory)
            known[key] = c
            return c
        }
        counter.increment()
    }

    /// Counts a decide request as in flight until `body` returns.
    public func inFlight<T>(_ body: () async throws -> T) async rethrows -> T {
        inFlightMeter.increment()
        defer { inFlightMeter.decrement() }
        return try await body()
    }

    /// Records how long one `POST /v1/decide` took to decide, in nanoseconds.
    public func decided(nanoseconds: Int64, plans n: Int, badProfiles bad: Int, policyErrors errors: Int) {
        decideTimer.recordNanoseconds(nanoseconds)
        if n > 0 { plans.increment(by: n) }
        if bad > 0 { badProfiles.increment(by: bad) }
        if errors > 0 { policyErrors.increment(by: errors) }
    }

    /// Counts one reload attempt.
    public func reloaded(ok: Bool) {
        (ok ? reloadsOK : reloadsFailed).increment()
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
