// One Lua 5.4 state with NextBest's prelude and limits: the only Swift code that drives Lua.
import CNextBestBridge

/// Limits applied to every Lua state an engine opens.
public struct Limits: Sendable, Hashable {
    /// Bytes a state may allocate (policies, profile, plan). Default 64 MiB.
    public var memoryBytes: Int
    /// Lua instructions one policy call may run before it is stopped. Default 1,000,000.
    public var instructionsPerCall: Int

    /// Limits with the given values (the defaults are generous for real policies).
    public init(memoryBytes: Int = 64 << 20, instructionsPerCall: Int = 1_000_000) {
        self.memoryBytes = memoryBytes
        self.instructionsPerCall = instructionsPerCall
    }
}

/// How deciding one record went, as the bridge reports it.
enum DecideOutcome {
    /// A plan was appended; `hasErrors` when a policy failed for this customer; `customer`:
    /// where its customer id (JSON) is in the output buffer.
    case plan(hasErrors: Bool, customer: Range<Int>)
    /// No plan: the record could not be read (`customer` is its id as JSON, when known;
    /// `placed` when the message already names the record's line and column).
    case badRecord(message: String, customer: String?, placed: Bool)
    /// No plan: the engine failed on this record (memory, internal).
    case failed(message: String, customer: String?)
}

/// What a state's evaluation time was set to: a second of the wall clock, or a given ISO-8601 text.
enum ClockMark: Equatable {
    /// Seconds since the epoch, following the wall clock.
    case wall(Int)
    /// A fixed time, as given (`--now`, a request's `now`).
    case fixed(String)
}

/// A Lua state running the prelude. Used by one thread at a time (the pool hands it out).
final class LuaState {
    private let state: OpaquePointer
    private let scratch = NativeBuffer()
    private let message = NativeBuffer()
    private let customer = NativeBuffer()
    /// The tape a profile built in Swift is flattened into, refilled for each one.
    private let tape = ValueTape()
    /// The plan of the last profile built in Swift, as the bridge's typed nodes and their strings.
    private let planNodes = NativeBuffer(), planStrings = NativeBuffer()
    /// What the state's `ctx.now` was last set to (`nil`: not known), so that a call wanting the
    /// same time sets nothing.
    var clock: ClockMark?

    /// Opens a state and runs the prelude (`modules`, in order); throws `LuaError` when that fails.
    init(limits: Limits, modules: [(name: String, source: [UInt8])] = Prelude.modules) throws(LuaError) {
        let err = NativeBuffer()
        let opened = Self.withModules(modules[...]) { modules in
            nb_open(limits.memoryBytes, limits.instructionsPerCall, modules, Int32(modules.count), &err.raw)
        }
        guard let opened else { throw LuaError(message: "cannot start Lua: " + err.string) }
        state = opened
    }

    deinit { nb_close(state) }

    /// The C state, for the bridge's other Swift files.
    var handle: OpaquePointer { state }

    /// Calls `body` with the modules as C structs whose pointers stay valid during the call.
    private static func withModules<R>(_ rest: ArraySlice<(name: String, source: [UInt8])>,
                                       _ done: [nb_module] = [], _ body: ([nb_module]) -> R) -> R {
        guard let first = rest.first else { return body(done) }
        return first.name.withCString { name in
            first.source.withUnsafeBufferPointer { src in
                src.withMemoryRebound(to: CChar.self) { chars in
                    withModules(rest.dropFirst(), done + [nb_module(name: name, source: chars.baseAddress, length: chars.count)], body)
                }
            }
        }
    }

    /// Bytes the state holds now / held at most.
    var memoryUsed: Int { nb_memory_used(state) }
    var memoryPeak: Int { nb_memory_peak(state) }

    /// Sets the most bytes the state may hold (0: no limit) and returns the limit it had. Tests
    /// lower it to make an allocation fail part-way through a decision.
    @discardableResult
    func setMemoryLimit(_ bytes: Int) -> Int { nb_set_memory_limit(state, bytes) }

    /// A full garbage collection: afterwards ``memoryUsed`` is what the state holds alive.
    func collectGarbage() { nb_collect_garbage(state) }

