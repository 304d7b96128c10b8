// Past contacts handed to a Lua state as one flat C array of rows (history.c), without JSON text.
import CNextBestBridge

extension LuaState {
    /// Hands the state the past contacts of the customers it decides next (replacing any before).
    func setHistory(_ batch: ContactBatch) throws(LuaError) {
        let rows = batch.rows.map { r in
            nb_contact(customer: r.customer, customer_len: r.customerLength, action: r.action, action_len: r.actionLength,
                       channel: r.channel, channel_len: Self.length(r.channelLength), at: r.at, at_len: r.atLength,
                       outcome: r.outcome, outcome_len: Self.length(r.outcomeLength), epoch: r.epoch)
        }
        try push(rows, batch.bytes)
    }

    /// Hands the state the past contacts of the customers it decides next, by customer.
    func setHistory(_ byCustomer: [String: [PastContact]]) throws(LuaError) {
        try setHistory(ContactBatch(byCustomer))
    }

    /// A text's length for the bridge: an absent one is NB_NO_TEXT (size_t -1).
    private static func length(_ n: Int) -> Int { n < 0 ? -1 : n }

    /// Forgets the past contacts handed over last.
    func clearHistory() throws(LuaError) { try push([], []) }

    private func push(_ rows: [nb_contact], _ strings: [UInt8]) throws(LuaError) {
        let err = NativeBuffer()
        let rc = rows.withUnsafeBufferPointer { r in
            strings.withUnsafeBufferPointer { s in
                s.withMemoryRebound(to: CChar.self) { chars in
                    nb_set_history(handle, r.baseAddress, r.count, chars.baseAddress, &err.raw)
                }
            }
        }
        if rc != 0 { throw LuaError(message: err.string) }
    }

    /// The evaluation time of the state, in seconds since 1970.
    func nowEpoch() throws(LuaError) -> Int64 {
        let reply = try call(.nowEpoch)
        guard let n = Double(String(decoding: reply, as: UTF8.self)), n.isFinite else {
            throw LuaError(message: "the engine's clock is not a number")
        }
        return Int64(n.rounded(.down))
    }
}
