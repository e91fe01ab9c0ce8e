import IntakeCore

/// Why ``MetricsFile/write(_:to:)`` failed: the file, the step and the system's reason.
public struct MetricsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file that was being written or renamed (the temporary one for open, write and fsync).
    public let path: String
    /// The step that failed: `open`, `write`, `fsync` or `rename`.
    public let operation: String
    /// The `errno` value.
    public let code: Int32
    /// `strerror` of ``code``.
    public let message: String

    /// Creates an error; `message` defaults to the system's text for `code`.
    public init(path: String, operation: String, code: Int32, message: String? = nil) {
        self.path = path
        self.operation = operation
        self.code = code
        self.message = message ?? ErrnoText.describe(code)
    }

    /// `cannot <operation> <path>: <strerror>`.
    public var description: String { "cannot \(operation) \(path): \(message)" }
}
