import FoundationEssentials
import Hummingbird
import IntakeCore
import IntakePipeline
import IntakeStore
import Synchronization

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

    /// The same submission with only the images of `receipts` (those that became jobs when the
    /// others could not be placed).
    func keeping(_ receipts: [UploadReceipt]) -> Submission {
        let kept = Set(receipts.map(\.job.rawValue))
        let images = zip(jobs, names).filter { kept.contains($0.0) }
        return Submission(id: id, env: env, meter: meter, metadata: metadata, jobs: images.map(\.0), names: images.map(\.1), createdAt: createdAt)
    }
}

final class Submissions: Sendable {
    let folder: String
    private let databasePath: String
    /// When submissions were last swept (Unix ms): each new one sweeps at most every
    /// `sweepIntervalSeconds`, as resumable uploads are swept.
    private let lastSweep = Mutex<UInt64>(0)
    static let sweepIntervalSeconds: UInt64 = 600
    /// A submission is kept at least this long whatever the database says: its images may still
    /// wait in the inbox, and the daemon takes their offered ids within a day of their making.
    static let unclaimedLifetimeSeconds: UInt64 = 86_400

    init(root: StateRoot) {
        folder = root.inbox + "/.intake-submissions"
        databasePath = root.database
    }

    private func path(_ id: String) -> String { "\(folder)/\(id).json" }

    /// Written whole and synced before the images are placed: a job id answered is never lost.
    /// Sweeps the submissions that outlived their images first, when a sweep is due.
    func record(_ submission: Submission) throws(APIError) {
        sweep()
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

    /// After placing `submission`'s images failed part-way: it keeps the images the daemon had
    /// claimed already (jobs by then), or goes when there are none.
    func settle(_ submission: Submission, after failure: InboxWriter.PlacementFailure) {
        if failure.claimed.isEmpty {
            forget(submission.id)
        } else {
            try? record(submission.keeping(failure.claimed))
        }
    }

    func load(_ id: String) -> Submission? {
        guard JobID(id) != nil, let bytes = try? WholeFile.read(path(id)) else { return nil }
        return try? JSONDecoder().decode(Submission.self, from: Data(bytes))
    }

    /// Whether `submission` outlived its images: over a day old (no image of it can still be
    /// taken under its id) and none of them in the database, which retention has pruned them
    /// from, or never had them. Such a submission would otherwise read as waiting for good.
    func isExpired(_ submission: Submission, in database: Database, now: UInt64 = JobID.nowMilliseconds()) throws -> Bool {
        guard submission.createdAt >= 0, UInt64(submission.createdAt) + Self.unclaimedLifetimeSeconds * 1000 < now else { return false }
        for job in submission.jobs where try database.job(id: job) != nil { return false }
        return true
    }

    /// Removes the submissions that outlived their images (see `isExpired`), and what a crash
    /// left half-written a day ago, unless a sweep ran in the last `sweepIntervalSeconds`; nothing
    /// when the database cannot be read, as a job missing from it then proves nothing. Returns
    /// how many went.
    @discardableResult
    func sweep(now: UInt64 = JobID.nowMilliseconds(), force: Bool = false) -> Int {
        let due = lastSweep.withLock { last in
            guard force || now >= last + Self.sweepIntervalSeconds * 1000 else { return false }
            last = now
            return true
        }
        guard due, let database = try? Database(path: databasePath, readOnly: true) else { return 0 }
        var removed = 0
        for name in FolderListing.names(in: folder) {
            let id = String(name.prefix { $0 != "." })
            guard JobID(id) != nil else { continue }
            if name == "\(id).json" {
                guard let submission = load(id), (try? isExpired(submission, in: database, now: now)) == true else { continue }
            } else {
                // `<id>.json.tmp`: a record cut short by a crash, before it was renamed into place.
                guard name == "\(id).json.tmp", let madeAt = JobID.milliseconds(of: JobID(id)!),
                      madeAt + Self.unclaimedLifetimeSeconds * 1000 < now else { continue }
            }
            if unlink(folder + "/" + name) == 0 { removed += 1 }
        }
        return removed
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
