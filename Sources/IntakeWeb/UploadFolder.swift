import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// The hidden folder uploads are written in before they are renamed into the inbox. Every file
/// there is named after the job it was for (`<job>.part`, `<job>.json.part`), and a job id says
/// when it was made. Resumable uploads' files are kept for their lifetime (`ResumableUploads`).
enum UploadFolder {
    /// Removes the files of uploads begun over `olderThanSeconds` ago: what uploads cut short by a
    /// crash left (one being received now is younger), and resumable uploads past their lifetime.
    /// `resumableOnly`: only the latter (while the server runs, a plain upload's file is its
    /// request's to remove, however long a slow link takes). Returns how many went.
    static func sweep(
        _ folder: String, olderThanSeconds: UInt64, resumableOnly: Bool = false,
        remove: (_ path: String, _ job: String) -> Bool = { path, _ in unlink(path) == 0 }
    ) -> Int {
        guard let directory = opendir(folder) else { return 0 }
        defer { closedir(directory) }
        let cutoff = JobID.nowMilliseconds() - olderThanSeconds * 1000
        var removed = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            // A resumable upload (`<job>.tus`, `<job>.tus.part`) may wait for its client for hours.
            let resumable = name.contains(".tus")
            if resumableOnly && !resumable { continue }
            let limit = resumable ? JobID.nowMilliseconds() - ResumableUploads.lifetimeSeconds * 1000 : cutoff
            guard let job = JobID(String(name.prefix { $0 != "." })), let madeAt = JobID.milliseconds(of: job), madeAt < limit else {
                continue
            }
            if remove(folder + "/" + name, job.rawValue) { removed += 1 }
        }
        return removed
    }
}
