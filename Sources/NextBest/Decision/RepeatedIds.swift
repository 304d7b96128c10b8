// RepeatedIds: finds customer ids seen before in a batch run, in memory that stops growing.

/// The customer ids of a batch run, as 64-bit hashes with the record that first had each.
/// Small runs use a dictionary; past 4,096 ids, one fixed table of 2^21 slots (16 MiB) takes
/// over, so a run of a million profiles needs hardly more memory than one of a hundred
/// thousand. A slot holds one word: the hash's upper 43 bits (its lower 21 choose the slot)
/// and which distinct id it is, whose first record is in a list kept in record order, so a
/// new id costs one random memory access. Two different ids whose hashes agree in those bits
/// (odds about 1 in 4 million for a million ids) would be reported as a repeat. Past 1.5
/// million distinct ids the table is full and later ids are no longer checked
/// (`checkedUpTo` says how far the check went).
struct RepeatedIds {
    private var small: [UInt64: Int] = [:]
    private var table: [UInt64] = []   // 0 = an empty slot
    private var firsts: [UInt32] = []  // the first record of each distinct id, in the order they came
    private static let slotBits = 21, slots = 1 << slotBits, smallLimit = 4096, fullAt = slots / 4 * 3
    /// The low bits of a slot: the id's place in `firsts`, plus one (so a used slot is never 0).
    private static let ordinalMask = UInt64(slots - 1)
    /// The last record number checked, once the table is full (`nil` while every id is checked).
    private(set) var checkedUpTo: Int?

    /// The record that had this id before, or `nil` (then this record is remembered as its first).
    mutating func earlierInput(hash rawHash: Int, number: Int) -> Int? {
        guard checkedUpTo == nil else { return nil }
        let hash = UInt64(bitPattern: Int64(rawHash))
        if table.isEmpty {
            if let first = small[hash] { return first }
            small[hash] = number
            if small.count > RepeatedIds.smallLimit { moveToTable() }
            return nil
        }
        return place(hash, number: number)
    }

    /// The first record of the id with this hash, or `nil` after noting `number` as its first.
    private mutating func place(_ hash: UInt64, number: Int) -> Int? {
        let tag = hash & ~RepeatedIds.ordinalMask
        var slot = Int(truncatingIfNeeded: hash) & (RepeatedIds.slots - 1)
        while table[slot] != 0 {
            if table[slot] & ~RepeatedIds.ordinalMask == tag {
                return Int(firsts[Int(truncatingIfNeeded: table[slot] & RepeatedIds.ordinalMask) - 1])
            }
            slot = (slot + 1) & (RepeatedIds.slots - 1)
        }
        firsts.append(UInt32(truncatingIfNeeded: number))
        table[slot] = tag | UInt64(firsts.count)
        if firsts.count >= RepeatedIds.fullAt { checkedUpTo = number }
        return nil
    }

    private mutating func moveToTable() {
        table = [UInt64](repeating: 0, count: RepeatedIds.slots)
        let entries = small
        small = [:]
        for (hash, number) in entries.sorted(by: { $0.value < $1.value }) { _ = place(hash, number: number) }
    }
}
