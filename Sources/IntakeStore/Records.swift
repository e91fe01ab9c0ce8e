/// Where a job is in its life.
public enum JobStatus: String, Sendable, CaseIterable {
    /// Waiting for a worker (first run or another try).
    case queued
    /// A worker is running it.
    case processing
    /// Filed under processed/ with its outputs.
    case done
    /// Filed under failed/ with the reason.
    case failed
}

/// Whether trying a failed job again could help.
public enum ErrorKind: String, Sendable, CaseIterable {
    /// The file itself is the problem: retrying is pointless.
    case permanent
    /// The machine was the problem: a later attempt may succeed.
    case transient
}

/// How one attempt at a job ended.
public enum AttemptOutcome: String, Sendable, CaseIterable {
    /// Succeeded; the job is done.
    case done
    /// Failed for good; the job is failed.
    case failed
    /// Failed transiently; the job went back to the queue.
    case retry
    /// Cut short by a crash or a kill; the job will run again.
    case interrupted
    /// Not a run: an operator sent the finished job back through (`intake retry`).
    case requeued
}

/// A job to record when a file is claimed from an inbox.
public struct NewJob: Sendable, Equatable {
    /// 16-character job id (14 when made by earlier versions); sorts by creation time.
    public var id: String
    /// Inbox it came from: prod, beta…
    public var environment: String
    /// File name as kept (the safe form).
    public var name: String
    /// Path relative to the inbox root, e.g. `prod/MTR-1/x.jpg`.
    public var sourcePath: String
    /// Inbox subfolder naming the meter, if any.
    public var meter: String?
    /// Where the claimed file waits until a worker takes it.
    public var spoolPath: String
    /// Unix milliseconds.
    public var createdAt: Int64
    /// The host whose intaked claimed it.
    public var host: String?

    /// Creates a value from its fields.
    public init(id: String, environment: String, name: String, sourcePath: String, meter: String? = nil, spoolPath: String, createdAt: Int64,
                host: String? = nil) {
        self.host = host
        self.id = id
        self.environment = environment
        self.name = name
        self.sourcePath = sourcePath
        self.meter = meter
        self.spoolPath = spoolPath
        self.createdAt = createdAt
    }
}

/// One row of `jobs`; times in Unix milliseconds.
public struct JobRow: Sendable, Equatable {
    /// 16-character job id (14 when made by earlier versions); sorts by creation time.
    public var id: String
    /// Inbox it came from: prod, beta…
    public var environment: String
    /// File name as kept (the safe form).
    public var name: String
    /// Path relative to the inbox root, e.g. `prod/MTR-1/x.jpg`.
    public var sourcePath: String
    /// Inbox subfolder naming the meter, if any.
    public var meter: String?
    public var status: JobStatus
    /// The stage that failed, or that last ran.
    public var stage: String?
    /// Why it failed, for a person to act on.
    public var error: String?
    /// Whether retrying could help.
    public var errorKind: ErrorKind?
    /// Number of the latest attempt; 0 before the first.
    public var attempts: Int
    /// SHA-256 of the original, lowercase hex.
    public var sha256: String?
    /// Size of the original.
    public var bytes: Int64?
    /// The earlier finished job with the same SHA-256, if any.
    public var duplicateOf: String?
    /// Where the claimed file waits while queued.
    public var spoolPath: String?
    /// Where the original was filed: `processed/…` or `failed/…`.
    public var finalPath: String?
    /// When the file was claimed.
    public var createdAt: Int64
    /// When the row last changed.
    public var updatedAt: Int64
    /// When it was done or failed.
    public var finishedAt: Int64?
    /// The host whose intaked claimed it; nil for jobs recorded before hosts were.
    public var host: String?

