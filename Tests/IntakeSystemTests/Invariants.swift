import IntakeStore
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Everything a finished run must satisfy, whatever happened during it. `otherJobs` counts the
/// jobs of files that are not in `sources` (links, pipes), whose bytes are not compared.
func checkInvariants(_ daemon: DaemonHarness, sources: [String: [UInt8]], otherJobs: Int = 0) throws {
    #expect(daemon.files("spool/active").isEmpty, "left in the spool: \(daemon.files("spool/active"))")
    #expect(daemon.files("spool/tmp").isEmpty)
    let everything = daemon.files("")
    #expect(!everything.contains { $0.contains(".intake-tmp-") }, "a temporary file survived")
    let database = try daemon.database()
    let jobs = try database.jobs()
    #expect(jobs.allSatisfy { $0.status == .done || $0.status == .failed }, "unfinished rows remain")
    // Each source exactly once: one row, one original, bytes unchanged.
    var seen: [String: Int] = [:]
    for job in jobs { seen[job.sourcePath, default: 0] += 1 }
    for (source, bytes) in sources {
        #expect(seen[source] == 1, "\(source) has \(seen[source] ?? 0) rows")
        guard let job = jobs.first(where: { $0.sourcePath == source }), let original = job.finalPath else { continue }
        #expect(Fixtures.readFile(original) == bytes, "\(source) lost or changed")
    }
    #expect(jobs.count == sources.count + otherJobs)
    // Every success has its derivative and four rotations, and no job has outputs twice.
    for job in jobs where job.status == .done {
        let outputs = try database.outputs(jobID: job.id)
        #expect(outputs.filter { $0.kind == "rotation" }.count == 4)
        for output in outputs { #expect(access(output.path, F_OK) == 0, "missing \(output.path)") }
    }
    let derivatives = daemon.files("processed").filter { $0.hasSuffix("_256x256.jpg") }
    #expect(derivatives.count == jobs.filter { $0.status == .done }.count, "derivatives doubled or missing")
    #expect(daemon.files("augmented").count == 4 * jobs.filter { $0.status == .done }.count)
}
