/// One file's result as `intake process --json` prints it: the facts at top level, then the
/// outcome, per-stage milliseconds and the outputs written.
public import IntakeClassify
public import IntakeMeter

public struct FileReport: Encodable, Sendable {
    public enum Status: String, Encodable, Sendable {
        case ok
        /// The file is the problem: not an image, corrupt, over a limit.
        case refused
        /// The machine is the problem: an output could not be written, say.
        case error
    }

    public var file: String
    public var job: JobID
    public var status: Status
    public var facts: ImageFacts
    public var stage: Stage?
    public var reason: String?
    public var stagesMilliseconds: [String: Double]
    public var outputs: Outputs?
    /// What was recognised: the built-in labels, then the external classifier's.
    public var labels: [Label] = []
    /// The meter read in the image and the verdict, when a meter was named.
    public var meter: MeterReport?

    public struct Outputs: Encodable, Sendable {
        public var derivative: String
        /// Counter-clockwise angle ("90") → path.
        public var rotations: [String: String]
    }

    enum CodingKeys: String, CodingKey {
        case file, job, status, stage, reason, outputs, labels, meter
        case stagesMilliseconds = "stages_ms"
    }

    public init(file: String, job: JobID, outcome: ProcessingOutcome) {
        self.file = file
        self.job = job
        facts = outcome.facts
        stagesMilliseconds = Dictionary(
            outcome.clock.milliseconds.map { ($0.stage.rawValue, ($0.ms * 1000).rounded() / 1000) }, uniquingKeysWith: +)
        status = .ok
        switch outcome.result {
        case .success(let image): labels = image.labels
        case .failure(let error): fail(error)
        }
    }

    public mutating func fail(_ error: IntakeError) {
        status = error.kind == .permanent ? .refused : .error
        stage = error.stage
        reason = error.reason
        outputs = nil
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(job, forKey: .job)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(stage, forKey: .stage)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encode(stagesMilliseconds, forKey: .stagesMilliseconds)
        try container.encodeIfPresent(outputs, forKey: .outputs)
        if status == .ok { try container.encode(labels, forKey: .labels) }
        try container.encodeIfPresent(meter, forKey: .meter)
        try facts.encode(to: encoder)
    }
}

/// `intake process`: the pipeline on files named on the command line, no daemon, no database.
public struct OneShotProcessor {
    public let processor: ImageProcessor
    /// One buffer for every file read, as a daemon worker keeps one.
    private let readBuffer = ReadBuffer()
    /// Where outputs go, in the state-root layout; nil computes them without writing.
    public let layout: OutputLayout?
    public let environment: String
    /// Run on every image once its derivative is written (so only with an output folder).
    public let externalClassifier: ExternalClassifier?
    /// Reads this meter in every image, when one is named.
    public let meter: MeterRequest?

    /// A meter to read in every file, and what its readings are judged against.
    public struct MeterRequest: Sendable {
        public let id: String
        public let station: MeterStation
        public let manual: [ManualReading]
        public let history: [AcceptedReading]

        public init(id: String, station: MeterStation, manual: [ManualReading], history: [AcceptedReading]) {
            self.id = id
            self.station = station
            self.manual = manual
            self.history = history
        }
    }

    public init(options: ProcessingOptions, outputRoot: String?, environment: String,
                externalClassifier: ExternalClassifier? = nil, meter: MeterRequest? = nil) throws(IntakeError) {
        var options = options
        // A profiled meter is read from every pixel, not from an image shrunk on load.
        if let meter, meter.station.hasProfile(meter.id) { options.fullResolution = true }
        processor = try ImageProcessor(options: options)
        self.meter = meter
        layout = outputRoot.map(OutputLayout.init(root:))
        self.environment = environment
        self.externalClassifier = externalClassifier
    }

    public func process(path: String) -> FileReport {
        let job = JobID.make()
        let name = SafeName.from(String(path.split(separator: "/").last ?? Substring(path)))
        let outcome: ProcessingOutcome
        do {
            let bytes = try ImageFile.read(path: path, maxBytes: processor.options.maxBytes, followSymlinks: true, into: readBuffer)
            outcome = processor.process(bytes)
            readBuffer.trim()
        } catch {
            let refused = ProcessingOutcome(facts: ImageFacts(bytes: 0), clock: StageClock(), result: .failure(error))
            return FileReport(file: path, job: job, outcome: refused)
        }
        var report = FileReport(file: path, job: job, outcome: outcome)
        if case .success(let image) = outcome.result, let meter {
            let read = meter.station.read(meter: meter.id, photo: image.upright)
            report.meter = MeterReport(
                meter: meter.id, read: read, capturedAt: CaptureTime.of(outcome.facts, path: path), claimed: nil,
                manual: meter.manual, history: meter.history)
        }
        guard case .success(let image) = outcome.result, let layout else { return report }
        do {
            report.outputs = try write(image, job: job, name: name, layout: layout)
        } catch {
            report.fail(error)
            return report
        }
        if let externalClassifier, let derivative = report.outputs?.derivative {
            let start = StageClock.now()
            switch externalClassifier.classify(originalPath: path, derivativePath: derivative) {
            case .success(let labels): report.labels += labels
            case .failure(let error): report.facts.warnings.append("\(error)")
            }
            report.stagesMilliseconds["classify", default: 0] += (StageClock.now() - start) * 1000
        }
        return report
    }

    private func write(_ image: ProcessedImage, job: JobID, name: String, layout: OutputLayout) throws(IntakeError) -> FileReport.Outputs {
        let outputs = try OutputWriter.write(
            image, job: job, name: name, environment: environment, date: .today, layout: layout,
            size: processor.options.derivativeSize)
        return FileReport.Outputs(
            derivative: outputs.derivative,
            rotations: Dictionary(uniqueKeysWithValues: outputs.rotations.map { (String($0.key), $0.value) }))
    }

    /// Makes every output written so far durable: one filesystem sync for the whole run.
    public func finish() throws(IntakeError) {
        guard let layout else { return }
        try DurableFile.sync(filesystemOf: layout.root)
    }
}