    /// Creates a value from its fields.
    public init(
        id: String, environment: String, name: String, sourcePath: String, meter: String? = nil,
        status: JobStatus, stage: String? = nil, error: String? = nil, errorKind: ErrorKind? = nil,
        attempts: Int = 0, sha256: String? = nil, bytes: Int64? = nil, duplicateOf: String? = nil,
        spoolPath: String? = nil, finalPath: String? = nil,
        createdAt: Int64, updatedAt: Int64, finishedAt: Int64? = nil, host: String? = nil
    ) {
        self.host = host
        self.id = id
        self.environment = environment
        self.name = name
        self.sourcePath = sourcePath
        self.meter = meter
        self.status = status
        self.stage = stage
        self.error = error
        self.errorKind = errorKind
        self.attempts = attempts
        self.sha256 = sha256
        self.bytes = bytes
        self.duplicateOf = duplicateOf
        self.spoolPath = spoolPath
        self.finalPath = finalPath
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
    }
}

/// Everything a finished attempt produced, recorded by ``Database/complete(_:)`` in one go.
public struct JobCompletion: Sendable, Equatable {
    /// The job's id.
    public var id: String
    /// `.done` or `.failed`; anything else is refused.
    public var status: JobStatus
    /// The stage that failed (or the last that ran).
    public var stage: String?
    /// Why it failed, for a person to act on.
    public var error: String?
    /// Whether retrying could help.
    public var errorKind: ErrorKind?
    /// The number of this attempt.
    public var attempts: Int
    /// Unix milliseconds.
    public var startedAt: Int64
    /// Unix milliseconds.
    public var finishedAt: Int64
    /// Where the original was filed (`processed/…` or `failed/…`); nil if it could not be.
    public var finalPath: String?
    /// SHA-256 of the original, lowercase hex.
    public var sha256: String?
    /// Size of the original; nil when it could not be read at all.
    public var bytes: Int64?
    /// Facts about the image; nil replaces any earlier row with none.
    public var image: ImageRecord?
    /// How long each stage took in this attempt.
    public var timings: [StageTiming]
    /// Every file the job wrote; replaces those recorded before.
    public var outputs: [OutputRecord]
    /// What was recognised; replaces those recorded before.
    public var labels: [LabelRecord]

    /// Creates a value from its fields.
    public init(
        id: String, status: JobStatus, stage: String? = nil, error: String? = nil, errorKind: ErrorKind? = nil,
        attempts: Int, startedAt: Int64, finishedAt: Int64, finalPath: String?, sha256: String? = nil,
        bytes: Int64?, image: ImageRecord? = nil, timings: [StageTiming] = [], outputs: [OutputRecord] = [],
        labels: [LabelRecord] = []
    ) {
        self.id = id
        self.status = status
        self.stage = stage
        self.error = error
        self.errorKind = errorKind
        self.attempts = attempts
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.finalPath = finalPath
        self.sha256 = sha256
        self.bytes = bytes
        self.image = image
        self.timings = timings
        self.outputs = outputs
        self.labels = labels
    }
}

/// One row of `images`: what decoding and EXIF found. JSON columns hold text already encoded.
public struct ImageRecord: Sendable, Equatable {
    /// `jpeg` or `png`.
    public var type: String?
    /// As stored in the file, before orientation.
    public var width: Int?
    /// As stored in the file, before orientation.
    public var height: Int?
    /// EXIF orientation, 1-8.
    public var orientation: Int?
    /// JPEG DCT scale used to decode, e.g. `1/4`.
    public var decodeScale: String?
    /// JSON object.
    public var detail: String?
    /// JSON array.
    public var warnings: String?
    /// JSON object.
    public var exif: String?
    /// JSON array.
    public var exifProblems: String?
    /// Camera maker, from EXIF.
    public var make: String?
    /// Camera model, from EXIF.
    public var model: String?
    /// Lens, from EXIF.
    public var lens: String?
    /// Date taken, as the camera wrote it.
    public var dateTaken: String?
    /// Decimal degrees, north positive.
    public var latitude: Double?
    /// Decimal degrees, east positive.
    public var longitude: Double?
    /// Metres.
    public var altitude: Double?
    /// Seconds.
    public var exposureTime: Double?
    /// Aperture f-number.
    public var fNumber: Double?
    /// ISO speed.
    public var iso: Int?
    /// Millimetres.
    public var focalLength: Double?

