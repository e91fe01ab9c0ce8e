import Glibc
import Testing

@testable import IntakeDaemon

@Suite("Metrics registry and text format")
struct MetricsRegistryTests {
    @Test func smallRegistryRendersExactly() {
        let registry = MetricsRegistry()
        let jobs = registry.counter("intake_jobs_total", help: "Jobs finished, by environment and outcome.")
        let depth = registry.gauge("intake_queue_depth", help: "Jobs waiting in the queue.")
        let latency = registry.histogram("intake_stage_seconds", help: "Stage latency.", buckets: [0.01, 0.1, 1])
        jobs.increment(labels: [("outcome", "processed"), ("environment", "prod")])
        jobs.increment(by: 2, labels: [("environment", "prod"), ("outcome", "processed")])
        jobs.increment(labels: [("environment", "beta"), ("outcome", "failed")])
        depth.set(7)
        latency.observe(0.005, labels: [("stage", "decode")])
        latency.observe(0.25, labels: [("stage", "decode")])
        latency.observe(0.5, labels: [("stage", "derive")])

        #expect(registry.render() == """
            # HELP intake_jobs_total Jobs finished, by environment and outcome.
            # TYPE intake_jobs_total counter
            intake_jobs_total{environment="beta",outcome="failed"} 1
            intake_jobs_total{environment="prod",outcome="processed"} 3
            # HELP intake_queue_depth Jobs waiting in the queue.
            # TYPE intake_queue_depth gauge
            intake_queue_depth 7
            # HELP intake_stage_seconds Stage latency.
            # TYPE intake_stage_seconds histogram
            intake_stage_seconds_bucket{stage="decode",le="0.01"} 1
            intake_stage_seconds_bucket{stage="decode",le="0.1"} 1
            intake_stage_seconds_bucket{stage="decode",le="1"} 2
            intake_stage_seconds_bucket{stage="decode",le="+Inf"} 2
            intake_stage_seconds_sum{stage="decode"} 0.255
            intake_stage_seconds_count{stage="decode"} 2
            intake_stage_seconds_bucket{stage="derive",le="0.01"} 0
            intake_stage_seconds_bucket{stage="derive",le="0.1"} 0
            intake_stage_seconds_bucket{stage="derive",le="1"} 1
            intake_stage_seconds_bucket{stage="derive",le="+Inf"} 1
            intake_stage_seconds_sum{stage="derive"} 0.5
            intake_stage_seconds_count{stage="derive"} 1

            """)
    }

    @Test func emptyRegistryAndUntouchedFamilies() {
        let registry = MetricsRegistry()
        #expect(registry.render() == "")
        _ = registry.counter("b_total", help: "B.")
        _ = registry.gauge("a", help: "A.")
        // Families sort by name; a family without series still says what it is.
        #expect(registry.render() == "# HELP a A.\n# TYPE a gauge\n# HELP b_total B.\n# TYPE b_total counter\n")
    }

    @Test func labelValuesAndHelpAreEscaped() {
        let registry = MetricsRegistry()
        let counter = registry.counter("c_total", help: "Back\\slash \"quoted\"\nsecond line")
        counter.increment(labels: [("name", "a\\b\"c\nd")])
        #expect(registry.render() == """
            # HELP c_total Back\\\\slash "quoted"\\nsecond line
            # TYPE c_total counter
            c_total{name="a\\\\b\\"c\\nd"} 1

            """)
    }

    @Test func histogramBucketsAreCumulativeAndInclusive() {
        let registry = MetricsRegistry()
        let sizes = registry.histogram("size_bytes", help: "Sizes.", buckets: [10, 100, 1000, .infinity])
        #expect(sizes.buckets == [10, 100, 1000])
        for value in [1.0, 10, 11, 100, 500, 5000, .nan] { sizes.observe(value) }
        let text = registry.render()
        #expect(text.contains("size_bytes_bucket{le=\"10\"} 2\n"))  // 1 and 10: `le` is inclusive
        #expect(text.contains("size_bytes_bucket{le=\"100\"} 4\n"))
        #expect(text.contains("size_bytes_bucket{le=\"1000\"} 5\n"))
        #expect(text.contains("size_bytes_bucket{le=\"+Inf\"} 7\n"))
        #expect(text.contains("size_bytes_count 7\n"))
        #expect(text.contains("size_bytes_sum NaN\n"))
        #expect(!text.contains("le=\"inf\""))
    }

    @Test func sameNameGivesTheSameMetric() {
        let registry = MetricsRegistry()
        registry.counter("x_total", help: "First.").increment()
        registry.counter("x_total", help: "Second.").increment()
        #expect(registry.counter("x_total", help: "").value() == 2)
        #expect(registry.render().hasPrefix("# HELP x_total First.\n"))
    }

    @Test func gaugeGoesUpAndDownAndCounterIgnoresNegatives() {
        let registry = MetricsRegistry()
        let gauge = registry.gauge("g", help: "G.")
        gauge.increment(by: 5)
        gauge.decrement(by: 2)
        gauge.decrement()
        #expect(gauge.value() == 2)
        let counter = registry.counter("c_total", help: "C.")
        counter.increment(by: -3)
        counter.increment(by: .nan)
        #expect(counter.value() == nil)
        counter.increment(by: 0)
        #expect(registry.render().contains("c_total 0\n"))
    }

    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (3.0, "3"), (-12.0, "-12"), (0.5, "0.5"), (0.005, "0.005"), (1e-05, "1e-05"),
        (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN"), (1e20, "1e+20"),
        (9_007_199_254_740_991, "9007199254740991"),
    ])
    func numbersAreSpelledAsPrometheusReadsThem(value: Double, expected: String) {
        #expect(PrometheusText.number(value) == expected)
    }

    @Test func namesAreChecked() {
        #expect(PrometheusText.isValidMetricName("intake:jobs_total"))
        #expect(!PrometheusText.isValidMetricName("9jobs"))
        #expect(!PrometheusText.isValidMetricName("jobs-total"))
        #expect(!PrometheusText.isValidMetricName(""))
        #expect(PrometheusText.isValidLabelName("environment"))
        #expect(!PrometheusText.isValidLabelName("__name__"))
        #expect(!PrometheusText.isValidLabelName("a:b"))
    }

    @Test func concurrentUpdatesFromManyTasksAddUp() async {
        let registry = MetricsRegistry()
        let counter = registry.counter("jobs_total", help: "Jobs.")
        let histogram = registry.histogram("seconds", help: "S.", buckets: [0.5])
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let environment = task.isMultiple(of: 2) ? "prod" : "beta"
                    for _ in 0..<5_000 {
                        counter.increment(labels: [("environment", environment)])
                        counter.increment()
                        histogram.observe(0.25)
                    }
                }
            }
        }
        #expect(counter.value(labels: [("environment", "prod")]) == 20_000)
        #expect(counter.value(labels: [("environment", "beta")]) == 20_000)
        #expect(counter.value() == 40_000)
        #expect(histogram.family.snapshot(labels: [])?.count == 40_000)
        #expect(histogram.family.snapshot(labels: [])?.bucketCounts == [40_000])
        #expect(histogram.family.snapshot(labels: [])?.sum == 10_000)
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

@Suite("Metrics HTTP listener")
struct MetricsHTTPServerTests {
    private func registryWithOneCounter() -> MetricsRegistry {
        let registry = MetricsRegistry()
        registry.counter("intake_jobs_total", help: "Jobs.").increment(by: 3, labels: [("environment", "prod")])
        return registry
    }

    @Test func answersAScrapeOverLoopback() throws {
        let registry = registryWithOneCounter()
        let server = MetricsHTTPServer(registry: registry)
        let port = try server.start(host: "127.0.0.1", port: 0)
        defer { server.stop() }
        #expect(port > 0)
        #expect(server.isRunning)

        let body = registry.render()
        let answer = try exchange(port: port, family: AF_INET, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n")
        #expect(answer == """
            HTTP/1.1 200 OK\r
            Content-Type: text/plain; version=0.0.4\r
            Content-Length: \(body.utf8.count)\r
            Connection: close\r
            \r
            \(body)
            """)

        // The same server answers again: one connection after another.
        let root = try exchange(port: port, family: AF_INET, request: "GET /?x=1 HTTP/1.0\r\n\r\n")
        #expect(root.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(root.hasSuffix("intake_jobs_total{environment=\"prod\"} 3\n"))
    }

    @Test func otherPathsAndMethodsAreRefused() throws {
        let server = MetricsHTTPServer(registry: registryWithOneCounter())
        let port = try server.start(host: "localhost", port: 0)
        defer { server.stop() }
        let missing = try exchange(port: port, family: AF_INET, request: "GET /favicon.ico HTTP/1.1\r\n\r\n")
        #expect(missing.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        let post = try exchange(port: port, family: AF_INET, request: "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        #expect(post.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(post.contains("\r\nAllow: GET\r\n"))
        let garbage = try exchange(port: port, family: AF_INET, request: "hello\n\n")
        #expect(garbage.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        let huge = try exchange(port: port, family: AF_INET, request: "GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000))
        #expect(huge.hasPrefix("HTTP/1.1 431 "))
    }

    static let hasIPv6: Bool = {
        let probe = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { return false }
        close(probe)
        return true
    }()

    @Test(.enabled(if: hasIPv6, "needs IPv6 in the kernel"))
    func servesOnIPv6Loopback() throws {
        let server = MetricsHTTPServer(registry: registryWithOneCounter())
        let port = try server.start(host: "::1", port: 0)
        defer { server.stop() }
        let answer = try exchange(port: port, family: AF_INET6, request: "GET /metrics HTTP/1.1\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    @Test(arguments: ["0.0.0.0", "10.1.2.3", "::", "fd00::2", "example.com", "127.1", "::ffff:127.0.0.1", ""])
    func nonLoopbackHostsAreRefusedBeforeBinding(host: String) {
        let server = MetricsHTTPServer(registry: MetricsRegistry())
        #expect(throws: MetricsServerError.notLoopback(host: host)) { try server.start(host: host, port: 0) }
        #expect(!server.isRunning)
    }

    @Test func loopbackForms() {
        #expect(LoopbackAddress(host: "127.0.0.1") == .v4(UInt32(0x7F00_0001).bigEndian))
        #expect(LoopbackAddress(host: "127.255.3.4") != nil)
        #expect(LoopbackAddress(host: "LocalHost") != nil)
        #expect(LoopbackAddress(host: "::1") == .v6)
        #expect(LoopbackAddress(host: "[::1]") == .v6)
        #expect(LoopbackAddress(host: "128.0.0.1") == nil)
    }

    @Test func badPortAndSecondStartAreRefused() throws {
        let server = MetricsHTTPServer(registry: MetricsRegistry())
        #expect(throws: MetricsServerError.invalidPort(70000)) { try server.start(host: "127.0.0.1", port: 70000) }
        try server.start(host: "127.0.0.1", port: 0)
        #expect(throws: MetricsServerError.alreadyRunning) { try server.start(host: "127.0.0.1", port: 0) }
        server.stop()
        server.stop()
        #expect(!server.isRunning)
    }

    @Test func stopClosesTheListener() throws {
        let server = MetricsHTTPServer(registry: MetricsRegistry())
        let port = try server.start(host: "127.0.0.1", port: 0)
        server.stop()
        #expect(throws: (any Error).self) { try exchange(port: port, family: AF_INET, request: "GET / HTTP/1.1\r\n\r\n") }
    }

    @Test func headEndsAtTheBlankLine() {
        #expect(MetricsHTTPExchange.headLength(in: Array("GET / HTTP/1.1\r\nA: b\r\n".utf8)) == nil)
        #expect(MetricsHTTPExchange.headLength(in: Array("GET / HTTP/1.1\r\n\r\nbody".utf8)) == 18)
        #expect(MetricsHTTPExchange.headLength(in: Array("GET / HTTP/1.0\n\n".utf8)) == 16)
    }
}

// MARK: - Helpers

private struct SocketFailure: Error {
    let operation: String
    let code: Int32
}

/// Connects to the loopback `port`, sends `request`, and reads the answer until the server closes.
private func exchange(port: Int, family: Int32, request: String) throws -> String {
    let fd = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SocketFailure(operation: "socket", code: errno) }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let address: LoopbackAddress = family == AF_INET6 ? .v6 : .v4(UInt32(INADDR_LOOPBACK).bigEndian)
    let connected = address.withSocketAddress(port: UInt16(port)) { connect(fd, $0, $1) }
    guard connected == 0 else { throw SocketFailure(operation: "connect", code: errno) }
    let bytes = Array(request.utf8)
    guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw SocketFailure(operation: "send", code: errno) }
    var answer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = recv(fd, &chunk, chunk.count, 0)
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw SocketFailure(operation: "recv", code: errno) }
        if n == 0 { break }
        answer += chunk[..<n]
    }
    return String(decoding: answer, as: UTF8.self)
}

private func makeMetricsScratchFolder() throws -> String {
    var template = Array("/tmp/intake-metrics-test-XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { throw SocketFailure(operation: "mkdtemp", code: errno) }
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
