/// Why an external classifier gave no labels, in words a person can act on.
public struct ExternalClassifierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Problem: Sendable, Equatable {
        /// The program could not be started: not found, not executable, no command configured.
        case couldNotStart(String)
        /// It ran longer than its timeout and was killed with its process group.
        case timedOut(seconds: Double)
        /// It exited with a status other than 0; the end of its standard error.
        case exited(status: Int32, standardError: String)
        /// A signal ended it; the end of its standard error.
        case killed(signal: Int32, standardError: String)
        /// It wrote more than the answer limit to standard output, and was killed.
        case answerTooLarge(limit: Int)
        /// What it answered is not JSON or not a list of labels; the reason says which part.
        case invalidAnswer(String)
    }

    /// The classifier's configured name.
    public var classifier: String
    /// What went wrong.
    public var problem: Problem

    /// Creates an error from its parts.
    public init(classifier: String, problem: Problem) {
        self.classifier = classifier
        self.problem = problem
    }

    /// `classifier "yolo" timed out after 5 s`, `classifier "yolo" exited with status 3: <stderr>`…
    public var description: String {
        let subject = "classifier \"\(classifier)\""
        switch problem {
        case .couldNotStart(let reason):
            return "\(subject) could not start: \(reason)"
        case .timedOut(let seconds):
            return "\(subject) timed out after \(Self.format(seconds)) s"
        case .exited(let status, let standardError):
            return "\(subject) exited with status \(status)" + (standardError.isEmpty ? " and said nothing on standard error" : ": \(standardError)")
        case .killed(let signal, let standardError):
            return "\(subject) was killed by signal \(signal)" + (standardError.isEmpty ? "" : ": \(standardError)")
        case .answerTooLarge(let limit):
            return "\(subject) answered more than \(limit / 1024) KiB on standard output; a list of labels is far smaller"
        case .invalidAnswer(let reason):
            return "\(subject) \(reason)"
        }
    }

    /// `5` for 5.0, `0.5` for 0.5.
    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
    }
}
