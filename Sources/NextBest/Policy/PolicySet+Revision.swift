// The revision of a policy set: a hash of its policy files' names and contents.

extension PolicySet {
    /// The set's revision: the first 16 hex digits of a SHA-256 over each policy file's path
    /// relative to the set's folder and its text (test files are left out: they change no
    /// decision). The same files give the same revision on any machine and in any folder.
    public var revision: String {
        var input: [UInt8] = []
        for file in files where !file.isTest {
            input.append(contentsOf: file.relativePath.utf8)
            input.append(0)
            input.append(contentsOf: String(file.text.utf8.count).utf8)
            input.append(0)
            input.append(contentsOf: file.text.utf8)
        }
        let digest = SHA256.hash(input)
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest.prefix(8) {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
