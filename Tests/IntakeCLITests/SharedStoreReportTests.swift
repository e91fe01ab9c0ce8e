import IntakeCore
import IntakeStore
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every report reads a PostgreSQL store (`--db postgresql://…`) as it reads the SQLite file:
/// the same jobs recorded in both give the same answers, word for word.
@Suite struct SharedStoreReportTests {
    /// The same history in any store: done and failed jobs of two environments, labels, a
    /// duplicate, a meter reading and a manual reading.
    static func record(into database: Database, now: Int64) throws {
        for n in 0..<6 {
            let id = "01jz00000000\(n < 10 ? "0" : "")\(n)"
            let environment = n % 2 == 0 ? "prod" : "beta"
            try database.insertJob(NewJob(
                id: id, environment: environment, name: "photo \(n).jpg", sourcePath: "\(environment)/MTR-1/photo \(n).jpg",
                meter: "MTR-1", spoolPath: "/spool/\(id)", createdAt: now - Int64(7_200_000 - n * 1000)))
            try database.markProcessing(id: id, attempt: 1, at: now - 3_000_000)
            try database.complete(JobCompletion(
                id: id, status: n == 3 ? .failed : .done, stage: n == 3 ? "decode" : nil, error: n == 3 ? "not a JPEG" : nil,
                errorKind: n == 3 ? .permanent : nil, attempts: 1, startedAt: now - 3_000_000, finishedAt: now - Int64(1_000_000 - n),
                finalPath: "/state/processed/\(id).jpg", sha256: n == 5 ? "aa" : "b\(n)", bytes: 1000 + Int64(n),
                timings: [StageTiming(stage: "decode", ms: 2.5 + Double(n)), StageTiming(stage: "derive", ms: 1.25)],
                outputs: [OutputRecord(kind: "original", path: "/state/processed/\(id).jpg")],
                labels: n == 3 ? [] : [LabelRecord(name: "meter", confidence: 0.9, source: "intake"), LabelRecord(name: "dark", confidence: 0.6, source: "intake")]))
            if n != 3 {
                try database.recordMeterReading(jobID: id, MeterReadingRecord(
                    meterID: "MTR-1", capturedAt: now - 3_000_000, value: 100 + Double(n), unit: "m3", confidence: 0.97, digits: nil,
                    claimedValue: nil, manualValue: 101, manualReadAt: now - 3_600_000, delta: Double(n) - 1,
                    verdict: n == 1 ? "match" : "mismatch", reason: "compared", plausibility: nil))
            }
        }
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, "no PostgreSQL server binaries (Debian's postgresql)"))
    func everyReportReadsAPostgreSQLStoreAsItReadsTheFile() throws {
        let folder = try TemporaryFolder()
        let now = Timestamp.nowMilliseconds()
        let file = folder.path + "/intake.db"
        let url = try PostgresCluster.shared!.makeDatabase()
        try Self.record(into: try Database(path: file), now: now)
        try Self.record(into: try Database(path: url), now: now)
        let intake = ChildProcess.built("intake")
        for report in [["report"], ["report", "jobs"], ["report", "failed"], ["report", "meters"], ["report", "labels"], ["report", "stages"],
                       ["report", "jobs", "--env", "beta", "--status", "done"], ["job", "01jz0000000001"]] {
            for format in report[0] == "job" ? [[String]()] : [["--format", "csv"], ["--format", "json"]] {
                let fromFile = try ChildProcess.run(intake, report + format + ["--db", file])
                let fromServer = try ChildProcess.run(intake, report + format + ["--db", url])
                #expect(fromFile.status == 0 && fromServer.status == 0, "\(report): \(fromFile.standardError)\(fromServer.standardError)")
                // The one field that differs: when each store recorded the completion (the clock's time).
                let unstamped = { (text: String) in text.replacing(/"updatedAt" : "[^"]*"/, with: "updatedAt") }
                #expect(unstamped(fromServer.standardOutput) == unstamped(fromFile.standardOutput), "\(report + format) differs on PostgreSQL")
                #expect(fromFile.standardOutput.count > 20, "\(report + format) printed nothing to compare")
            }
        }
        // The review page too.
        let page = folder.path + "/review.html"
        let html = try ChildProcess.run(intake, ["report", "--db", url, "--html", page])
        #expect(html.status == 0, "\(html.standardError)")
        let text = String(decoding: Fixtures.readFile(page) ?? [], as: UTF8.self)
        #expect(text.contains("not a JPEG") && text.contains("MTR-1"), "the page lacks the failure or the meter")
    }
}
