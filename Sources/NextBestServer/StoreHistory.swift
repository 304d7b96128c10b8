// A customer's recorded history handed to the engine with the profile, for decisions made with a store.
import NextBest
import NextBestStore

/// How the service gives the engine a customer's recorded contacts and outcomes: merged as
/// `nextbest run --store` merges them (``ContactRow/merge(_:skippingDecisions:)``) and passed
/// through the engine's history API, so the profile's own bytes go to the engine untouched.
enum StoreHistory {
    /// The engine's contacts for a customer's recorded entries (newest first, as the store reads them).
    static func contacts(_ history: [HistoryEntry]) -> [PastContact] {
        ContactRow.merge(history.map(ContactRow.init)).map {
            PastContact(action: $0.action, channel: $0.channel, at: $0.at, outcome: $0.outcome)
        }
    }

    /// Decides one profile (JSON bytes) with `history` added to its own contacts, as of `now`
    /// (`nil`: the engine's time); the plan's JSON bytes.
    static func decide(_ engine: Engine, profile: ArraySlice<UInt8>, history: [HistoryEntry], now: String?) throws(DecisionError) -> [UInt8] {
        try engine.decidePlanJSON(json: profile, now: now, context: nil, history: contacts(history))
    }

    /// Explains one profile with `history` added, as ``decide(_:profile:history:now:)`` decides it.
    static func explain(_ engine: Engine, profile: ArraySlice<UInt8>, history: [HistoryEntry], now: String?) throws(DecisionError) -> Explanation {
        try engine.explain(json: profile, now: now, context: nil, history: contacts(history))
    }
}
