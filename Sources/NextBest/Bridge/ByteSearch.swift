// Byte search through the bridge: glibc's memmem, which Swift's Glibc module does not show.
import CNextBestBridge

extension UnsafeRawBufferPointer {
    /// Whether `needle` occurs in these bytes.
    func contains(bytes needle: [UInt8]) -> Bool {
        guard let base = baseAddress, !needle.isEmpty else { return needle.isEmpty }
        return needle.withUnsafeBytes { nb_contains(base, count, $0.baseAddress!, needle.count) != 0 }
    }
}
