// libFuzzer entry point: each input is read as a JSON Lines, a JSON and a CSV file of profiles
// and decided; every record must end as exactly one plan or one error record.
import Foundation
import NextBest

private let policiesDir: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("policies").path
}()

private let engine: Engine = {
    do {
        return try Engine(policies: policiesDir, options: EngineOptions(
            limits: Limits(memoryBytes: 16 << 20, instructionsPerCall: 100_000), now: "2026-11-01", concurrency: 1))
    } catch {
        fatalError("the fuzz policy set does not load: \(error)")
    }
}()

private let scratch = NSTemporaryDirectory() + "nextbest-fuzz-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReaders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    for format in ProfileFormat.allCases {
        let path = scratch + "." + format.rawValue
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        var lines = 0
        do {
            let summary = try engine.run(profiles: path, options: BatchOptions(jobs: 1, format: format, chunkBytes: 4096),
                                         output: { buf in lines += buf.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } })
            if summary.records != summary.plans + summary.errorRecords || lines != summary.records {
                fatalError("records \(summary.records) != plans \(summary.plans) + errors \(summary.errorRecords) (lines \(lines)) for \(format)")
            }
        } catch {
            // A whole-file failure (e.g. a CSV header with an empty column name) is allowed.
        }
    }
    return 0
}

// SwiftPM links an executable's entry point as `<target>_main`; hand control to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("FuzzReaders_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzReaders(data, size) }
}
