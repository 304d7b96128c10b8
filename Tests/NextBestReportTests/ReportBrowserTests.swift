// Opens the HTML report in a real headless Chromium: no console errors, every chart drawn, a screenshot kept.
import Foundation
import Testing
import NextBestReport

/// Debian's Chromium, when installed (scripts/chromium-setup installs it).
private let chromiumPath: String? = {
    let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init) + ["/usr/bin"]
    for dir in dirs { for name in ["chromium", "chromium-browser"] where FileManager.default.isExecutableFile(atPath: dir + "/" + name) {
        return dir + "/" + name
    } }
    return nil
}()

/// True when the CI variable is set (CI=true): then a missing Chromium is a failure, not a skip.
private let onCI: Bool = {
    let v = (ProcessInfo.processInfo.environment["CI"] ?? "").lowercased()
    return !v.isEmpty && v != "false" && v != "0"
}()

/// The package's root folder.
private let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Runs Chromium headless on a file with extra arguments; returns what it printed on stdout and stderr.
private func chromium(_ chrome: String, _ args: [String], page: String) throws -> (status: Int32, out: String, err: String) {
    let fm = FileManager.default
    let profile = fm.temporaryDirectory.appendingPathComponent("nextbest-chromium-\(UUID())").path
    let errPath = profile + "-stderr"
    defer { try? fm.removeItem(atPath: profile); try? fm.removeItem(atPath: errPath) }
    fm.createFile(atPath: errPath, contents: nil)
    let errFile = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    p.arguments = ["120", chrome, "--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
                   "--enable-logging=stderr", "--v=0", "--hide-scrollbars", "--no-first-run"] + args + ["file://" + page]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = errFile
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    try errFile.close()
    let err = String(decoding: fm.contents(atPath: errPath) ?? Data(), as: UTF8.self)
    return (p.terminationStatus, String(decoding: data, as: UTF8.self), err)
}

@Suite struct ReportBrowserTests {
    @Test func theHTMLNeedsNothingFromOutside() throws {
        let html = ReportHTML.render(try Fixture.report())
        for forbidden in ["http://", "https://", "<link", " src=", "@import", "url(", "@font-face"] {
            #expect(!html.contains(forbidden), "the report refers to something outside itself: \(forbidden)")
        }
        #expect(html.contains("@media print"))
        #expect(html.contains("Window: <b>from 10 November 2026, 00:00 UTC to 20 November 2026, 00:00 UTC</b>"))
        #expect(html.contains("Made at 20 November 2026, 12:00 UTC"))
    }

    @Test func longListsAreCutInChartsAndKeptWholeInTables() throws {
        var b = ReportBuilder(now: Fixture.now)
        for i in 0..<40 {
            try b.add(ReportTask(id: "t\(i)", decision: "d", customer: "c\(i)", action: "action_\(i)", department: "sales",
                                 channel: "phone", createdAt: Fixture.from, status: .open, policy: "p"))
        }
        let html = ReportHTML.render(b.finish())
        // 40 actions: the volume chart shows 25 and sums the other 15; the rate table lists all 40.
        #expect(html.contains("and 15 more with 15 tasks between them"))
        #expect(html.contains("the 25 with the most contacts; all 40 are in the table"))
        #expect(html.components(separatedBy: "<td>action_").count - 1 == 40)
    }

    @Test(.enabled(if: chromiumPath != nil || onCI, "Chromium is not installed (run scripts/chromium-setup); skipping the browser test"))
    func chromiumDrawsEveryChartWithoutConsoleErrors() throws {
        let chrome = try #require(chromiumPath, "Chromium is missing and CI is set: scripts/chromium-setup should have installed it")
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("nextbest-report-\(UUID())").path
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        let html = ReportHTML.render(try Fixture.report())
        let page = dir + "/report.html"
        try html.write(toFile: page, atomically: true, encoding: .utf8)
        let charts = html.components(separatedBy: "<svg class=\"chart\"").count - 1
        #expect(charts >= 12)

        let dom = try chromium(chrome, ["--dump-dom"], page: page)
        #expect(dom.status == 0, "chromium ended with \(dom.status): \(dom.err.suffix(2000))")
        let consoleLines = dom.err.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        #expect(consoleLines.isEmpty, "console messages: \(consoleLines.joined(separator: "\n"))")
        #expect(dom.out.contains("charts rendered \(charts) of \(charts)"),
                "the page's self-check says: \(dom.out.components(separatedBy: "id=\"selfcheck\"").dropFirst().first?.prefix(80) ?? "nothing")")

        let artifacts = packageRoot + "/.build/test-artifacts"
        try fm.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let shot = artifacts + "/report.png"
        try? fm.removeItem(atPath: shot)
        let s = try chromium(chrome, ["--screenshot=" + shot, "--window-size=1000,4000"], page: page)
        #expect(s.status == 0, "chromium ended with \(s.status): \(s.err.suffix(2000))")
        let png = try #require(fm.contents(atPath: shot), "no screenshot at \(shot)")
        #expect(png.count > 10_000)
        #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        try html.write(toFile: artifacts + "/report.html", atomically: true, encoding: .utf8)
    }
}
