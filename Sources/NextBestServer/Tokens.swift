// Bearer tokens for the service (`--tokens FILE`): who may call what.
import Foundation

/// What a token may do.
public enum TokenRole: Sendable, Hashable, CustomStringConvertible {
    /// Decide (`POST /v1/decide`) and read the policy set.
    case decide
    /// See and move one department's tasks.
    case department(String)
    /// Everything: decide, reload, outcomes, tasks of every department, history, metrics.
    case admin

    /// The role as written in the tokens file.
    public var description: String {
        switch self {
        case .decide: return "decide"
        case .department(let d): return "department:" + d
        case .admin: return "admin"
        }
    }
}

/// What an endpoint needs.
public enum Permission: Sendable, Hashable {
    /// `decide` or `admin`.
    case decide
    /// `admin` only (reload, metrics, outcomes, history).
    case admin
    /// Any valid token (the department check is the endpoint's own, on the task it moves).
    case anyRole
}

/// The tokens file: one `TOKEN ROLE` per line; blank lines and lines starting with `#` are skipped.
public struct TokenTable: Sendable {
    private let roles: [String: TokenRole]

    /// Reads the file; throws a message naming the line for anything it cannot read.
    public init(path: String) throws(TokenFileError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenFileError(message: "cannot read the tokens file \(path)")
        }
        try self.init(text: String(decoding: data, as: UTF8.self), name: path)
    }

    /// Reads tokens from text (`name` is used in messages).
    public init(text: String, name: String) throws(TokenFileError) {
        var roles: [String: TokenRole] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count == 2 else {
                throw TokenFileError(message: "\(name):\(i + 1): expected 'TOKEN ROLE' (two words), found \(parts.count)")
            }
            let token = String(parts[0]), roleText = String(parts[1])
            let role: TokenRole
            switch roleText {
            case "decide": role = .decide
            case "admin": role = .admin
            default:
                guard roleText.hasPrefix("department:"), roleText.count > "department:".count else {
                    throw TokenFileError(message: "\(name):\(i + 1): unknown role '\(roleText)' (use decide, department:NAME or admin)")
                }
                role = .department(String(roleText.dropFirst("department:".count)))
            }
            if roles[token] != nil { throw TokenFileError(message: "\(name):\(i + 1): this token is already listed above") }
            roles[token] = role
        }
        guard !roles.isEmpty else { throw TokenFileError(message: "\(name) holds no token") }
        self.roles = roles
    }

    /// The role of the `Authorization` header's bearer token, or why there is none.
    public func role(authorization: String?) -> Result<TokenRole, AuthFailure> {
        guard let header = authorization, !header.isEmpty else { return .failure(.missing) }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .failure(.malformed) }
        guard let role = roles[parts[1].trimmingCharacters(in: .whitespaces)] else { return .failure(.unknown) }
        return .success(role)
    }

    /// Whether `role` may call an endpoint that needs `permission`.
    public static func allows(_ role: TokenRole, _ permission: Permission) -> Bool {
        switch (permission, role) {
        case (_, .admin), (.anyRole, _), (.decide, .decide): return true
        default: return false
        }
    }
}

/// Why a request has no valid token (answered with 401).
public enum AuthFailure: Error, Sendable {
    /// No `Authorization` header.
    case missing
    /// Not `Bearer TOKEN`.
    case malformed
    /// A token not in the file.
    case unknown

    /// In plain words.
    public var message: String {
        switch self {
        case .missing: return "this endpoint needs a token: send 'Authorization: Bearer TOKEN'"
        case .malformed: return "the Authorization header must be 'Bearer TOKEN'"
        case .unknown: return "unknown token"
        }
    }
}

/// A tokens file that cannot be read.
public struct TokenFileError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, with `file:line` where there is one.
    public var message: String
    /// The message.
    public var description: String { message }
}
