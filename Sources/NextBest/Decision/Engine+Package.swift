// Engine+Package: what the package's own tools (NextBestTools: bench, diff) read from an engine; not for hosts.

extension Engine {
    /// The most any one idle Lua state of the engine has held, in bytes.
    package var luaPeakBytes: Int { pool.peakMemory() }

    /// How many policies the loaded set declares.
    package var declaredPolicyCount: Int { description.policies.count }

    /// How many segments the loaded set declares.
    package var declaredSegmentCount: Int { description.segments.count }
}
