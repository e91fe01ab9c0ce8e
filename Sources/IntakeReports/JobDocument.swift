import FoundationEssentials
public import IntakeStore
import IntakeCore

/// One job as `intake job ID` prints it: the fields the cloud API answered with (jobId, status,
/// createdAt, updatedAt, imageCount, detections[]) first, then intake's own.
public struct JobDocument: Encodable {
    struct Detection: Encodable {
        let label: String
        let confidence: Double
        /// [x, y, width, height] in the upright image's pixels; nil for whole-image labels.
        let bbox: [Double]?
        let source: String
    }

    struct ImageDetections: Encodable {
        let imageUrl: String
        let imageIndex: Int
        let detections: [Detection]
        let detectionCount: Int
    }

    struct Failure: Encodable {
        let stage: String?
        let kind: String?
        let reason: String?
    }

    struct Attempt: Encodable {
        let attempt: Int
        let outcome: String?
        let startedAt: String?
        let finishedAt: String?
        let stage: String?
        let error: String?
    }

    struct Outputs: Encodable {
        var original: String?
        var derivative: String?
        var rotations: [String: String] = [:]
        var errorReport: String?
    }

    let jobId: String
    let status: String
    let createdAt: String
    let updatedAt: String
    let imageCount: Int
    let detections: [ImageDetections]
    let environment: String
    let file: String
    let sourcePath: String
    let meterId: String?
    let meter: [String: JSONScalar]?
    let sha256: String?
    let bytes: Int64?
    let duplicateOf: String?
    let image: [String: JSONScalar]?
    let outputs: Outputs
    let error: Failure?
    let attempts: [Attempt]
    let timingsMs: [String: Double]

    /// Reads everything the database holds on job `id`; nil when there is no such job.
    public init?(id: String, database: Database) throws(ReportError) {
        do {
            guard let row = try database.job(id: id) else { return nil }
            let labels = try database.labels(jobID: id)
            let outputs = try database.outputs(jobID: id)
            jobId = row.id
            status = row.status.rawValue
            createdAt = Timestamp.string(fromMilliseconds: row.createdAt)
            updatedAt = Timestamp.string(fromMilliseconds: row.updatedAt)
            environment = row.environment
            file = row.name
            sourcePath = row.sourcePath
            meterId = row.meter
            sha256 = row.sha256
            bytes = row.bytes
            duplicateOf = row.duplicateOf
            let found = labels.map { label in
                Detection(
                    label: label.name, confidence: label.confidence, bbox: label.box.map { [$0.x, $0.y, $0.w, $0.h] },
                    source: label.source)
            }
            let original = outputs.first { $0.kind == "original" }?.path ?? row.finalPath ?? row.spoolPath ?? ""
            imageCount = 1
            detections = [ImageDetections(imageUrl: original, imageIndex: 0, detections: found, detectionCount: found.count)]
            var written = Outputs()
            for output in outputs {
                switch output.kind {
                case "original": written.original = output.path
                case "derivative": written.derivative = output.path
                case "rotation": written.rotations[String(output.angle ?? 0)] = output.path
                case "error": written.errorReport = output.path
                default: break
                }
            }
            self.outputs = written
            error = row.status == .failed || row.error != nil ? Failure(stage: row.stage, kind: row.errorKind?.rawValue, reason: row.error) : nil
            attempts = try database.attempts(jobID: id).map { attempt in
                Attempt(
                    attempt: attempt.attempt, outcome: attempt.outcome?.rawValue,
                    startedAt: attempt.startedAt.map { Timestamp.string(fromMilliseconds: $0) },
                    finishedAt: attempt.finishedAt.map { Timestamp.string(fromMilliseconds: $0) }, stage: attempt.stage, error: attempt.error)
            }
            timingsMs = Dictionary(try database.timings(jobID: id).map { ($0.stage, $0.ms) }, uniquingKeysWith: +)
            image = try Self.firstRow(database, "SELECT * FROM images WHERE job_id = ?", id, dropping: ["job_id"])
            meter = try Self.firstRow(database, "SELECT * FROM meter_readings WHERE job_id = ?", id, dropping: ["job_id"])
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError("cannot read job \(id): \(error)")
        }
    }

    /// A row as JSON scalars, JSON-text columns (exif, detail, digits…) embedded as raw JSON.
    private static func firstRow(_ database: Database, _ sql: String, _ id: String, dropping: Set<String>) throws -> [String: JSONScalar]? {
        guard let row = try database.query(sql, [.text(id)]).first else { return nil }
        var result: [String: JSONScalar] = [:]
        for (key, value) in row where !dropping.contains(key) {
            switch value {
            case .null: continue
            case .integer(let number): result[key] = .number(Double(number))
            case .real(let number): result[key] = .number(number)
            case .text(let text):
                let trimmed = text.first
                result[key] = (trimmed == "{" || trimmed == "[") ? .raw(text) : .string(text)
            case .blob: continue
            }
        }
        return result
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// A database value in a JSON document; JSON text stored in a column is embedded, not quoted.
enum JSONScalar: Encodable {
    case string(String)
    case number(Double)
    case raw(String)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let text): try container.encode(text)
        case .number(let number): try container.encode(number)
        case .raw(let text):
            // Decoded to a generic JSON value so that it nests; kept as a string if it is not JSON.
            if let value = try? JSONDecoder().decode(AnyJSON.self, from: Data(text.utf8)) {
                try container.encode(value)
            } else {
                try container.encode(text)
            }
        }
    }
}

/// Any JSON value, decoded and encoded again unchanged.
indirect enum AnyJSON: Codable {
    case null, bool(Bool), number(Double), string(String), array([AnyJSON]), object([String: AnyJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([AnyJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: AnyJSON].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
