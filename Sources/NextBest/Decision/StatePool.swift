// StatePool: Lua states are not thread-safe, so each concurrent evaluation borrows its own.
import Foundation

/// A pool of loaded Lua states, created lazily up to `capacity`; callers beyond that wait.
/// Unchecked-Sendable because every access to the non-Sendable states goes through the
/// condition lock, and a borrowed state is used by exactly one thread until it is returned.
final class StatePool: @unchecked Sendable {
    private let condition = NSCondition()
    private var idle: [LuaState] = []
    private var opened = 0
    private let capacity: Int
    private let open: @Sendable () throws -> LuaState

    init(capacity: Int, first: LuaState?, open: @escaping @Sendable () throws -> LuaState) {
        self.capacity = max(1, capacity)
        self.open = open
        if let first { idle.append(first); opened = 1 }
    }

    /// Runs `body` with a state of its own.
    func withState<R>(_ body: (LuaState) throws -> R) throws -> R {
        let state = try borrow()
        defer { giveBack(state) }
        return try body(state)
    }

    /// Borrows up to `n` states (for a batch with up to `n` workers): it waits for one, then
    /// takes the others only when they are free or can be opened now. Two batches that need
    /// more states than the pool has between them so run with fewer, rather than each waiting
    /// for states the other holds.
    func withStates<R>(_ n: Int, _ body: ([LuaState]) throws -> R) throws -> R {
        var states: [LuaState] = []
        defer { for s in states { giveBack(s) } }
        states.append(try borrow())
        while states.count < n, let s = try borrow(waiting: false) { states.append(s) }
        return try body(states)
    }

    /// The most any idle state has held, in bytes (states in use are not looked at).
    func peakMemory() -> Int {
        condition.lock()
        defer { condition.unlock() }
        return idle.map(\.memoryPeak).max() ?? 0
    }

    private func borrow() throws -> LuaState {
        guard let s = try borrow(waiting: true) else { preconditionFailure("a waiting borrow always gets a state") }
        return s
    }

    /// A state: an idle one, or a new one while fewer than `capacity` are open; when neither is
    /// there, waits for one to come back (`waiting`) or returns nil.
    private func borrow(waiting: Bool) throws -> LuaState? {
        condition.lock()
        while idle.isEmpty && opened >= capacity {
            if !waiting { condition.unlock(); return nil }
            condition.wait()
        }
        if let s = idle.popLast() {
            condition.unlock()
            return s
        }
        opened += 1
        condition.unlock()
        do {
            return try open()
        } catch {
            condition.lock()
            opened -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }

    private func giveBack(_ state: LuaState) {
        condition.lock()
        idle.append(state)
        condition.signal()
        condition.unlock()
    }
}
