// RepeatedIds: finds customer ids seen before in a batch run, in memory that stops growing.

/// The customer ids of a batch run, as 64-bit hashes with the record that first had each.
/// Small runs use a dictionary; past 4,096 ids, one fixed table of 2^21 slots (24 MiB) takes
/// over, so a run of a million profiles needs no more memory than one of a hundred thousand.
/// Two different ids with the same 64-bit hash (odds about 1 in 10^7 for a million ids) would
/// be reported as a repeat. Past 1.5 million distinct ids the table is full and later ids
/// are no longer checked (`checkedUpTo` says how far the check went).
struct RepeatedIds {
    private var small: [UInt64: Int] = [:]
    private var hashes: [UInt64] = []   // 0 = an empty slot
    private var numbers: [UInt32] = []
    private var count = 0
    private static let slots = 1 << 21, smallLimit = 4096, fullAt = slots / 4 * 3
    /// The last record number checked, once the table is full (`nil` while every id is checked).
    private(set) var checkedUpTo: Int?

    /// The record that had this id before, or `nil` (then this record is remembered as its first).
    mutating func earlierInput(hash rawHash: Int, number: Int) -> Int? {
        guard checkedUpTo == nil else { return nil }
        let hash = UInt64(bitPattern: Int64(rawHash)) | 1
        if hashes.isEmpty {
            if let first = small[hash] { return first }
            small[hash] = number
            if small.count > RepeatedIds.smallLimit { moveToTable() }
            return nil
        }
        var slot = Int(truncatingIfNeeded: hash >> 11) & (RepeatedIds.slots - 1)
        while hashes[slot] != 0 {
            if hashes[slot] == hash { return Int(numbers[slot]) }
            slot = (slot + 1) & (RepeatedIds.slots - 1)
        }
        hashes[slot] = hash
        numbers[slot] = UInt32(truncatingIfNeeded: number)
        count += 1
        if count >= RepeatedIds.fullAt { checkedUpTo = number }
        return nil
    }

    private mutating func moveToTable() {
        hashes = [UInt64](repeating: 0, count: RepeatedIds.slots)
        numbers = [UInt32](repeating: 0, count: RepeatedIds.slots)
        let entries = small
        small = [:]
        for (hash, number) in entries.sorted(by: { $0.value < $1.value }) {
            var slot = Int(truncatingIfNeeded: hash >> 11) & (RepeatedIds.slots - 1)
            while hashes[slot] != 0 { slot = (slot + 1) & (RepeatedIds.slots - 1) }
            hashes[slot] = hash
            numbers[slot] = UInt32(truncatingIfNeeded: number)
            count += 1
        }
    }
}
