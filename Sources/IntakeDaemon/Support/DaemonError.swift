/// A reason the daemon cannot start or go on: a sentence for the log and the exit status.
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
