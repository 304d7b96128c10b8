// Starting and stopping `nextbest serve`: the HTTP server, reload triggers and graceful shutdown in one service group.
import Foundation
import Hummingbird
import Logging
import NIOCore
import NextBest
import ServiceLifecycle
import Synchronization
import UnixSignals

/// How to run the service (the options of `nextbest serve`).
public struct ServeConfiguration: Sendable {
    /// The policy set's folder.
    public var policies: String
    /// The address to bind (`127.0.0.1` unless told otherwise).
    public var host: String
    /// The port; 0 picks a free one (the bound port is announced).
    public var port: Int
    /// A tokens file (`TOKEN ROLE` lines); `nil`: no tokens needed.
    public var tokens: String?
    /// Reload when a file under the folder changes (checked every second).
    public var watch: Bool
    /// The largest request body, in bytes.
    public var maxBody: Int
    /// Engine options (limits, a fixed `now`, Lua states).
    public var engine: EngineOptions
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT before they are cut off.
    public var shutdownGrace: Duration

    /// A configuration with the documented defaults.
    public init(policies: String, host: String = "127.0.0.1", port: Int = 8080, tokens: String? = nil,
                watch: Bool = false, maxBody: Int = 1 << 20, engine: EngineOptions = EngineOptions(),
                shutdownGrace: Duration = .seconds(8)) {
        self.policies = policies
        self.host = host
        self.port = port
        self.tokens = tokens
        self.watch = watch
        self.maxBody = maxBody
        self.engine = engine
        self.shutdownGrace = shutdownGrace
    }
}

/// Why the service could not start (exit code 2).
public struct ServeError: Error, Sendable, CustomStringConvertible {
    /// Every line to show, in plain words.
    public var lines: [String]
    /// The lines, joined.
    public var description: String { lines.joined(separator: "\n") }
    /// An error with these lines (the last is the summary).
    public init(lines: [String]) { self.lines = lines }
}

/// Runs the decision service.
public enum DecisionServer {
    /// Loads the policy set and the tokens, binds, serves until SIGTERM or SIGINT, then lets
    /// in-flight requests finish and returns. `announce` receives the "listening on" line once the
    /// port is bound. Throws ``ServeError`` when it cannot start.
    public static func run(_ config: ServeConfiguration, store: any ServiceStore = NoStore(), logger: Logger,
                           announce: @escaping @Sendable (String) -> Void) async throws {
        let policies: LivePolicies
        do {
            policies = try LivePolicies(directory: config.policies, options: config.engine)
        } catch {
            switch error {
            case .invalid(let problems):
                throw ServeError(lines: problems.map(\.description)
                                 + ["the policy set \(config.policies) does not load (\(problems.count) problem\(problems.count == 1 ? "" : "s"))"])
            case .unreadable(let m):
                throw ServeError(lines: [m])
            }
        }
        var tokens: TokenTable?
        if let path = config.tokens {
            do { tokens = try TokenTable(path: path) } catch { throw ServeError(lines: [error.message]) }
        }
        let state = ServiceState(policies: policies, metrics: ServiceMetrics(), tokens: tokens, store: store,
                                 maxBody: config.maxBody, logger: logger)
        // Trap SIGHUP before anything can send it: its default action would end the process.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let started = Mutex(false)
        let current = policies.current
        let tokensNote = tokens == nil ? "" : ", tokens required"
        let app = Application(
            responder: DecisionService(state: state),
            configuration: ApplicationConfiguration(address: .hostname(config.host, port: config.port),
                                                    serverName: "nextbest"),
            onServerRunning: { channel in
                started.withLock { $0 = true }
                let port = channel.localAddress?.port ?? config.port
                announce("nextbest serve: listening on http://\(config.host):\(port) "
                         + "(policies \(config.policies), revision \(current.revision)\(tokensNote))")
            },
            logger: logger
        )
        let triggers = ReloadTriggers(state: state, hangups: hangups, watch: config.watch)
        var groupConfig = ServiceGroupConfiguration(
            services: [
                .init(service: triggers, successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: app, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfig.maximumGracefulShutdownDuration = config.shutdownGrace
        groupConfig.maximumCancellationDuration = .seconds(1)
        do {
            try await ServiceGroup(configuration: groupConfig).run()
        } catch {
            if !started.withLock({ $0 }) {
                throw ServeError(lines: ["cannot listen on \(config.host):\(config.port): \(error)"])
            }
            throw error
        }
    }
}

/// Reloads on SIGHUP and, with `--watch`, when the folder's files change; ends on graceful shutdown.
struct ReloadTriggers: Service {
    let state: ServiceState
    let hangups: UnixSignalsSequence
    let watch: Bool

    func run() async throws {
        let state = self.state, hangups = self.hangups, watch = self.watch
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in hangups { _ = await state.reload(because: "SIGHUP") }
                }
                if watch {
                    group.addTask {
                        let directory = state.policies.directory
                        var last = FolderFingerprint(directory: directory)
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .seconds(1))
                            if Task.isCancelled { break }
                            let now = FolderFingerprint(directory: directory)
                            if now != last {
                                last = now
                                _ = await state.reload(because: "a file under \(directory) changed")
                            }
                        }
                    }
                }
                await group.waitForAll()
            }
        }
    }
}
