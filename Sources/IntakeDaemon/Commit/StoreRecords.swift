import FoundationEssentials
import IntakeCore
import IntakeClassify
import IntakeCodecs
import IntakePipeline
import IntakeStore

extension NewJob {
    /// The row of a job just claimed.
    init(_ job: QueuedJob, host: String) {
        self.init(
            id: job.id.rawValue, environment: job.environment, name: job.name, sourcePath: job.sourcePath, meter: job.meter,
            spoolPath: job.spoolPath, createdAt: Int64(job.createdAt), host: host)
    }
}

extension JobCompletion {
    /// Everything the database keeps of a job at its end.
    init(_ finished: FinishedJob) {
        let facts = finished.facts
        var outputs: [OutputRecord] = [OutputRecord(kind: "original", path: finished.destination)]
        if let written = finished.outputs {
            outputs.append(OutputRecord(kind: "derivative", path: written.derivative))
            for (angle, path) in written.rotations.sorted(by: { $0.key < $1.key }) {
                outputs.append(OutputRecord(kind: "rotation", angle: angle, path: path))
            }
        }
        if let report = finished.errorReport { outputs.append(OutputRecord(kind: "error", path: report)) }
        self.init(
            id: finished.job.id.rawValue, status: finished.succeeded ? .done : .failed, stage: finished.error?.stage.rawValue,
            error: finished.error?.reason, errorKind: finished.error.map { ErrorKind(rawValue: $0.kind.rawValue) ?? .permanent },
            attempts: finished.job.attempt, startedAt: Int64(finished.startedAt), finishedAt: Int64(finished.finishedAt),
            finalPath: finished.destination, sha256: facts.sha256, bytes: Int64(facts.bytes),
            image: facts.type == nil ? nil : ImageRecord(facts),
            timings: finished.timings.map { StageTiming(stage: $0.stage.rawValue, ms: $0.ms) }, outputs: outputs,
            labels: finished.labels.map { label in
                LabelRecord(
                    name: label.name, confidence: label.confidence, source: label.source,
                    box: label.box.map { LabelBox(x: $0.x, y: $0.y, w: $0.width, h: $0.height) })
            })
    }
}

extension ImageRecord {
    /// An image's facts as the images table keeps them: the common EXIF fields as columns for
    /// SQL, and the whole as JSON.
    init(_ facts: ImageFacts) {
        let exif = facts.exif
        self.init(
            type: facts.type, width: facts.width, height: facts.height, orientation: facts.orientation, decodeScale: facts.decodeScale,
            detail: JSON.text(facts.detail), warnings: JSON.text(facts.warnings), exif: JSON.text(exif),
            exifProblems: JSON.text(facts.exifProblems), make: exif?.make, model: exif?.model, lens: exif?.lens,
            dateTaken: exif?.dateTaken, latitude: exif?.latitude, longitude: exif?.longitude, altitude: exif?.altitude,
            exposureTime: exif?.exposureTime, fNumber: exif?.fNumber, iso: exif?.iso, focalLength: exif?.focalLength)
    }
}

/// Compact JSON text for the database's JSON columns (SQLite's json_* functions read it).
enum JSON {
    static func text<T: Encodable>(_ value: T?) -> String? {
        guard let value else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }
}