    /// Calls the prelude's entry point with text arguments; returns its result as JSON bytes.
    /// The typed methods in PreludeCalls.swift are the only callers.
    func call(_ entry: PreludeEntry, _ args: [String] = []) throws(LuaError) -> [UInt8] {
        var storage: [UInt8] = []
        var offsets: [Int] = []
        var lens: [Int] = []
        for arg in args {
            offsets.append(storage.count)
            storage.append(contentsOf: arg.utf8)
            lens.append(arg.utf8.count)
        }
        storage.append(0)  // a valid base address even when every argument is empty
        let rc = storage.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { base in
                let ptrs: [UnsafePointer<CChar>?] = offsets.map { UnsafePointer(base.baseAddress! + $0) }
                return nb_call(state, entry.rawValue, ptrs, lens, Int32(args.count), &scratch.raw)
            }
        }
        if rc != 0 { throw LuaError(message: scratch.string) }
        return scratch.bytes
    }

    /// Decides one JSON profile; appends the plan line to `out` (and its work items to `routes`).
    func decide(_ json: UnsafeRawBufferPointer, line: Int, column: Int,
                out: NativeBuffer, routes: RouteBatch?, ifAllLost: NativeBuffer? = nil) -> DecideOutcome {
        var marks = nb_marks()
        let status = json.withMemoryRebound(to: CChar.self) { c in
            withRoutes(routes) { r, index in
                guard let ifAllLost else {
                    return nb_decide(state, c.baseAddress, c.count, line, column, &out.raw, r, index, &marks, &message.raw, &customer.raw)
                }
                return withUnsafeMutablePointer(to: &ifAllLost.raw) { lost in
                    nb_set_if_all_lost(state, lost)
                    defer { nb_set_if_all_lost(state, nil) }
                    return nb_decide(state, c.baseAddress, c.count, line, column, &out.raw, r, index, &marks, &message.raw, &customer.raw)
                }
            }
        }
        return outcome(status, marks)
    }

    /// What nb_decide's status and marks say.
    private func outcome(_ status: Int32, _ marks: nb_marks) -> DecideOutcome {
        switch Int(status) {
        case Int(NB_PLAN), Int(NB_PLAN_WITH_ERRORS):
            return .plan(hasErrors: Int(status) == Int(NB_PLAN_WITH_ERRORS), customer: marks.customer_start..<marks.customer_end)
        case Int(NB_BAD_RECORD):
            return .badRecord(message: message.string, customer: customer.isEmpty ? nil : customer.string, placed: marks.placed != 0)
        default: return .failed(message: message.string, customer: customer.isEmpty ? nil : customer.string)
        }
    }

    /// Decides one JSON profile; the plan comes back as values, as for ``decide(_:)``: read it with ``plan()``.
    func decideToValues(_ json: UnsafeRawBufferPointer) -> DecideOutcome {
        var marks = nb_marks()
        let status = json.withMemoryRebound(to: CChar.self) { c in
            nb_decide_json_values(state, c.baseAddress, c.count, &planNodes.raw, &planStrings.raw, &marks, &message.raw, &customer.raw)
        }
        return outcome(status, marks)
    }

    /// Decides one profile built in Swift, pushed into Lua as values (no JSON text, through
    /// this state's reused tape); the plan comes back as values too: read it with ``plan()``.
    func decide(_ profile: JSONValue) -> DecideOutcome {
        tape.fill(profile)
        var marks = nb_marks()
        let strings = UnsafeRawPointer(tape.strings).assumingMemoryBound(to: CChar.self)
        let status = nb_decide_value(state, tape.nodes, tape.nodeCount, strings, &planNodes.raw, &planStrings.raw,
                                     &marks, &message.raw, &customer.raw)
        return outcome(status, marks)
    }

    /// The plan the last ``decide(_:)`` made, from the bridge's nodes (pre-order: an array or
    /// object node, then its elements or key/value pairs); `nil` when they do not read as one value.
    func plan() -> JSONValue? {
        let count = planNodes.count / MemoryLayout<nb_value>.stride
        guard count > 0, let base = planNodes.raw.data else { return nil }
        let nodes = UnsafeRawPointer(base).assumingMemoryBound(to: nb_value.self)
        let strings = UnsafeRawBufferPointer(start: planStrings.raw.data, count: planStrings.count)
        var next = 0
        func value() -> JSONValue? {
            guard next < count else { return nil }
            let v = nodes[next]
            next += 1
            switch Int(v.kind) {
            case Int(NB_VALUE_NULL): return .null
            case Int(NB_VALUE_FALSE): return .bool(false)
            case Int(NB_VALUE_TRUE): return .bool(true)
            case Int(NB_VALUE_INT): return .int(Int(v.integer))
            case Int(NB_VALUE_DOUBLE): return .double(v.number)
            case Int(NB_VALUE_STRING):
                guard v.offset + v.length <= strings.count else { return nil }
                return .string(String(decoding: UnsafeRawBufferPointer(rebasing: strings[v.offset..<(v.offset + v.length)]), as: UTF8.self))
            case Int(NB_VALUE_ARRAY):
                var a: [JSONValue] = []
                a.reserveCapacity(min(v.length, count))
                for _ in 0..<v.length {
                    guard let x = value() else { return nil }
                    a.append(x)
                }
                return .array(a)
            case Int(NB_VALUE_OBJECT):
                var o: [String: JSONValue] = [:]
                o.reserveCapacity(min(v.length, count))
                for _ in 0..<v.length {
                    guard case .string(let k)? = value(), let x = value() else { return nil }
                    o[k] = x
                }
                return .object(o)
            default: return nil
            }
        }
        guard let v = value(), next == count else { return nil }
        return v
    }

    private func withRoutes<R>(_ routes: RouteBatch?, _ body: (UnsafeMutablePointer<nb_buf>?, UnsafeMutablePointer<nb_buf>?) -> R) -> R {
        guard let routes else { return body(nil, nil) }
        return withUnsafeMutablePointer(to: &routes.bytes.raw) { r in
            withUnsafeMutablePointer(to: &routes.index.raw) { body(r, $0) }
        }
    }
}

/// A failure inside the Lua bridge itself (not a policy error).
struct LuaError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
