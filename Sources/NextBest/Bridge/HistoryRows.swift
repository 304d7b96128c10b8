// Past contacts handed to a Lua state as one flat C array of rows (history.c), without JSON text.
import CNextBestBridge

extension LuaState {
    /// Hands the state the past contacts of the customers it decides next (replacing any before).
    func setHistory(_ byCustomer: [String: [PastContact]]) throws(LuaError) {
        var strings: [UInt8] = []
        var rows: [nb_contact] = []
        strings.reserveCapacity(byCustomer.count * 96)
        func text(_ s: String) -> (Int, Int) {
            let start = strings.count
            strings.append(contentsOf: s.utf8)
            return (start, strings.count - start)
        }
        let none = (0, -1)  // NB_NO_TEXT: size_t -1
        for (customer, list) in byCustomer where !list.isEmpty {
            let id = text(customer)
            var actions: [String: (Int, Int)] = [:]
            for c in list {
                let action = actions[c.action] ?? text(c.action)
                actions[c.action] = action
                let channel = c.channel.map(text) ?? none
                let atStart = strings.count
                strings.append(contentsOf: c.at.utf8)
                let atLen = strings.count - atStart
                let epoch = strings.withUnsafeBufferPointer { PastContact.seconds(UnsafeBufferPointer(rebasing: $0[atStart...])) } ?? .min
                let outcome = c.outcome.map(text) ?? none
                rows.append(nb_contact(customer: id.0, customer_len: id.1, action: action.0, action_len: action.1,
                                       channel: channel.0, channel_len: channel.1, at: atStart, at_len: atLen,
                                       outcome: outcome.0, outcome_len: outcome.1, epoch: epoch))
            }
        }
        try push(rows, strings)
    }

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
