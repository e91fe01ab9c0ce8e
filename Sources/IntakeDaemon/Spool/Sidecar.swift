import IntakeCore
import IntakePipeline

#if canImport(Glibc)
import Glibc
#endif

/// JSON sidecars, the one place that knows their names and moves. A sidecar is `<name>.json` (or
/// `<stem>.json`) dropped before the image `<name>`, carrying what its uploader claims (the
/// reading, the meter, the time). It is never a job of its own: it is claimed with its image,
/// right after it, into spool/sidecars/<job>.json; its claim is read once then and travels with
/// the queued job (`QueuedJob.sidecar`); it is filed beside the original when the job ends, and
/// goes back to the spool with it on a retry. One whose image never comes is set aside in failed/
/// after `meters.sidecar_wait_seconds`, so nothing is left in the inbox unexplained.
enum Sidecar {
    static let suffix: [UInt8] = Array(".json".utf8)

    /// Whether an inbox name is a sidecar's rather than an image's.
    static func isSidecarName(_ name: [UInt8]) -> Bool {
        name.count > suffix.count && name.suffix(suffix.count).elementsEqual(suffix)
    }

    static func isSidecarName(_ name: String) -> Bool { isSidecarName(Array(name.utf8)) }

    /// The sidecar waiting beside the inbox file `image`, if any: `<name>.json` first, then
    /// `<stem>.json`. Only a regular file counts; a link named like a sidecar is never followed.
    static func beside(_ image: BytePath) -> BytePath? {
        let name = image.name
        guard !isSidecarName(name) else { return nil }
        let folder = image.folder
        var candidates = [name + suffix]
        if let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > 0 { candidates.append(Array(name[..<dot]) + suffix) }
        for candidate in candidates {
            let path = folder.appending(candidate)
            if path.linkStatus()?.isRegularFile == true { return path }
        }
        return nil
    }

    /// The image waiting beside the inbox sidecar `sidecar` that would take it along (the one
    /// whose `beside` it is), if any: `<name>` for `<name>.json`, else a `<stem>.<ext>` for
    /// `<stem>.json`. Names `ignoring` says are not candidates (`w.part`, `w.jpg~`) are not it.
    static func image(for sidecar: BytePath, ignoring: (_ name: [UInt8]) -> Bool) -> BytePath? {
        let name = sidecar.name
        guard isSidecarName(name) else { return nil }
        let folder = sidecar.folder
        let base = Array(name.dropLast(suffix.count))
        func isImage(_ entry: [UInt8]) -> BytePath? {
            let path = folder.appending(entry)
            guard !isSidecarName(entry), !ignoring(entry), path.linkStatus()?.isRegularFile == true, beside(path) == sidecar else { return nil }
            return path
        }
        if let exact = isImage(base) { return exact }
        for entry in folder.entries().sorted(by: { $0.lexicographicallyPrecedes($1) })
        where entry.count > base.count + 1 && entry.starts(with: base + [UInt8(ascii: ".")]) {
            if let path = isImage(entry) { return path }
        }
        return nil
    }

    /// The claim in the job's sidecar in the spool: nil when it has none. Read when the job is
    /// queued (claimed, recovered or sent back), never again.
    static func claim(of job: JobID, root: StateRoot) -> Result<SidecarClaim, SidecarProblem>? {
        SidecarClaim.read(root.outputs.spooledSidecar(job: job))
    }

    /// The claim renames the image, then its sidecar: a crash between them leaves the sidecar in
    /// the inbox, beside where the image was. Start-up takes it, so that the job runs with its claim.
    static func takeLeftInInbox(for job: QueuedJob, root: StateRoot) -> Bool {
        let spooled = root.outputs.spooledSidecar(job: job.id)
        guard access(spooled, F_OK) != 0, let sidecar = beside(BytePath(root.inbox + "/" + job.sourcePath)) else { return false }
        return (try? DurableFile.move(sidecar.description, to: spooled, temporaryFolder: root.spoolTemporary)) != nil
    }

    /// Files the job's sidecar, if it has one in the spool, beside its original's final place.
    /// Done before the original moves, so that a sidecar left in the spool always has its job there too.
    static func file(of job: JobID, beside original: String, root: StateRoot) throws(IntakeError) {
        let spooled = root.outputs.spooledSidecar(job: job)
        guard access(spooled, F_OK) == 0 else { return }
        let filed = OutputLayout.filedSidecar(beside: original)
        try DurableFile.move(spooled, to: filed, temporaryFolder: root.temporaryFolder(for: filed))
    }

    /// Takes the sidecar of a retried original (filed beside it in spool/requeue) back into the spool.
    static func requeue(besideWaiting original: String, job: JobID, root: StateRoot) {
        let filed = OutputLayout.filedSidecar(beside: original)
        if access(filed, F_OK) == 0 { try? DurableFile.move(filed, to: root.outputs.spooledSidecar(job: job), stage: .claim) }
    }
}
