// A byte-level JSON scanner: checks a request body and finds its top-level fields, without building values.

/// Malformed JSON, placed at its 1-based line and column (columns count bytes, as the engine does).
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, in plain words.
    public var message: String
    /// The 1-based line of the byte at fault.
    public var line: Int
    /// The 1-based column (in bytes) of the byte at fault.
    public var column: Int

    /// `line 3, column 14: expected ',' or '}' after an object value`.
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// What a JSON value is, from its first byte.
public enum JSONKind: Sendable, Hashable {
    /// `{...}`
    case object
    /// `[...]`
    case array
    /// `"..."`
    case string
    /// A number.
    case number
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
}

/// One field of the top-level object: its name and where its value lies in the body.
public struct ScannedField: Sendable, Hashable {
    /// The field's name, with escapes decoded.
    public var key: String
    /// Byte offsets of the value in the body.
    public var value: Range<Int>
    /// What the value is.
    public var kind: JSONKind
    /// When the value is an array: the byte offsets of each element, in order.
    public var elements: [Range<Int>]?
}

/// Checks that bytes are one JSON object (RFC 8259: strict numbers, escapes and UTF-8, no
/// trailing data) and returns its fields. Nothing is decoded but the field names, so the
/// values can go to the engine as the bytes they arrived as.
public struct JSONScanner {
    /// Deeper nesting than this is refused (a request cannot exhaust the server's stack or time).
    public static let maximumDepth = 256

    private let b: UnsafeRawBufferPointer
    private var p = 0

    private init(_ bytes: UnsafeRawBufferPointer) { b = bytes }

