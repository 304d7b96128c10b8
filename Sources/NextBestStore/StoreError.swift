// What can go wrong with a store, in words for the people running NextBest.

/// A store that cannot be used, or an operation it refused.
public enum StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The `--store` value is not a store URL.
    case badURL(String, String)
    /// The file or database holds other tables and no NextBest marker; it was left as it was.
    case notAStore(String, tables: [String])
    /// The file is not a readable database (damaged, or not a database at all); left as it was.
    case corrupt(String, String)
    /// The store was made by a newer NextBest; left as it was.
    case newerSchema(String, found: Int, supported: Int)
    /// The store could not be opened or reached.
    case unreachable(String, String)
    /// A query failed for a reason the store gave.
    case failed(String, String)

    /// The message, in plain words.
    public var description: String {
        switch self {
        case .badURL(let url, let why):
            return "'\(url)' is not a store: \(why)"
        case .notAStore(let url, let tables):
            let shown = tables.prefix(5).joined(separator: ", ") + (tables.count > 5 ? ", ..." : "")
            return "\(url) is not a NextBest store: it already holds other tables (\(shown)) and no NextBest marker; "
                + "it was left unchanged. Give a new file or an empty database."
        case .corrupt(let url, let why):
            return "\(url) cannot be read as a database (\(why)); it was left unchanged."
        case .newerSchema(let url, let found, let supported):
            return "\(url) was made by a newer NextBest (store version \(found); this one knows up to \(supported)); "
                + "it was left unchanged. Use a newer nextbest."
        case .unreachable(let url, let why):
            return "cannot open the store \(url): \(why)"
        case .failed(let url, let why):
            return "the store \(url) refused: \(why)"
        }
    }
}
