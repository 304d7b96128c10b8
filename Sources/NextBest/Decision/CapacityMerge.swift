// Capacity across customers (policy-language.md §8.4): where the first decisions wait while capacity is worked out, and the merge that writes the final plans.
import Foundation

/// A line of the first decisions that capacity changed: where it is, and where its
/// replacement is in the file of decisions made again.
struct LineChange {
    var offset: Int
    var count: Int
    var newOffset: Int
    var newCount: Int
}

/// The output file itself, when the plans go to a regular file the run may read back: the
/// first decisions are written there as they come, and the lines capacity changed are
/// rewritten in place at the end, instead of a temporary copy of the whole output being kept
/// and written out again.
final class InPlaceOutput {
    private let fd: Int32, reader: Int32
    /// Where the run's output starts in the file.
    private let base: Int
    /// Bytes written so far.
    private(set) var size = 0

    /// `nil` when `fd` is not a regular file open for writing, with nothing after its offset,
    /// not appending (appends ignore offsets), or when it cannot be opened again for reading.
    init?(descriptor fd: Int32) {
        var st = stat(), again = stat()
        let flags = fcntl(fd, F_GETFL)
        let at = lseek(fd, 0, SEEK_CUR)
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, flags >= 0, flags & O_APPEND == 0,
              flags & O_ACCMODE != O_RDONLY, at >= 0, Int(st.st_size) == Int(at) else { return nil }
        let reader = open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else { return nil }
        guard fstat(reader, &again) == 0, again.st_dev == st.st_dev, again.st_ino == st.st_ino else {
            close(reader)
            return nil
        }
        (self.fd, self.reader, base) = (fd, reader, Int(at))
    }

    deinit { close(reader) }

    /// Appends `bytes`.
    func append(_ bytes: UnsafeRawBufferPointer) throws(OutputError) {
        try write(bytes, at: size)
        size += bytes.count
    }

    /// Writes `bytes` at `offset` from the output's start.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(OutputError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(base + offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw OutputError(writing: "the output", errno) }
            done += n
        }
    }

    /// Reads up to `count` bytes at `offset` from the output's start; how many (0 at the end).
    func read(into buffer: UnsafeMutableRawPointer, count: Int, offset: Int) throws(OutputError) -> Int {
        let n = preadRetrying(reader, buffer, count, base + offset)
        guard n >= 0 else { throw OutputError(message: "cannot read back the output: \(String(cString: strerror(errno)))") }
        return n
    }

    /// Ends the output at `count` bytes (shorter when the changed lines got shorter), with the
    /// descriptor's offset after it, where the next write would go.
    func finish(count: Int) throws(OutputError) {
        if count < size && ftruncate(fd, off_t(base + count)) != 0 { throw OutputError(writing: "the output", errno) }
        lseek(fd, off_t(base + count), SEEK_SET)
    }
}

/// Writes the final plans: the first decisions' bytes, each changed line replaced by its new
/// text. Reads and writes go through closures, so the first decisions may be a spill file
/// (written to a stream) or the output file itself (rewritten in place: bytes are read before
/// the write that would cover them).
struct LineMerge {
    /// How many bytes the first decisions hold.
    let size: Int
    /// Whether the first decisions are read from where the result is written.
    let inPlace: Bool
    /// Reads up to `count` bytes of the first decisions at `offset` into a buffer; how many.
    let read: (UnsafeMutableRawPointer, _ count: Int, _ offset: Int) throws -> Int
    /// Writes bytes of the result at their offset.
    let write: (UnsafeRawBufferPointer, _ offset: Int) throws -> Void
    /// How many bytes are read and written at a time (tests make it small).
    var block = 1 << 20

    /// The most the result may run ahead of its source when rewriting in place (the read-ahead
    /// held in memory); beyond it the tail is first copied to a spill file.
    static let aheadLimit = 64 << 20

    /// How far ahead of its source the result runs at most, for `changes` in offset order.
    static func maximumAhead(_ changes: [LineChange]) -> Int {
        var ahead = 0, most = 0
        for c in changes {
            ahead += c.newCount - c.count
            most = max(most, ahead)
        }
        return most
    }

