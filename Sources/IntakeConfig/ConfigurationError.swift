/// Why a configuration was rejected: the file, the line and key to blame when there is one, and what is wrong.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file as named to the reader (path given to `load`, or `fileName` given to `parse`).
    public var file: String
    /// 1-based line; nil when the problem is the file as a whole (missing, unreadable).
    public var line: Int?
    /// 1-based column; set only for syntax errors.
    public var column: Int?
    /// Full dotted key, e.g. `limits.max_pixels`; nil when no single key is to blame.
    public var key: String?
    /// What is wrong; it quotes the key when there is one.
    public var message: String

    /// Creates an error from its parts.
    public init(file: String, line: Int? = nil, column: Int? = nil, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    /// Wraps a syntax error so callers deal with one error type.
    init(_ error: TOMLError) {
        self.init(file: error.fileName, line: error.line, column: error.column, message: error.message)
    }

    /// `file:line: message`, the layout editors and terminals recognise.
    public var description: String {
        switch (line, column) {
        case (let line?, let column?): "\(file):\(line):\(column): \(message)"
        case (let line?, nil): "\(file):\(line): \(message)"
        case (nil, _): "\(file): \(message)"
        }
    }
}
