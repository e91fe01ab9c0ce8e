public import IntakeClassify
public import IntakeMeter
public import IntakeCore

/// Everything one job does to one file, in order: read → sniff, decode, metadata, classify,
/// derive → read the meter → write the outputs → the external classifier. The daemon's workers
/// and `intake process` both run jobs through it, so a file gets the same stages, the same
/// timings and the same outcome either way; what differs between them (how the file is read,
/// where outputs go, which meter to read) is said in the ``Request``.
///
/// Holds the image processor's TurboJPEG handles and a read buffer: one runner per thread.
public final class JobRunner {
    public let processor: ImageProcessor
    /// Run on every image once its derivative is written (so only when outputs are written).
    public let externalClassifier: ExternalClassifier?
    private let readBuffer = ReadBuffer()

    public init(options: ProcessingOptions, externalClassifier: ExternalClassifier?) throws(IntakeError) {
        processor = try ImageProcessor(options: options)
        self.externalClassifier = externalClassifier
    }

    /// One file to run.
    public struct Request {
        public var path: String
        public var job: JobID
        /// The file's safe name, used in output names.
        public var name: String
        public var environment: String
        /// The date output folders are named by.
        public var date: CalendarDate
        /// The daemon never follows a link dropped in its inbox; a person naming a file on the
        /// command line means what the link points to.
        public var followSymlinks: Bool
        /// Where outputs go; nil computes them without writing (and skips the external classifier).
        public var layout: OutputLayout?
        /// Where each output (by its destination) is written before its rename into place, on the
        /// destination's filesystem; nil writes beside them.
        public var temporaryFolder: (@Sendable (_ destination: String) -> String?)?
        /// The meter to read in the image, when the file shows one.
        public var meter: MeterStep?

        public init(path: String, job: JobID, name: String, environment: String, date: CalendarDate, followSymlinks: Bool,
                    layout: OutputLayout?, temporaryFolder: (@Sendable (_ destination: String) -> String?)? = nil, meter: MeterStep? = nil) {
            self.path = path
            self.job = job
            self.name = name
            self.environment = environment
            self.date = date
            self.followSymlinks = followSymlinks
            self.layout = layout
            self.temporaryFolder = temporaryFolder
            self.meter = meter
        }
    }

    /// Reading a meter in a job's image: whether it needs every pixel (a profiled meter is read
    /// from the full image, not one shrunk on load), and the reading and its verdict.
    public struct MeterStep {
        public var fullResolution: Bool
        public var read: (ProcessedImage) -> MeterReport

        public init(fullResolution: Bool, read: @escaping (ProcessedImage) -> MeterReport) {
            self.fullResolution = fullResolution
            self.read = read
        }
    }

    /// What a job came to. Facts and timings exist whatever happened.
    public struct Run: Sendable {
        public var facts: ImageFacts
        public var clock: StageClock
        /// nil when every stage succeeded.
        public var error: IntakeError?
        public var outputs: JobOutputs?
        /// The built-in labels, then the external classifier's.
        public var labels: [Label] = []
        public var meter: MeterReport?

        /// A job refused before its file was read.
        public init(refused error: IntakeError) {
            facts = ImageFacts(bytes: 0)
            clock = StageClock()
            self.error = error
        }

        init(facts: ImageFacts, clock: StageClock) {
            self.facts = facts
            self.clock = clock
        }
    }

    public func run(_ request: Request) -> Run {
        let outcome: ProcessingOutcome
        do {
            let bytes = try ImageFile.read(
                path: request.path, maxBytes: processor.options.maxBytes, followSymlinks: request.followSymlinks, into: readBuffer)
            outcome = processor.process(bytes, fullResolution: request.meter?.fullResolution == true ? true : nil)
        } catch {
            return Run(refused: error)
        }
        defer { readBuffer.trim() }
        var run = Run(facts: outcome.facts, clock: outcome.clock)
        let image: ProcessedImage
        switch outcome.result {
        case .success(let processed): image = processed
        case .failure(let error):
            run.error = error
            return run
        }
        run.labels = image.labels
        if let meter = request.meter { run.meter = run.clock.measure(.meter) { meter.read(image) } }
        guard let layout = request.layout else { return run }
        do {
            run.outputs = try run.clock.measure(.commit) { () throws(IntakeError) in
                try OutputWriter.write(
                    image, job: request.job, name: request.name, environment: request.environment, date: request.date,
                    layout: layout, size: processor.options.derivativeSize, temporaryFolder: { request.temporaryFolder?($0) ?? nil })
            }
        } catch {
            run.error = error
            return run
        }
        if let externalClassifier, let derivative = run.outputs?.derivative {
            // Never fails the job: a classifier that crashes, hangs or talks nonsense is noted.
            let size = image.uprightSize
            let found = run.clock.measure(.classify) {
                externalClassifier.classify(originalPath: request.path, derivativePath: derivative, uprightSize: size)
            }
            switch found {
            case .success(let labels):
                let checked = ExternalClassifier.checkingBoxes(labels, width: size.width, height: size.height)
                run.labels += checked.labels
                run.facts.warnings += checked.problems
            case .failure(let error): run.facts.warnings.append("\(error)")
            }
        }
        return run
    }
}
