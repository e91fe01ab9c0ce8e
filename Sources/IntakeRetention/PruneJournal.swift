import Foundation
import IntakeStore

/// What one batch of pruning is about to do, written durably before the batch touches the
/// database, so that a crash at any instant can be finished: a job whose rows are gone has its
/// files removed (or archived) on the next run; a job whose rows remain was never touched.
struct PruneJournal: Codable {
    var entries: [ExpiredJob]
    /// The archive folder when expired files are moved rather than deleted.
    var archiveFolder: String?

    static func read(_ path: String) -> PruneJournal? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(PruneJournal.self, from: data)
    }

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? [UInt8](encoder.encode(self))) ?? []
    }
}

/// One line of an archive month's `manifest.jsonl`: enough to find and restore a job.
struct ArchiveManifestLine: Codable {
    let job: String
    let environment: String
    let status: String
    let name: String
    let sha256: String?
    let bytes: Int64?
    let finishedAt: String
    /// The files, relative to the month's folder; copying that folder's tree back onto the state
    /// root puts each where it was.
    let files: [String]
}
