import FoundationEssentials
import Hummingbird
import IntakeCore
import IntakePipeline

#if canImport(Glibc)
import Glibc
#endif

/// A job of several images (`POST /v1/jobs` over uploads made first). Each image is a job of
/// the daemon's, processed alone; the submission that groups them is intake serve's own record,
/// kept in the inbox's hidden `.intake-submissions/` folder (which the daemon never looks in):
/// intake serve writes only below the inbox, never the database.
struct Submission: Codable, Sendable, Equatable {
    let id: String
    let env: String
    let meter: String?
    let metadata: [String: String]?
    /// The images' job ids (their uploads' ids) in the order of their `imageIndex`, with their names.
    let jobs: [String]
    let names: [String]
    /// Unix milliseconds.
    let createdAt: Int64
}

struct Submissions: Sendable {
    let folder: String

    init(root: StateRoot) {
        folder = root.inbox + "/.intake-submissions"
    }

    private func path(_ id: String) -> String { "\(folder)/\(id).json" }

    /// Written whole and synced before the images are placed: a job id answered is never lost.
    func record(_ submission: Submission) throws(APIError) {
        do {
            try DurableFile.makeFolders(folder, stage: .claim)
            let encoded = Array(try JSONEncoder().encode(submission))
            try WholeFile.write(encoded, to: path(submission.id), through: path(submission.id) + ".tmp", sync: true)
            try DurableFile.syncFolder(folder, stage: .claim)
        } catch let error as IntakeError {
            throw InboxWriter.refusal(error)
        } catch let error as WholeFile.Failure {
            throw InboxWriter.refusal(DurableFile.failure(.claim, error))
        } catch {
            throw APIError(.internalServerError, "cannot_write", "the job cannot be recorded: \(error)")
        }
    }

    func forget(_ id: String) { unlink(path(id)) }

    func load(_ id: String) -> Submission? {
        guard JobID(id) != nil, let bytes = try? WholeFile.read(path(id)) else { return nil }
        return try? JSONDecoder().decode(Submission.self, from: Data(bytes))
    }
}

/// A job of several images as the cloud API showed it: one `jobId`, one `status`, `imageCount`
/// and `detections` per `imageIndex`; then each image as `GET /v1/jobs/ID` shows it alone.
struct SubmissionView: Encodable, Sendable {
    let jobId: String
    /// COMPLETED when every image is, FAILED when every image is done and one failed, PENDING
    /// while none has begun, PROCESSING in between.
    let status: String
    let imageCount: Int
    let detections: [JobView.ImageDetections]
    let createdAt: String
    let updatedAt: String
    let environment: String
    let meter: String?
    let metadata: [String: String]?
    let images: [JobView]

    init(_ submission: Submission, images: [JobView]) {
        jobId = submission.id
        let statuses = Set(images.map(\.status))
        status =
            if statuses == ["COMPLETED"] { "COMPLETED" }
            else if statuses.isSubset(of: ["COMPLETED", "FAILED"]) { "FAILED" }
            else if statuses == ["PENDING"] { "PENDING" }
            else { "PROCESSING" }
        imageCount = images.count
        detections = images.enumerated().map { index, image in
            let found = image.detections.first
            return JobView.ImageDetections(
                imageUrl: found?.imageUrl, imageIndex: index, detections: found?.detections ?? [], detectionCount: found?.detectionCount ?? 0)
        }
        let created = Timestamp.string(fromMilliseconds: submission.createdAt)
        createdAt = created
        updatedAt = images.map(\.updatedAt).max() ?? created
        environment = submission.env
        meter = submission.meter
        metadata = submission.metadata
        self.images = images
    }
}
