import IntakeCore

/// A classifier program the operator configures, run once per image: it is given the original
/// and the derivative and answers labels as JSON on its standard output.
///
/// The program is `command[0]`, found on `PATH` when it has no slash, run with the rest of
/// `command` followed by the two paths; standard input is `/dev/null`. It runs in a process group
/// of its own, so that on a timeout it and everything it started are killed together. Its answer
/// is either `{"labels": [...]}` or a bare array `[...]` of
/// `{"name": "cat", "confidence": 0.93, "box": [x, y, width, height]}`, the box optional and also
/// accepted as `{"x": …, "y": …, "width": …, "height": …}`, in pixels of the upright original
/// (as intake's own boxes are), whose size the program finds in `INTAKE_IMAGE_WIDTH` and
/// `INTAKE_IMAGE_HEIGHT`; other keys are ignored.
///
/// Calls share nothing, so workers may classify on several threads at once. The daemon must not
/// reap children it did not start (`waitpid(-1, …)`), or it would take this one's exit status.
public struct ExternalClassifier: Sendable {
    /// The program and its leading arguments.
    public var command: [String]
    /// What the labels give as their source, and what error messages call the classifier.
    public var name: String
    /// How long one run may take before it is killed.
    public var timeoutSeconds: Double

    /// The most of standard output read: a label list is a few kilobytes.
    public static let answerLimit = 1 << 20
    /// The end of standard error that is kept for error messages.
    public static let standardErrorLimit = 4 << 10

    /// Creates a classifier that runs `command`.
    public init(command: [String], name: String = "external", timeoutSeconds: Double = 10) {
        self.command = command
        self.name = name
        self.timeoutSeconds = timeoutSeconds
    }

    /// Runs the program on one image and returns its labels, each with ``name`` as its source, or
    /// why there are none: a program that cannot start, fails, hangs or answers nonsense is a
    /// failure, never a crash or a throw.
    /// `uprightSize` is the original's size turned upright, told to the program in its environment.
    public func classify(originalPath: String, derivativePath: String, uprightSize: (width: Int, height: Int)? = nil)
        -> Result<[Label], ExternalClassifierError>
    {
        func failure(_ problem: ExternalClassifierError.Problem) -> Result<[Label], ExternalClassifierError> {
            .failure(ExternalClassifierError(classifier: name, problem: problem))
        }
        guard let program = command.first, !program.isEmpty else {
            return failure(.couldNotStart("no command is configured"))
        }
        let run: ChildRun
        switch ChildRun.run(
            program: program, arguments: Array(command.dropFirst()) + [originalPath, derivativePath],
            environment: uprightSize.map { ["INTAKE_IMAGE_WIDTH": String($0.width), "INTAKE_IMAGE_HEIGHT": String($0.height)] } ?? [:],
            timeoutSeconds: timeoutSeconds, outputLimit: Self.answerLimit, errorLimit: Self.standardErrorLimit)
        {
        case .success(let finished): run = finished
        case .failure(let spawn): return failure(.couldNotStart(spawn.reason))
        }
        let standardError = Self.readable(run.standardErrorTail)
        switch run.ending {
        case .timedOut:
            return failure(.timedOut(seconds: timeoutSeconds))
        case .outputTooLarge:
            return failure(.answerTooLarge(limit: Self.answerLimit))
        case .signalled(let signal):
            return failure(.killed(signal: signal, standardError: standardError))
        case .exited(let status) where status != 0:
            return failure(.exited(status: status, standardError: standardError))
        case .exited:
            return ClassifierAnswer.labels(from: run.standardOutput, source: name).mapError {
                ExternalClassifierError(classifier: name, problem: .invalidAnswer($0.reason))
            }
        }
    }

    /// The labels with every box that lies outside a `width` × `height` image (by more than the
    /// pixel rounding may put it) taken off, and what was wrong with each: the label itself is
    /// kept, as its name and confidence still say something, but a box that cannot be drawn on
    /// the image (given in another space: the derivative's, a model's input, fractions) would
    /// send a reader of the API to the wrong place.
    public static func checkingBoxes(_ labels: [Label], width: Int, height: Int) -> (labels: [Label], problems: [String]) {
        var checked: [Label] = []
        var problems: [String] = []
        let slack = 1.0
        for var label in labels {
            if let box = label.box, !(box.x >= -slack && box.y >= -slack
                && box.x + box.width <= Double(width) + slack && box.y + box.height <= Double(height) + slack) {
                problems.append("\(label.source)'s label \(label.name) has a box [\(box.x), \(box.y), \(box.width), \(box.height)] "
                    + "outside the \(width)×\(height) image (boxes are in pixels of the upright original); the box is dropped")
                label.box = nil
            }
            checked.append(label)
        }
        return (checked, problems)
    }

    /// The last line or so of standard error, as text that is safe to put in a log line.
    static func readable(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return Self.escapingControls(text)
    }

    /// Control characters (newlines included) written as `\n`, `\u{1B}`…, so a message stays one line.
    static func escapingControls(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                escaped += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
