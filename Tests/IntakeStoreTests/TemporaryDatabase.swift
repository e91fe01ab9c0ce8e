import Glibc
import Testing

@testable import IntakeStore

/// A fresh folder from mkdtemp holding one test's database files, removed with everything in it
/// when the value goes away.
final class TemporaryFolder {
    let path: String

    init() throws {
        var template = Array("/tmp/intake-store-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw TestSetupError("mkdtemp failed: errno \(errno)") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A database path inside the folder (the file is not created).
    var databasePath: String { path + "/intake.db" }

    deinit {
        // The folder holds only the flat files SQLite made (db, -wal, -shm) and any a test wrote.
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Job ids of the legacy 14-character form, which sort by time as the daemon's do.
func jobID(_ n: Int) -> String {
    let digits = String(n)
    return "01jz" + String(repeating: "0", count: 10 - digits.count) + digits
}

/// A queued job in `environment`, created at `createdAt`.
func newJob(_ id: String, environment: String = "prod", name: String = "x.jpg", meter: String? = nil, createdAt: Int64 = 1_795_271_121_123) -> NewJob {
    NewJob(
        id: id, environment: environment, name: name, sourcePath: "\(environment)/\(meter.map { $0 + "/" } ?? "")\(name)",
        meter: meter, spoolPath: "spool/\(id)", createdAt: createdAt
    )
}

/// A successful completion of attempt `attempt` with the given hash and labels.
func doneCompletion(_ id: String, attempt: Int = 1, sha256: String? = nil, labels: [String] = [], finishedAt: Int64 = 1_795_271_122_000) -> JobCompletion {
    JobCompletion(
        id: id, status: .done, attempts: attempt, startedAt: finishedAt - 500, finishedAt: finishedAt,
        finalPath: "processed/prod/2026/11/21/\(id)-x.jpg", sha256: sha256, bytes: 1234,
        labels: labels.map { LabelRecord(name: $0, confidence: 0.9, source: "test") }
    )
}

extension Database {
    /// The single value of a one-row, one-column query.
    func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue? {
        try query(sql, arguments).first?.values.first
    }
}