    /// The fields of the one JSON object in `bytes`, in the order they appear.
    public static func fields(of bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> [ScannedField] {
        var s = JSONScanner(bytes)
        return try s.scanTopObject()
    }

    /// The fields of the one JSON object in `bytes`, in the order they appear.
    public static func fields(of bytes: [UInt8]) throws(JSONSyntaxError) -> [ScannedField] {
        let r: Result<[ScannedField], JSONSyntaxError> = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONSyntaxError) -> [ScannedField] in try fields(of: raw) }
        }
        return try r.get()
    }

    /// The decoded text of a JSON string value at `range` in `bytes` (already checked by the scanner).
    public static func string(in bytes: UnsafeRawBufferPointer, at range: Range<Int>) -> String {
        var s = JSONScanner(bytes)
        s.p = range.lowerBound
        return (try? s.readString()) ?? ""
    }

    // MARK: - The top-level object

    private mutating func scanTopObject() throws(JSONSyntaxError) -> [ScannedField] {
        skipSpace()
        guard p < b.count else { throw fail("the body is empty: send one JSON object") }
        guard b[p] == UInt8(ascii: "{") else { throw fail("expected a JSON object ({...}) as the body") }
        p += 1
        var fields: [ScannedField] = []
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            p += 1
        } else {
            while true {
                skipSpace()
                guard peek() == UInt8(ascii: "\"") else { throw fail("expected a field name in double quotes") }
                let key = try readString()
                skipSpace()
                guard peek() == UInt8(ascii: ":") else { throw fail("expected ':' after the field name") }
                p += 1
                skipSpace()
                let start = p
                let kind = try kindHere()
                var elements: [Range<Int>]?
                if kind == .array {
                    elements = try scanTopArray()
                } else {
                    try skipValue()
                }
                fields.append(ScannedField(key: key, value: start..<p, kind: kind, elements: elements))
                skipSpace()
                guard let c = peek() else { throw fail("the body ends inside the object: expected ',' or '}'") }
                if c == UInt8(ascii: ",") { p += 1; continue }
                if c == UInt8(ascii: "}") { p += 1; break }
                throw fail("expected ',' or '}' after an object value")
            }
        }
        skipSpace()
        if p < b.count { throw fail("unexpected data after the end of the JSON object") }
        return fields
    }

    /// An array value of a top-level field: each element's span.
    private mutating func scanTopArray() throws(JSONSyntaxError) -> [Range<Int>] {
        p += 1
        var out: [Range<Int>] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") { p += 1; return out }
        while true {
            skipSpace()
            let start = p
            try skipValue(depth: 2)
            out.append(start..<p)
            skipSpace()
            guard let c = peek() else { throw fail("the body ends inside an array: expected ',' or ']'") }
            if c == UInt8(ascii: ",") { p += 1; continue }
            if c == UInt8(ascii: "]") { p += 1; return out }
            throw fail("expected ',' or ']' after an array value")
        }
    }

    // MARK: - Any value, without recursion

    private func kindHere() throws(JSONSyntaxError) -> JSONKind {
        guard let c = peek() else { throw fail("the body ends where a value was expected") }
        switch c {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"): return .bool(true)
        case UInt8(ascii: "f"): return .bool(false)
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw fail(unexpected(c, expecting: "a value"))
        }
    }

    /// Skips one value starting at `p`; `depth` is the nesting level the value sits at.
    private mutating func skipValue(depth: Int = 1) throws(JSONSyntaxError) {
        var stack: [UInt8] = []  // open containers: '{' or '['
        while true {
            // A value starts here.
            skipSpace()
            guard let c = peek() else { throw fail("the body ends where a value was expected") }
            var closed = true
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if depth + stack.count >= JSONScanner.maximumDepth {
                    throw fail("nested too deeply (more than \(JSONScanner.maximumDepth) levels)")
                }
                p += 1
                skipSpace()
                let close = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if peek() == close {
                    p += 1
                } else {
                    stack.append(c)
                    closed = false
                    if c == UInt8(ascii: "{") { try readKeyAndColon() }
                }
            case UInt8(ascii: "\""): try skipString()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
            default: throw fail(unexpected(c, expecting: "a value"))
            }
            if !closed { continue }
            // After a value: close containers or move to the next member.
            afterValue: while let top = stack.last {
                skipSpace()
                guard let d = peek() else {
                    throw fail(top == UInt8(ascii: "{") ? "the body ends inside an object: expected ',' or '}'"
                                                        : "the body ends inside an array: expected ',' or ']'")
                }
                if top == UInt8(ascii: "{") {
                    if d == UInt8(ascii: ",") { p += 1; try readKeyAndColon(); break afterValue }
                    if d == UInt8(ascii: "}") { p += 1; stack.removeLast(); continue }
                    throw fail("expected ',' or '}' after an object value")
                } else {
                    if d == UInt8(ascii: ",") { p += 1; break afterValue }
                    if d == UInt8(ascii: "]") { p += 1; stack.removeLast(); continue }
                    throw fail("expected ',' or ']' after an array value")
                }
            }
            if stack.isEmpty { return }
        }
    }

    private mutating func readKeyAndColon() throws(JSONSyntaxError) {
        skipSpace()
        guard peek() == UInt8(ascii: "\"") else { throw fail("expected a field name in double quotes") }
        try skipString()
        skipSpace()
        guard peek() == UInt8(ascii: ":") else { throw fail("expected ':' after the field name") }
        p += 1
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: n)
        for i in 0..<n {
            guard p + i < b.count, b[p + i] == w[i] else {
                p += i
                throw fail("expected '\(word)'")
            }
        }
        p += n
    }

    private mutating func skipNumber() throws(JSONSyntaxError) {
        if peek() == UInt8(ascii: "-") { p += 1 }
        guard let first = peek(), isDigit(first) else { throw fail("a number needs a digit here") }
        p += 1
        if first != UInt8(ascii: "0") { while let c = peek(), isDigit(c) { p += 1 } }
        else if let c = peek(), isDigit(c) { throw fail("a number cannot start with 0 followed by digits") }
        if peek() == UInt8(ascii: ".") {
            p += 1
            guard let c = peek(), isDigit(c) else { throw fail("a number needs a digit after the decimal point") }
            while let c = peek(), isDigit(c) { p += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            p += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { p += 1 }
            guard let c = peek(), isDigit(c) else { throw fail("a number needs a digit in its exponent") }
            while let c = peek(), isDigit(c) { p += 1 }
        }
    }

    // MARK: - Strings

    /// Skips a string at `p` (which holds the opening quote), checking escapes and UTF-8.
    private mutating func skipString() throws(JSONSyntaxError) {
        p += 1
        while p < b.count {
            let c = b[p]
            if c == UInt8(ascii: "\"") { p += 1; return }
            if c == UInt8(ascii: "\\") { _ = try readEscape(); continue }
            if c < 0x20 { throw fail("a control character inside a string (write it as an escape, like \\n)") }
            if c < 0x80 { p += 1; continue }
            _ = try readUTF8()
        }
        throw fail("the body ends inside a string: a closing '\"' is missing")
    }

    /// Reads a string at `p` into text.
    private mutating func readString() throws(JSONSyntaxError) -> String {
        let start = p + 1
        var out: [UInt8] = []
        var plain = true
        p += 1
        while p < b.count {
            let c = b[p]
            if c == UInt8(ascii: "\"") {
                let text = plain ? String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<p]), as: UTF8.self)
                                 : String(decoding: out, as: UTF8.self)
                p += 1
                return text
            }
            if c == UInt8(ascii: "\\") {
                if plain { out.append(contentsOf: b[start..<p]); plain = false }
                let scalar = try readEscape()
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
                continue
            }
            if c < 0x20 { throw fail("a control character inside a string (write it as an escape, like \\n)") }
            let from = p
            if c < 0x80 { p += 1 } else { _ = try readUTF8() }
            if !plain { out.append(contentsOf: b[from..<p]) }
        }
        throw fail("the body ends inside a string: a closing '\"' is missing")
    }

    /// Reads one escape at `p` (the backslash); returns the character it stands for.
    private mutating func readEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        p += 1
        guard let e = peek() else { throw fail("the body ends inside an escape") }
        p += 1
        switch e {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let u = try hex4()
            if (0xD800..<0xDC00).contains(u) {
                // A high surrogate must be followed by \u and a low one.
                if p + 1 < b.count, b[p] == UInt8(ascii: "\\"), b[p + 1] == UInt8(ascii: "u") {
                    p += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) {
                        return Unicode.Scalar(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}"
                    }
                }
                return "\u{FFFD}"
            }
            return Unicode.Scalar(u) ?? "\u{FFFD}"
        default:
            p -= 1
            throw fail("unknown escape '\\\(String(UnicodeScalar(e)))' in a string")
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek() else { throw fail("the body ends inside a \\u escape") }
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("a \\u escape needs four hex digits")
            }
            v = v << 4 | d
            p += 1
        }
        return v
    }

    /// Checks one multi-byte UTF-8 sequence at `p` and moves past it.
    private mutating func readUTF8() throws(JSONSyntaxError) -> Int {
        let c = b[p]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: throw fail("the text is not valid UTF-8")
        }
        guard p + n <= b.count else { throw fail("the text is not valid UTF-8 (a character is cut off)") }
        let second = b[p + 1]
        guard second >= lo && second <= hi else { throw fail("the text is not valid UTF-8") }
        for i in 2..<max(2, n) where b[p + i] & 0xC0 != 0x80 {
            throw fail("the text is not valid UTF-8")
        }
        p += n
        return n
    }

    // MARK: - Helpers

    private func peek() -> UInt8? { p < b.count ? b[p] : nil }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private mutating func skipSpace() {
        while p < b.count {
            let c = b[p]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            p += 1
        }
    }

    private func unexpected(_ c: UInt8, expecting what: String) -> String {
        if c >= 0x21 && c < 0x7F { return "unexpected '\(String(UnicodeScalar(c)))': expected \(what)" }
        return "unexpected byte 0x\(String(c, radix: 16)): expected \(what)"
    }

    /// An error at the current position.
    private func fail(_ message: String) -> JSONSyntaxError {
        let at = min(p, b.count)
        var line = 1, column = 1
        for i in 0..<at {
            if b[i] == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return JSONSyntaxError(message: message, line: line, column: column)
    }
}
