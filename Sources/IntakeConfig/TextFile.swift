import IntakeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a configuration file into a string, with errors that name it.
enum TextFile {
    /// The whole file as UTF-8 text; errors name the file and say why it couldn't be read.
    static func read(path: String) throws(ConfigurationError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try WholeFile.read(path)
        } catch {
            let reason = switch (error.operation, error.code) {
            case ("open", ENOENT): "configuration file not found"
            case ("open", _): "can't open configuration file: \(ErrnoText.describe(error.code))"
            default: "can't read configuration file: \(ErrnoText.describe(error.code))"
            }
            throw ConfigurationError(file: path, message: reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(file: path, message: "configuration file is not valid UTF-8")
        }
        return text
    }
}
