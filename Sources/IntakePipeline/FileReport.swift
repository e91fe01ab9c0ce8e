/// One file's result as `intake process --json` prints it: the facts at top level, then the
/// outcome, per-stage milliseconds and the outputs written.
public import IntakeClassify
public import IntakeMeter
public import IntakeCore

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

    public init(file: String, job: JobID, run: JobRunner.Run) {
        self.file = file
        self.job = job
        facts = run.facts
        stagesMilliseconds = Dictionary(
            run.clock.milliseconds.map { ($0.stage.rawValue, ($0.ms * 1000).rounded() / 1000) }, uniquingKeysWith: +)
        status = .ok
        labels = run.labels
        meter = run.meter
        outputs = run.outputs.map { written in
            Outputs(derivative: written.derivative, rotations: Dictionary(uniqueKeysWithValues: written.rotations.map { (String($0.key), $0.value) }))
        }
        if let error = run.error { fail(error) }
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

/// `intake process`: the pipeline on files named on the command line, no daemon, no database,
/// through the same ``JobRunner`` as the daemon's workers.
public struct OneShotProcessor {
    private let runner: JobRunner
    /// Where outputs go, in the state-root layout; nil computes them without writing.
    public let layout: OutputLayout?
    public let environment: String
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
        runner = try JobRunner(options: options, externalClassifier: externalClassifier)
        self.meter = meter
        layout = outputRoot.map(OutputLayout.init(root:))
        self.environment = environment
    }

    public var processor: ImageProcessor { runner.processor }

    public func process(path: String) -> FileReport {
        let job = JobID.make()
        let name = SafeName.fitted(SafeName.from(PathText.lastComponent(path)))
        let meterStep = meter.map { meter in
            JobRunner.MeterStep(fullResolution: meter.station.hasProfile(meter.id)) { image in
                MeterReport(
                    meter: meter.id, read: meter.station.read(meter: meter.id, photo: image.upright),
                    capturedAt: CaptureTime.of(image.facts, path: path), claimed: nil, manual: meter.manual, history: meter.history)
            }
        }
        let run = runner.run(JobRunner.Request(
            path: path, job: job, name: name, environment: environment, date: .today, followSymlinks: true, layout: layout,
            meter: meterStep))
        return FileReport(file: path, job: job, run: run)
    }

    /// Makes every output written so far durable: one filesystem sync for the whole run.
    public func finish() throws(IntakeError) {
        guard let layout else { return }
        try DurableFile.sync(filesystemOf: layout.root, alsoOf: StateRoot(path: layout.root).outputTrees)
    }
}
