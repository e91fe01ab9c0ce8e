import Glibc
import IntakeConfig
import IntakeCore
import IntakeStore
import IntakeTestSupport

/// A real state root in a temporary folder with a real database, and jobs in it as intaked leaves
/// them: rows, and their files in processed/, augmented/ and failed/. Times are back-dated at will.
final class StateFixture {
    let folder: TemporaryFolder
    let root: StateRoot
    let database: Database
    private var next = 0

    /// With `host`, the root is that host's among several sharing one store (here a SQLite file
    /// standing in for the shared PostgreSQL): it prunes only its own jobs.
    init(host: String? = nil) throws {
        let folder = try TemporaryFolder()
        self.folder = folder
        root = StateRoot(path: folder.path, store: host.map { _ in folder.path + "/shared.db" }, host: host)
        database = try Database(path: root.database)
    }

    static let day: Int64 = 86_400_000

    /// A finished job of `environment`, `daysAgo` days old, with its files written.
    @discardableResult
    func finishedJob(environment: String = "prod", daysAgo: Double, failed: Bool = false, meter: String? = nil,
                     host: String? = nil) throws -> FixtureJob {
        next += 1
        let id = "01jz" + String(repeating: "0", count: 10 - String(next).count) + String(next)
        let finishedAt = Timestamp.nowMilliseconds() - Int64(daysAgo * Double(Self.day))
        let name = "photo \(next).jpg"
        try database.insertJob(
            NewJob(id: id, environment: environment, name: name, sourcePath: "\(environment)/\(name)", meter: meter,
                   spoolPath: "\(root.spoolActive)/\(id)-\(name)", createdAt: finishedAt - 1000, host: host ?? root.jobsHost))
        var outputs: [OutputRecord] = []
        let original: String
        if failed {
            original = root.outputs.failed(environment: environment, job: JobID(id)!, name: name)
            outputs.append(OutputRecord(kind: "error", path: original + ".error.json"))
        } else {
            let date = CalendarDate(unixMilliseconds: UInt64(finishedAt))
            original = root.outputs.original(environment: environment, date: date, job: JobID(id)!, name: name)
            outputs.append(OutputRecord(kind: "derivative", path: root.outputs.derivative(
                environment: environment, date: date, job: JobID(id)!, name: name, size: 256)))
            for angle in [90, 180] {
                outputs.append(OutputRecord(kind: "rotation", angle: angle, path: root.outputs.rotation(
                    environment: environment, angle: angle, job: JobID(id)!, name: name)))
            }
        }
        outputs.append(OutputRecord(kind: "original", path: original))
        for path in outputs.map(\.path) { try write(path, bytes: 1000) }
        try write(OutputLayout.filedSidecar(beside: original), bytes: 20)
        try database.complete(JobCompletion(
            id: id, status: failed ? .failed : .done, stage: failed ? "decode" : nil, error: failed ? "not an image" : nil,
            errorKind: failed ? .permanent : nil, attempts: 1, startedAt: finishedAt - 500, finishedAt: finishedAt,
            finalPath: original, sha256: String(repeating: "a", count: 64), bytes: 1000, outputs: outputs,
            labels: [LabelRecord(name: "meter", confidence: 0.9, source: "intake")]))
        if let meter {
            try database.recordMeterReading(jobID: id, MeterReadingRecord(
                meterID: meter, capturedAt: finishedAt, value: 123.4, unit: "m3", confidence: 0.99, digits: nil,
                claimedValue: nil, manualValue: nil, manualReadAt: nil, delta: nil, verdict: "no_reference", reason: "none",
                plausibility: nil))
        }
        return FixtureJob(id: id, original: original, files: outputs.map(\.path) + [OutputLayout.filedSidecar(beside: original)])
    }

    /// A job still queued (claimed, not finished), its file in the spool.
    func queuedJob(environment: String = "prod", daysAgo: Double) throws -> FixtureJob {
        next += 1
        let id = "01jz" + String(repeating: "0", count: 10 - String(next).count) + String(next)
        let spool = "\(root.spoolActive)/\(id)-q.jpg"
        try database.insertJob(
            NewJob(id: id, environment: environment, name: "q.jpg", sourcePath: "\(environment)/q.jpg", meter: nil, spoolPath: spool,
                   createdAt: Timestamp.nowMilliseconds() - Int64(daysAgo * Double(Self.day))))
        try write(spool, bytes: 1000)
        return FixtureJob(id: id, original: spool, files: [spool])
    }

    func write(_ path: String, bytes: Int) throws {
        try makeFolders(String(path[..<path.lastIndex(of: "/")!]))
        guard let file = fopen(path, "wbe") else { throw FixtureError("cannot write \(path)") }
        _ = [UInt8](repeating: 7, count: bytes).withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }

    func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    func rowExists(_ id: String) throws -> Bool { try database.job(id: id) != nil }

    private func makeFolders(_ path: String) throws {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        try makeFolders(String(path[..<path.lastIndex(of: "/")!]))
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw FixtureError("mkdir \(path)") }
    }
}

struct FixtureJob {
    let id: String
    let original: String
    let files: [String]
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
