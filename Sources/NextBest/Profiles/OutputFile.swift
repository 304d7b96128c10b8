// OutputFile: the one writer for output files — a regular file is written beside and renamed whole; devices, pipes and /dev/std* are written in place.
import Foundation

/// An output that appears whole or not at all, where that is possible.
///
/// A regular file (or a name not yet taken) is written to a hidden file beside it
/// (`.name.PID.tmp`) and renamed over the name by ``commit()``; ``discard()`` removes it, so a
/// failed run leaves the old file as it was. A symbolic link to a regular file keeps its link:
/// the file it points to is the one replaced. Anything else is written directly and never
/// renamed over: standard output (`path == nil`), `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
/// `/proc/self/fd/N`, a character or block device such as `/dev/null`, a FIFO, and whatever a
/// link points to that is not a regular file.
package final class OutputFile {
    /// The name as given, or `nil` for standard output.
    package let path: String?
    /// Whether bytes go straight to their destination instead of a file renamed at the end.
    package let isDirect: Bool
    /// Where the bytes go now (the temporary file, the device, or standard output).
    package let fd: Int32
    /// The temporary file and the name it is renamed to, for a regular file.
    private let temp: String?, final: String?
    /// Whether `fd` is ours to close (not standard output itself).
    private let ownsDescriptor: Bool
    private var isOpen = true

    /// The destination's name in messages.
    private var name: String { path ?? "standard output" }

    /// Opens `path` for writing (`nil`: standard output).
    package init(path: String?) throws(OutputError) {
        self.path = path
        guard let path else {
            (fd, temp, final, ownsDescriptor, isDirect) = (1, nil, nil, false, true)
            return
        }
        if let number = OutputFile.descriptorNumber(path) {
            let copy = dup(number)
            if copy < 0 { throw OutputError(writing: path, errno) }
            (fd, temp, final, ownsDescriptor, isDirect) = (copy, nil, nil, true, true)
            return
        }
        var st = stat()
        let exists = stat(path, &st) == 0
        let kind = st.st_mode & S_IFMT
        if exists && kind == S_IFDIR { throw OutputError(message: "\(path) is a folder, not a file") }
        if exists && kind != S_IFREG {
            // A device, a FIFO, a socket: write in place; renaming over it would replace it.
            let direct = open(path, O_WRONLY | O_CLOEXEC)
            if direct < 0 { throw OutputError(writing: path, errno) }
            (fd, temp, final, ownsDescriptor, isDirect) = (direct, nil, nil, true, true)
            return
        }
        // A regular file or a new name. Through a link, the file it points to is replaced.
        var target = path
        var link = stat()
        if exists && lstat(path, &link) == 0 && link.st_mode & S_IFMT == S_IFLNK, let real = realpath(path, nil) {
            target = String(cString: real)
            free(real)
        }
        let slash = target.lastIndex(of: "/")
        let folder = slash.map { String(target[...$0]) } ?? ""
        let base = slash.map { String(target[target.index(after: $0)...]) } ?? target
        let temp = "\(folder).\(base).\(getpid()).tmp"
        unlink(temp)  // left by an earlier process with the same id
        let opened = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if opened < 0 { throw OutputError(writing: path, errno) }
        if exists { fchmod(opened, st.st_mode & 0o7777) }  // the replaced file's permissions
        (fd, self.temp, final, ownsDescriptor, isDirect) = (opened, temp, target, true, false)
    }

    deinit { if isOpen { discard() } }

    /// Writes all of `bytes`.
    package func write(_ bytes: UnsafeRawBufferPointer) throws(OutputError) {
        try writeAll(fd, bytes, to: name)
    }

    /// Finishes the output: a regular file is flushed to disk and renamed into place.
    package func commit() throws(OutputError) {
        guard isOpen else { return }
        isOpen = false
        guard let temp, let final else {
            if ownsDescriptor { close(fd) }
            return
        }
        let synced = fsync(fd) == 0 ? 0 : errno
        close(fd)
        if synced != 0 {
            unlink(temp)
            throw OutputError(writing: name, synced)
        }
        if rename(temp, final) != 0 {
            let code = errno
            unlink(temp)
            throw OutputError(message: "cannot put the finished file in place at \(name): \(String(cString: strerror(code)))")
        }
    }

    /// Gives up: a regular file's temporary file is removed and the old file stays as it was.
    package func discard() {
        guard isOpen else { return }
        isOpen = false
        if ownsDescriptor { close(fd) }
        if let temp { unlink(temp) }
    }

    /// The descriptor a `/dev/stdout`-like name stands for, or `nil` for any other name.
    static func descriptorNumber(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdin": return 0
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
                return Int32(path.dropFirst(prefix.count))
            }
            return nil
        }
    }
}

/// Writes all of `bytes` to `fd` (the one write loop for outputs); `name` is for the message.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, to name: String = "the output") throws(OutputError) {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw OutputError(writing: name, errno)
        }
        offset += n
    }
}

/// An output could not be written; the message names the file and the system's reason.
package struct OutputError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for a person.
    package var message: String
    /// The message.
    package var description: String { message }

    /// An error saying `message`.
    package init(message: String) { self.message = message }

    /// "cannot write NAME: " and the system's words for `code` (an `errno` value).
    init(writing name: String, _ code: Int32) {
        message = "cannot write \(name): \(String(cString: strerror(code)))"
    }
}
