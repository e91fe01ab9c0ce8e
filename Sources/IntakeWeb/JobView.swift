import IntakeCore
import IntakeStore

/// A job as the API shows it: the shape of the cloud API intake replaces (`jobId`, `status`,
/// `imageCount`, `detections` per image with label, confidence and box, `createdAt`,
/// `updatedAt`), then intake's own fields.
struct JobView: Encodable, Sendable {
    struct Detection: Encodable, Sendable {
        let label: String
        let confidence: Double
        /// `[x, y, width, height]` in the image's pixels; null for labels of the whole image.
        let bbox: [Double]?
    }

    struct ImageDetections: Encodable, Sendable {
        /// The derivative this server serves (the original when there is none yet).
        let imageUrl: String?
        let imageIndex: Int
        let detections: [Detection]
        let detectionCount: Int
    }

    struct Output: Encodable, Sendable {
        let kind: String
        let angle: Int?
        let url: String
    }

    /// The meter stage's reading and its verdict against the manual reading it was compared with.
    struct MeterView: Encodable, Sendable {
        let meter: String
        let verdict: String
        let value: Double?
        let unit: String?
        let confidence: Double?
        let manualValue: Double?
        let manualReadAt: String?
        let delta: Double?
        let reason: String?
    }

    struct Failure: Encodable, Sendable {
        let stage: String?
        let reason: String
        let kind: String?
    }

    let jobId: String
    /// PENDING (in the inbox or queued), PROCESSING, COMPLETED or FAILED.
    let status: String
    let imageCount: Int
    let detections: [ImageDetections]
    let createdAt: String
    let updatedAt: String
    let environment: String
    let name: String
    let meter: String?
    let attempts: Int
    var sha256: String?
    var bytes: Int64?
    let error: Failure?
    let meterReading: MeterView?
    /// The job's files, each at a URL of this server: original, derivative, rotations, error report.
    let outputs: [Output]
    /// The host whose intaked claimed it (several hosts on one store).
    var host: String?
    /// A resumable upload still arriving: how much of it has.
    var received: Received?

    struct Received: Encodable {
        let bytes: Int
        let length: Int
    }

    /// The cloud API's name for a status.
    static func apiStatus(_ status: JobStatus) -> String {
        switch status {
        case .queued: "PENDING"
        case .processing: "PROCESSING"
        case .done: "COMPLETED"
        case .failed: "FAILED"
        }
    }

    /// A job the database knows, with its labels, outputs and meter reading read from `database`.
    init(_ row: JobRow, from database: Database) throws(StoreError) {
        self.init(row, labels: try database.labels(jobID: row.id), outputs: try database.outputs(jobID: row.id),
                  meterReading: try database.meterReading(jobID: row.id))
    }

    init(_ row: JobRow, labels: [LabelRecord], outputs: [OutputRecord], meterReading: MeterReadingRecord?) {
        jobId = row.id
        status = Self.apiStatus(row.status)
        imageCount = 1
        let found = labels.map { label in
            Detection(label: label.name, confidence: label.confidence, bbox: label.box.map { [$0.x, $0.y, $0.w, $0.h] })
        }
        let image = outputs.first { $0.kind == "derivative" } ?? outputs.first { $0.kind == "original" }
        detections = [ImageDetections(
            imageUrl: image.map { JobFiles.url(job: row.id, output: $0) }, imageIndex: 0, detections: found, detectionCount: found.count)]
        self.outputs = outputs.map { Output(kind: $0.kind, angle: $0.angle, url: JobFiles.url(job: row.id, output: $0)) }
        createdAt = Timestamp.string(fromMilliseconds: row.createdAt)
        updatedAt = Timestamp.string(fromMilliseconds: row.updatedAt)
        environment = row.environment
        name = row.name
        meter = row.meter
        attempts = row.attempts
        sha256 = row.sha256
        bytes = row.bytes
        host = row.host
        error = row.status == .failed ? Failure(stage: row.stage, reason: row.error ?? "", kind: row.errorKind?.rawValue) : nil
        self.meterReading = meterReading.map {
            MeterView(meter: $0.meterID, verdict: $0.verdict, value: $0.value, unit: $0.unit, confidence: $0.confidence,
                      manualValue: $0.manualValue, manualReadAt: $0.manualReadAt.map(Timestamp.string(fromMilliseconds:)),
                      delta: $0.delta, reason: $0.reason)
        }
    }

    /// A resumable upload still arriving under this id: pending, with how much has come.
    init(receiving id: JobID, _ upload: ResumableUpload) {
        self.init(waiting: id, environment: upload.env ?? "", meter: upload.meter, name: upload.name)
        received = Received(bytes: upload.offset, length: upload.length)
    }

    /// An upload in the inbox that the daemon has not claimed yet.
    init(pending upload: UploadReceipt) {
        self.init(waiting: upload.job, environment: upload.target.environment, meter: upload.target.meter, name: upload.target.name)
        sha256 = upload.sha256
        bytes = Int64(upload.bytes)
    }

    /// An image of a job of several that the daemon has not claimed yet, as far as its job's
    /// record says (after a restart of intake serve, nothing more is known until the claim).
    init(waiting job: JobID, environment: String, meter: String?, name: String) {
        jobId = job.rawValue
        status = "PENDING"
        imageCount = 1
        detections = []
        let created = Timestamp.string(fromMilliseconds: Int64(JobID.milliseconds(of: job) ?? 0))
        createdAt = created
        updatedAt = created
        self.environment = environment
        self.name = name
        self.meter = meter
        attempts = 0
        sha256 = nil
        bytes = nil
        error = nil
        meterReading = nil
        outputs = []
    }
}