    /// Writes everything from `start` (the first changed line's offset, or 0) on, with the
    /// `changes` (in offset order, from `start` on) taken from `redone`; the result's size.
    func run(from start: Int, changes: [LineChange], redone: SpillFile) throws -> Int {
        var state = State(merge: self, start: start)
        defer { state.free() }
        let new = try redone.reader()
        var cursor = start
        for c in changes {
            try state.copySource(upTo: c.offset, from: cursor)
            try state.put(try new.bytes(offset: c.newOffset, count: c.newCount))
            cursor = c.offset + c.count
            state.skipSource(to: cursor)
        }
        try state.copySource(upTo: size, from: cursor)
        try state.flush()
        return state.written
    }

    /// The merge's buffers: source bytes read and not yet used (`held`, from `heldStart`), and
    /// result bytes not yet written (`out`, at `written`).
    private struct State {
        let merge: LineMerge
        var held: [UInt8] = []
        var heldHead = 0
        var heldStart: Int
        var readTo: Int
        let out: UnsafeMutableRawBufferPointer
        var used = 0
        var written: Int

        init(merge: LineMerge, start: Int) {
            self.merge = merge
            (heldStart, readTo, written) = (start, start, start)
            out = .allocate(byteCount: merge.block, alignment: 16)
        }

        func free() { out.deallocate() }

        /// Reads the source up to `end` (at most its size) into `held`.
        mutating func readSource(upTo end: Int) throws {
            let end = min(end, merge.size)
            while readTo < end {
                let want = max(end - readTo, merge.block)
                let count = min(want, merge.size - readTo)
                let old = held.count
                held.append(contentsOf: repeatElement(0, count: count))
                let n = try held.withUnsafeMutableBytes { try merge.read($0.baseAddress! + old, count, readTo) }
                held.removeLast(count - n)
                guard n > 0 else { throw ProfileReadError(message: "the first decisions of a run with capacity ended early") }
                readTo += n
            }
        }

        /// Copies the source's bytes from `from` (where the source is) up to `end` into the result.
        mutating func copySource(upTo end: Int, from: Int) throws {
            precondition(from == heldStart)
            while heldStart < end {
                try readSource(upTo: min(end, heldStart + merge.block))
                let take = min(end, readTo) - heldStart
                let piece = min(take, out.count - used)
                held.withUnsafeBytes { (out.baseAddress! + used).copyMemory(from: $0.baseAddress! + heldHead, byteCount: piece) }
                used += piece
                drop(piece)
                if used == out.count { try flush() }
            }
        }

        /// Passes over the source's bytes up to `end` (a replaced line), reading none that are not read yet.
        mutating func skipSource(to end: Int) {
            let inHeld = min(end, readTo) - heldStart
            drop(inHeld)
            if readTo < end {
                readTo = end
                heldStart = end
            }
        }

        private mutating func drop(_ n: Int) {
            heldHead += n
            heldStart += n
            if heldHead == held.count {
                held.removeAll(keepingCapacity: true)
                heldHead = 0
            } else if heldHead >= merge.block {
                held.removeFirst(heldHead)
                heldHead = 0
            }
        }

        /// Adds `bytes` to the result.
        mutating func put(_ bytes: UnsafeRawBufferPointer) throws {
            var at = 0
            while at < bytes.count {
                let piece = min(bytes.count - at, out.count - used)
                (out.baseAddress! + used).copyMemory(from: bytes.baseAddress! + at, byteCount: piece)
                used += piece
                at += piece
                if used == out.count { try flush() }
            }
        }

        /// Writes the result's buffered bytes; in place, after reading every source byte they cover.
        mutating func flush() throws {
            guard used > 0 else { return }
            if merge.inPlace { try readSource(upTo: written + used) }
            try merge.write(UnsafeRawBufferPointer(start: out.baseAddress!, count: used), written)
            written += used
            used = 0
        }
    }
}
