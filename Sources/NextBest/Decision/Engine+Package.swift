// Engine+Package: what the package's own tools (NextBestTools: bench, diff) read from an engine; not for hosts.

extension Engine {
    /// The most any one idle Lua state of the engine has held, in bytes.
    package var luaPeakBytes: Int { pool.peakMemory() }

    /// The loaded set as the prelude describes it (segments, actions, policies).
    package var setDescription: JSONValue { description }
}
