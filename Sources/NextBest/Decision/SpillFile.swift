// Capacity across customers (policy-language.md §8.4): the temporary files a run with capacity keeps its plans and records in.
import Foundation

/// A temporary file bytes are appended to and read back from. It is unlinked as soon as it is
/// open, so it goes away with the process whatever happens. Appends are gathered in a buffer of
/// 1 MiB and written whole: many short lines cost one system call, not one each.
final class SpillFile {
    private let fd: Int32
    /// Bytes appended so far (written or still in the buffer).
    private(set) var size = 0
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private var buffered = 0

    /// A new spill file in `directory`.
    init(directory: String) throws(ProfileReadError) {
        let path = directory + "/nextbest-capacity-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).spill"
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            buffer.deallocate()
            throw ProfileReadError(message: "cannot write the temporary file \(path) that a run with capacity needs: \(String(cString: strerror(errno))) (set TMPDIR to a folder with room)")
        }
        unlink(path)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// Appends `bytes`.
    func append(_ bytes: UnsafeRawBufferPointer) throws(ProfileReadError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if buffered + bytes.count > buffer.count { try flush() }
        if bytes.count >= buffer.count {
            try write(base, bytes.count)
        } else {
            (buffer.baseAddress! + buffered).copyMemory(from: base, byteCount: bytes.count)
            buffered += bytes.count
        }
        size += bytes.count
    }

    /// Writes what the buffer holds.
    func flush() throws(ProfileReadError) {
        guard buffered > 0 else { return }
        try write(buffer.baseAddress!, buffered)
        buffered = 0
    }

    private func write(_ bytes: UnsafeRawPointer, _ count: Int) throws(ProfileReadError) {
        do { try writeAll(fd, UnsafeRawBufferPointer(start: bytes, count: count), to: "the temporary file of a run with capacity") } catch {
            throw ProfileReadError(message: error.message)
        }
    }

    /// Reads up to `count` bytes at `offset` into `into`; returns how many (0 at the end).
    func read(into: UnsafeMutableRawPointer, count: Int, offset: Int) throws(ProfileReadError) -> Int {
        try flush()
        return try readWritten(into: into, count: count, offset: offset)
    }

    /// `read` of bytes already written out: it leaves the buffer alone, so another thread may
    /// use it while this one appends.
    private func readWritten(into: UnsafeMutableRawPointer, count: Int, offset: Int) throws(ProfileReadError) -> Int {
        let n = preadRetrying(fd, into, count, offset)
        guard n >= 0 else { throw ProfileReadError(message: "cannot read back the temporary file of a run with capacity: \(String(cString: strerror(errno)))") }
        return n
    }

    /// A reader of the bytes appended so far (written out first). It may be used on another
    /// thread while this one goes on appending.
    func reader() throws(ProfileReadError) -> WindowReader {
        try flush()
        return WindowReader(size: size) { [self] buffer, count, offset in try readWritten(into: buffer, count: count, offset: offset) }
    }
}

/// Reads stretches of a file back, a window of at least 1 MiB at a time: cheap when the
/// stretches asked for come in the order they were written.
final class WindowReader {
    /// How many bytes there are to read.
    let size: Int
    private let read: (UnsafeMutableRawPointer, Int, Int) throws -> Int
    private var window = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private var start = 0, count = 0

    /// A reader of `size` bytes through `read(buffer, count, offset)`, which returns how many it read.
    init(size: Int, read: @escaping (UnsafeMutableRawPointer, Int, Int) throws -> Int) {
        self.size = size
        self.read = read
    }

    deinit { window.deallocate() }

    /// The `count` bytes at `offset`, valid until the next call.
    func bytes(offset: Int, count wanted: Int) throws(ProfileReadError) -> UnsafeRawBufferPointer {
        if offset < start || offset + wanted > start + count {
            if wanted > window.count {
                window.deallocate()
                window = .allocate(byteCount: wanted, alignment: 16)
            }
            count = min(window.count, size - offset)
            guard count >= wanted else { throw ProfileReadError(message: "the temporary file of a run with capacity ended early") }
            start = offset
            var done = 0
            while done < count {
                let n: Int
                do { n = try read(window.baseAddress! + done, count - done, offset + done) } catch {
                    throw ProfileReadError(message: "\(error)")
                }
                guard n > 0 else { throw ProfileReadError(message: "the temporary file of a run with capacity ended early") }
                done += n
            }
        }
        return UnsafeRawBufferPointer(start: window.baseAddress! + (offset - start), count: wanted)
    }
}

/// `pread` of up to `count` bytes at `offset`, again when a signal interrupts it: how many
/// (0 at the end), or -1 with `errno` set. The one read loop of the capacity run's files.
func preadRetrying(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int) -> Int {
    while true {
        let n = pread(fd, buffer, count, off_t(offset))
        if n < 0 && errno == EINTR { continue }
        return n
    }
}

/// A regular input file opened again for reading records back by their offset.
final class InputFile {
    private let fd: Int32
    /// A reader of the whole file.
    let reader: WindowReader

    /// `nil` when `path` is not a regular file or cannot be opened.
    init?(path: String) {
        var st = stat()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            return nil
        }
        self.fd = fd
        reader = WindowReader(size: Int(st.st_size)) { buffer, count, offset in
            let n = preadRetrying(fd, buffer, count, offset)
            guard n >= 0 else { throw ProfileReadError(message: "cannot read the profiles again: \(String(cString: strerror(errno)))") }
            return n
        }
    }

    deinit { close(fd) }
}
