/// Why a codec refused a file: a sentence a person can act on. Codec errors are about the
/// file's content, so retrying the same bytes would fail the same way.
public struct CodecError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}
