// nextbest serve: the decision service over HTTP, for host applications that are not Swift.
import ArgumentParser
import Foundation
import Logging
import NextBest
import NextBestServer
import NextBestStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve decisions over HTTP: POST /v1/decide, hot reload, metrics, tokens.",
        discussion: """
            Binds 127.0.0.1:8080 unless --host/--port say otherwise (--port 0 picks a free port); \
            the bound address is printed on standard error. SIGHUP, POST /v1/policies/reload or, \
            with --watch, a changed file reloads the policy set; a set that does not load leaves the \
            old one serving. SIGTERM or SIGINT stops accepting, lets requests in flight finish and \
            exits 0. With --store, "record": true records plans and their tasks, and outcomes, \
            tasks and customers' history are served; replicas may share one PostgreSQL store. \
            The API is described at /openapi.yaml.

            Example:
              nextbest serve --policies policies --port 8080
              curl -s localhost:8080/v1/decide -d '{"profile": {"id": "C1", "annual_revenue": 82000}}'
            """
    )

    @OptionGroup var policy: PolicyOptions

    @Option(name: .long, help: ArgumentHelp("A store (sqlite:PATH or postgres://...) for record, outcomes, tasks and history.", valueName: "url"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("The address to listen on.", valueName: "host"))
    var host: String = "127.0.0.1"

    @Option(name: .long, help: ArgumentHelp("The port to listen on (0: a free port).", valueName: "port"))
    var port: Int = 8080

    @Option(name: .long, help: ArgumentHelp("A tokens file: lines 'TOKEN ROLE', roles decide, department:NAME, admin.", valueName: "file"))
    var tokens: String?

    @Flag(name: .long, help: "Reload the policy set when a file under --policies changes (checked every second).")
    var watch = false

    @Option(name: .long, help: ArgumentHelp("The largest request body accepted, in bytes (larger: 413).", valueName: "bytes"))
    var maxBody: Int = 1 << 20

    @Option(name: .long, help: "Lua states deciding at once (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        if maxBody < 1 { throw ValidationError("--max-body must be 1 or more") }
        if jobs < 1 { throw ValidationError("--jobs must be 1 or more") }
    }

    func run() throws {
        var storeURL: StoreURL?
        if let store {
            do { storeURL = try StoreURL(store) } catch { throw cannotRun(error.description) }
        }
        // Block the signals the service handles in this thread before any other thread starts, so
        // every thread inherits the mask: they stay pending for the service's signal handling
        // (a signalfd on Linux) instead of ending the process if one arrives while it starts.
        var handled = sigset_t()
        sigemptyset(&handled)
        for sig in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&handled, sig) }
        pthread_sigmask(SIG_BLOCK, &handled, nil)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "nextbest.serve")
        let config = ServeConfiguration(
            policies: policy.policies, host: host, port: port, tokens: tokens, watch: watch, maxBody: maxBody,
            engine: EngineOptions(limits: policy.limits, now: policy.now, concurrency: jobs))
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                var service: any ServiceStore = NoStore()
                var opened: (any Store)?
                if let storeURL {
                    do {
                        let (store, migration) = try await openStore(storeURL)
                        if migration.from != migration.to {
                            note("nextbest serve: store \(storeURL) brought up to version \(migration.to) (was \(migration.from))")
                        }
                        opened = store
                        service = StoreService(store: store)
                    } catch {
                        throw ServeError(lines: [storeMessage(error)])
                    }
                }
                do {
                    try await DecisionServer.run(config, store: service, logger: logger) { line in note(line) }
                } catch {
                    await opened?.close()
                    throw error
                }
                // Every request has finished (each recorded its decisions in its own transaction):
                // close the store so nothing is left unwritten, then exit.
                await opened?.close()
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        switch outcome.withLock({ $0 }) {
        case .failure(let error as ServeError):
            for line in error.lines.dropLast() { note(line) }
            throw cannotRun(error.lines.last ?? "cannot start")
        case .failure(let error):
            note("nextbest serve: stopped on an error: \(error)")
            throw ExitCode(1)
        default:
            note("nextbest serve: stopped")
        }
    }
}
