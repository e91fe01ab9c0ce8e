#if canImport(Glibc)
import Glibc
#endif

/// Whole small files (profiles, marks, weights, labels) read with the C library, so the module
/// needs no Foundation.
package enum FileBytes {
    /// The whole file, or nil with `errno` set.
    package static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            bytes.append(contentsOf: buffer[0..<count])
            guard count == buffer.count else { break }
        }
        // A directory opens and then fails here, with EISDIR.
        return ferror(file) != 0 ? nil : bytes
    }
}
