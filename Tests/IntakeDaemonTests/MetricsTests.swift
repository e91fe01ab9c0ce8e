import Glibc
import Testing

@testable import IntakeDaemon

/// The daemon's metrics on swift-prometheus: the families intake documents, in the text format
/// Prometheus reads, every environment's series present before its first job.
@Suite("Daemon metrics")
struct DaemonMetricsTests {
    @Test func everyEnvironmentsSeriesExistsAtZeroAndCountsGoUp() {
        let metrics = DaemonMetrics()
        metrics.prepare(environments: ["prod", "beta"])
        metrics.recordRetry()
        metrics.recordCommitBatch(jobs: 3)
        let text = metrics.render()
        for line in [
            #"intake_jobs_total{env="prod",outcome="done"} 0"#, #"intake_jobs_total{env="beta",outcome="failed"} 0"#,
            #"intake_queue_depth{env="beta"} 0.0"#, "intake_retries_total 1", "# TYPE intake_commit_batch_jobs histogram",
            #"intake_commit_batch_jobs_bucket{le="4.0"} 1"#, #"intake_commit_batch_jobs_bucket{le="2.0"} 0"#, "intake_commit_batch_jobs_count 1",
            "# HELP intake_jobs_total Jobs made final, by environment and outcome (done, failed).",
        ] {
            #expect(text.contains(line), "no \(line) in:\n\(text)")
        }
        // Every sample line is NAME{LABELS} VALUE with a number Prometheus reads.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let value = line.split(separator: " ").last.map(String.init) ?? ""
            #expect(Double(value) != nil || ["+Inf", "-Inf", "NaN"].contains(value), "\(line)")
            #expect(line.hasPrefix("intake_"), "\(line)")
        }
    }
}


@Suite("Metrics file")
struct MetricsFileTests {
    @Test func writeReplacesAtomicallyAndLeavesNoTemporaryFile() throws {
        let folder = try makeMetricsScratchFolder()
        defer { removeMetricsScratchFolder(folder) }
        let path = folder + "/metrics.prom"
        try MetricsFile.write("first 1\n", to: path)
        #expect(readWholeFile(path) == "first 1\n")

        // A reader holding the old file keeps seeing all of it: the new file is a new inode
        // renamed over the name, not the old one truncated and rewritten.
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        #expect(reader >= 0)
        defer { close(reader) }
        try MetricsFile.write("second 2\n", to: path)
        #expect(readWholeFile(path) == "second 2\n")
        #expect(readAll(reader) == "first 1\n")
        #expect(folderEntries(folder) == ["metrics.prom"])

        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o644)
    }

    @Test func leftoverTemporaryFileIsOverwrittenAndRemoved() throws {
        let folder = try makeMetricsScratchFolder()
        defer { removeMetricsScratchFolder(folder) }
        let path = folder + "/metrics.prom"
        let stale = open(path + MetricsFile.temporarySuffix, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        _ = write(stale, "stale stale stale stale\n", 24)
        close(stale)
        try MetricsFile.write("fresh 1\n", to: path)
        #expect(readWholeFile(path) == "fresh 1\n")
        #expect(folderEntries(folder) == ["metrics.prom"])
    }

    @Test func failureNamesThePathAndTheReason() {
        let path = "/nonexistent-intake-folder/metrics.prom"
        #expect(throws: MetricsFileError(path: path + ".tmp", operation: "open", code: ENOENT)) {
            try MetricsFile.write("x 1\n", to: path)
        }
        let error = MetricsFileError(path: path + ".tmp", operation: "open", code: ENOENT)
        #expect(error.description == "cannot open /nonexistent-intake-folder/metrics.prom.tmp: No such file or directory")
    }
}

private struct ScratchFolderFailure: Error {
    let code: Int32
}

private func makeMetricsScratchFolder() throws -> String {
    var template = Array("/tmp/intake-metrics-test-XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { throw ScratchFolderFailure(code: errno) }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

private func removeMetricsScratchFolder(_ folder: String) {
    for name in folderEntries(folder) { unlink(folder + "/" + name) }
    rmdir(folder)
}

/// The names in `folder`, sorted, without `.` and `..`.
private func folderEntries(_ folder: String) -> [String] {
    guard let directory = opendir(folder) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

private func readWholeFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    return readAll(fd)
}

private func readAll(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        bytes += chunk[..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
