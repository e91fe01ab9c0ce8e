/// The steps a job passes through, in order; a failure names the one it happened in.
public enum Stage: String, Sendable, Codable, CaseIterable {
    case claim, sniff, decode, metadata, orient, classify, meter, derive, commit
    /// Start-up recovery, when it sets aside a file that kept stopping the daemon.
    case recover
}

/// A job's failure: the stage, a reason a person can act on, and whether trying again could help.
public struct IntakeError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// The file itself is the problem (not an image, corrupt, over a limit): retrying is pointless.
        case permanent
        /// The machine is the problem (I/O, a busy database): a later attempt may succeed.
        case transient
        /// The state root cannot take the job's writes now: the disk is full or read-only, a folder
        /// is unwritable or was replaced by a file. The file is not at fault and no attempt is spent:
        /// the job waits, without limit, until the folders take writes again, and is never
        /// dead-lettered for it.
        case blocked
    }

    public let stage: Stage
    public let kind: Kind
    public let reason: String

    public init(_ stage: Stage, _ kind: Kind, _ reason: String) {
        self.stage = stage
        self.kind = kind
        self.reason = reason
    }

    public static func permanent(_ stage: Stage, _ reason: String) -> IntakeError { .init(stage, .permanent, reason) }
    public static func transient(_ stage: Stage, _ reason: String) -> IntakeError { .init(stage, .transient, reason) }
    public static func blocked(_ stage: Stage, _ reason: String) -> IntakeError { .init(stage, .blocked, reason) }

    public var description: String { "\(stage): \(reason)" }
}
