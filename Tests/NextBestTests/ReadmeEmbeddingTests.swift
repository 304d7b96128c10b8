// The README's "Embed it in your app" code, compiled and run here; tests check that the README
// and the DocC embedding article still show exactly this code.
import Foundation
import NextBest
import Testing

// README embed begin
/// Decides the next best actions for one customer with the policy set in `folder`.
func nextBestActions(policies folder: String) throws -> [PlannedAction] {
    // Load and validate the set once, at start-up. An Engine is Sendable: share it between
    // tasks and threads; each concurrent decision borrows its own Lua state from a pool.
    let engine = try Engine(policies: folder, options: EngineOptions(now: "2026-11-01"))

    // A profile built in Swift, with literals...
    let plan = try engine.decide([
        "id": "C01042", "annual_revenue": 82_000, "tenure_months": 30, "churn_risk": 0.72,
        "tech_affinity": 0.8, "consent": ["email": true, "phone": false],
    ])
    for action in plan.actions {
        print(action.department, action.action, action.channel, action.priority, action.reason)
    }
    for s in plan.suppressed { print("not now:", s.action, "-", s.reason) }

    // ...or JSON bytes, straight from a request body or a queue message.
    let json = #"{"id": "C01043", "annual_revenue": 1200, "tenure_months": 1, "churn_risk": 0.1, "consent": {"phone": true}}"#
    let other = try engine.decide(json: Array(json.utf8))
    return plan.actions + other.actions
}
// README embed end

@Suite("README")
struct ReadmeEmbeddingTests {
    @Test func theEmbeddingExampleRunsOnTheSampleSet() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let actions = try nextBestActions(policies: root + "/policies")
        #expect(actions.map(\.action).contains("retention_offer_email"))
        #expect(actions.map(\.department).contains("customer_success"))
    }

    @Test func theReadmeShowsThisCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        let begin = try #require(source.range(of: "// README embed begin\n"))
        let end = try #require(source.range(of: "// README embed end"))
        let code = "import NextBest\n\n" + source[begin.upperBound..<end.lowerBound]
        #expect(readme.contains("```swift\n" + code + "```\n"), "README.md's embedding example differs from \(#filePath)")
    }

    @Test func theDocCEmbeddingArticleShowsThisCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let article = try String(contentsOfFile: root + "/Sources/NextBest/NextBest.docc/Embedding.md", encoding: .utf8)
        let begin = try #require(source.range(of: "// README embed begin\n"))
        let end = try #require(source.range(of: "// README embed end"))
        let code = "import NextBest\n\n" + source[begin.upperBound..<end.lowerBound]
        #expect(article.contains("```swift\n" + code + "```\n"), "Embedding.md's example differs from \(#filePath)")
    }
}
