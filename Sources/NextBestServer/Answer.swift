// An HTTP answer before it becomes a Hummingbird response: status, content type and body bytes.
import NextBest

/// What an endpoint answers: a status, a content type and the body's bytes. An `Error` too, so a
/// check can fail with the answer to send.
public struct Answer: Sendable, Error {
    /// The HTTP status code.
    public var status: Int
    /// The body's bytes.
    public var body: [UInt8]
    /// The `Content-Type` header.
    public var contentType: String
    /// Extra headers (e.g. `Allow` on a 405).
    public var headers: [(String, String)] = []

    /// An answer with raw bytes.
    public init(status: Int, body: [UInt8], contentType: String = "application/json") {
        self.status = status
        self.body = body
        self.contentType = contentType
    }

    /// A JSON answer.
    public static func json(_ status: Int, _ value: JSONValue) -> Answer {
        Answer(status: status, body: Array(value.jsonText.utf8))
    }

    /// An error answer: `{"error": message, ...extra}`.
    public static func problem(_ status: Int, _ message: String, _ extra: [String: JSONValue] = [:]) -> Answer {
        var o = extra
        o["error"] = .string(message)
        return json(status, .object(o))
    }
}