    /// Creates a value from its fields.
    public init(
        type: String? = nil, width: Int? = nil, height: Int? = nil, orientation: Int? = nil,
        decodeScale: String? = nil, detail: String? = nil, warnings: String? = nil, exif: String? = nil,
        exifProblems: String? = nil, make: String? = nil, model: String? = nil, lens: String? = nil,
        dateTaken: String? = nil, latitude: Double? = nil, longitude: Double? = nil, altitude: Double? = nil,
        exposureTime: Double? = nil, fNumber: Double? = nil, iso: Int? = nil, focalLength: Double? = nil
    ) {
        self.type = type
        self.width = width
        self.height = height
        self.orientation = orientation
        self.decodeScale = decodeScale
        self.detail = detail
        self.warnings = warnings
        self.exif = exif
        self.exifProblems = exifProblems
        self.make = make
        self.model = model
        self.lens = lens
        self.dateTaken = dateTaken
        self.latitude = latitude
        self.longitude = longitude
        self.altitude = altitude
        self.exposureTime = exposureTime
        self.fNumber = fNumber
        self.iso = iso
        self.focalLength = focalLength
    }
}

/// How long one pipeline stage took in one attempt.
public struct StageTiming: Sendable, Equatable {
    /// The stage's name: sniff, decode, metadata…
    public var stage: String
    /// Milliseconds.
    public var ms: Double

    /// Creates a value from its fields.
    public init(stage: String, ms: Double) {
        self.stage = stage
        self.ms = ms
    }
}

/// A file a job wrote, relative to the state root.
public struct OutputRecord: Sendable, Equatable {
    /// `original`, `derivative`, `rotation` or `error`.
    public var kind: String
    /// Degrees counter-clockwise, for rotations.
    public var angle: Int?
    /// Where the file is: the daemon records absolute paths under its state root.
    public var path: String

    /// Creates a value from its fields.
    public init(kind: String, angle: Int? = nil, path: String) {
        self.kind = kind
        self.angle = angle
        self.path = path
    }
}

/// Something recognised in an image.
public struct LabelRecord: Sendable, Equatable {
    /// What was recognised.
    public var name: String
    /// 0 to 1.
    public var confidence: Double
    /// What produced the label.
    public var source: String
    /// Where in the image, when known.
    public var box: LabelBox?

    /// Creates a value from its fields.
    public init(name: String, confidence: Double, source: String, box: LabelBox? = nil) {
        self.name = name
        self.confidence = confidence
        self.source = source
        self.box = box
    }
}

/// Where a label sits in the image: origin and size, in image coordinates.
public struct LabelBox: Sendable, Equatable {
    /// Left edge.
    public var x: Double
    /// Top edge.
    public var y: Double
    /// Width.
    public var w: Double
    /// Height.
    public var h: Double

    /// Creates a value from its fields.
    public init(x: Double, y: Double, w: Double, h: Double) {
        self.x = x
        self.y = y
        self.w = w
        self.h = h
    }
}

/// One row of `attempts`; times in Unix milliseconds.
public struct AttemptRecord: Sendable, Equatable {
    /// The attempt's number, from 1.
    public var attempt: Int
    /// When it started, if known.
    public var startedAt: Int64?
    /// When it ended.
    public var finishedAt: Int64?
    /// How it ended.
    public var outcome: AttemptOutcome?
    /// The stage it ended in, when it failed.
    public var stage: String?
    /// Why it failed.
    public var error: String?

    /// Creates a value from its fields.
    public init(attempt: Int, startedAt: Int64?, finishedAt: Int64?, outcome: AttemptOutcome?, stage: String? = nil, error: String? = nil) {
        self.attempt = attempt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.stage = stage
        self.error = error
    }
}
