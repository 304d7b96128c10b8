// Engine+Now: one decision at a given evaluation time, with the plan as the engine's own JSON bytes.

extension Engine {
    /// Decides one profile given as JSON bytes (one object) as of `now`, and returns the plan as
    /// the engine writes it: one JSON object in UTF-8, the line `nextbest run` writes for it
    /// (without the newline). `now` is an ISO-8601 date or date-time; `nil` keeps the engine's
    /// own time (``EngineOptions/now``, or the current time). `context` is what policies see as
    /// `ctx.context` (policy-language.md §8.1); `nil` keeps ``EngineOptions/context``. Both apply to this call only.
    public func decidePlanJSON(json: some Collection<UInt8>, now: String? = nil,
                               context: [String: String]? = nil) throws(DecisionError) -> [UInt8] {
        let bytes = Array(json)
        return try decide(now: now, context: context, { state, out in
            bytes.withUnsafeBytes { state.decide($0, line: 0, column: 0, out: out, routes: nil) }
        }, read: { _, out in
            out.withBytes { raw in
                var end = raw.count
                while end > 0, raw[end - 1] == 0x0A || raw[end - 1] == 0x0D || raw[end - 1] == 0x20 { end -= 1 }
                return Array(raw[0..<end])
            }
        })
    }

    /// Decides one profile given as JSON bytes as of `now`, in `context` (see ``decidePlanJSON(json:now:context:)``).
    public func decide(json: some Collection<UInt8>, now: String?, context: [String: String]? = nil) throws(DecisionError) -> Plan {
        let bytes = try decidePlanJSON(json: json, now: now, context: context)
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes) } catch {
            throw .failed(message: "the engine wrote a plan it cannot read back", customer: nil)
        }
        return try Plan(json: value)
    }

    /// Explains the decision for one profile given as JSON bytes, as of `now` (`nil`: the engine's own
    /// time), in `context` (`nil`: ``EngineOptions/context``).
    public func explain(json: some Collection<UInt8>, now: String?, context: [String: String]? = nil) throws(DecisionError) -> Explanation {
        guard now != nil || context != nil else { return try explain(json: json) }
        return try explain(bytes: Array(json), now: now, context: context, history: [])
    }

    /// Explains `bytes` with the state's clock at `now`, in `context`, with `history` (past contacts
    /// from outside the profile; handed over only when there are any) added to the profile's own.
    func explain(bytes: [UInt8], now: String?, context: [String: String]?, history: [PastContact]) throws(DecisionError) -> Explanation {
        let text = String(decoding: bytes, as: UTF8.self)
        let id = history.isEmpty ? nil : bytes.withUnsafeBytes { ShardKey.idText(of: $0) }.map { String(decoding: $0, as: UTF8.self) }
        // The prelude's explain takes the time from the state's clock: set it, then explain.
        let reply: ExplainReply
        do {
            reply = try pool.withState { state -> ExplainReply in
                try self.setClock(state, now: now)
                if let context { try state.setContext(context) }
                defer { if context != nil { try? state.setContext(self.options.context) } }
                if let id { try state.setHistory([id: history]) }
                defer { if id != nil { try? state.clearHistory() } }
                return try state.explain(text)
            }
        } catch let e as DecisionError {
            throw e
        } catch {
            throw .badRecord(message: "\(error)", customer: nil)
        }
        return try explanation(from: reply)
    }

    /// `nil` when the engine reads `text` as a time (an ISO-8601 date or date-time), else why not,
    /// in plain words. Lets a caller refuse a bad `now` once instead of once per profile.
    public func checkTime(_ text: String) -> String? {
        do {
            return try pool.withState { state -> String? in
                state.clock == .fixed(text) ? nil : try state.setNow(text)
            }
        } catch {
            return "\(error)"
        }
    }

    /// Points the state's clock at `now` for one call, or at the engine's own time. The state keeps
    /// that time afterwards (``LuaState/clock`` says which): the next call that wants another time
    /// sets it, and one that wants the same time (a service's requests, a batch) sets nothing.
    func setClock(_ state: LuaState, now: String?) throws {
        guard let now else { return try refreshClock(state) }
        if state.clock == .fixed(now) { return }
        if let message = try state.setNow(now) {
            throw DecisionError.badRecord(message: message, customer: nil)
        }
    }
}
