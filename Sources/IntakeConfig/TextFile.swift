import IntakeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a configuration file into a string with the C library, so this module needs no Foundation.
enum TextFile {
    /// The whole file as UTF-8 text; errors name the file and say why it couldn't be read.
    static func read(path: String) throws(ConfigurationError) -> String {
        guard let file = fopen(path, "rb") else {
            let code = errno
            let reason = code == ENOENT ? "configuration file not found" : "can't open configuration file: \(describe(errno: code))"
            throw ConfigurationError(file: path, message: reason)
        }
        defer { fclose(file) }

        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            bytes.append(contentsOf: buffer[0..<count])
            guard count == buffer.count else { break }
        }
        // Reading a directory opens fine and fails here, with EISDIR.
        if ferror(file) != 0 {
            throw ConfigurationError(file: path, message: "can't read configuration file: \(describe(errno: errno))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(file: path, message: "configuration file is not valid UTF-8")
        }
        return text
    }

    private static func describe(errno code: Int32) -> String {
        ErrnoText.describe(code)
    }
}
