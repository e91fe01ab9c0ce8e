import IntakeCodecs
import IntakeCore
import IntakePipeline
import IntakeStore
import IntakeTestSupport
import Testing
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `intake serve` beside a real intaked on one state root, spoken to with curl.
@Suite(.serialized) struct WebServeTests {
    static let hasCurl = access("/usr/bin/curl", X_OK) == 0

    /// Starts `intake serve` on `host`, on a port the system chooses; returns its pid and base URL.
    func serve(_ daemon: DaemonHarness, host: String = "127.0.0.1") throws -> (pid: pid_t, url: String) {
        try serve(["--config", daemon.configPath], host: host, in: daemon.folder.path)
    }

    /// Starts `intake serve` with `arguments` (its root), its output in `folder` (`serve.out`,
    /// `serve.err`).
    func serve(_ arguments: [String], host: String = "127.0.0.1", in folder: String) throws -> (pid: pid_t, url: String) {
        let output = folder + "/serve.out"
        let pid = try ChildProcess.spawn(
            ChildProcess.built("intake"), ["serve"] + arguments + ["--listen", "\(host):0"],
            standardOutput: output, standardError: folder + "/serve.err")
        let url = try Self.awaitOutput(output, saying: "intake serve says where it listens") { text in
            text.split(separator: "\n").first { $0.contains("listening on ") }.map { String($0.split(separator: " ").last!) }
        }
        return (pid, url)
    }

    /// What `found` reads in the file at `path` once it reads anything, within `timeout` seconds.
    static func awaitOutput(_ path: String, saying what: String, timeout: Double = 30, _ found: (String) -> String?) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let value = found(String(decoding: Fixtures.readFile(path) ?? [], as: UTF8.self)) { return value }
            usleep(20_000)
        }
        throw OutputTimeout(what: what)
    }

    struct OutputTimeout: Error {
        let what: String
    }

    func curl(_ arguments: [String]) throws -> String {
        let result = try ChildProcess.run("/usr/bin/curl", ["-s", "--max-time", "30"] + arguments)
        #expect(result.status == 0, "curl \(arguments): \(result.standardError)")
        return result.standardOutput
    }

    /// A string field of a flat JSON answer (`"name":"value"`, as the server writes it, unspaced).
    func field(_ name: String, in json: String) -> String? {
        let key = Array("\"\(name)\":\"".utf8), bytes = Array(json.utf8)
        guard bytes.count >= key.count,
            let start = (0...(bytes.count - key.count)).first(where: { bytes[$0..<$0 + key.count].elementsEqual(key) })
        else { return nil }
        return String(decoding: bytes[(start + key.count)...].prefix { $0 != UInt8(ascii: "\"") }, as: UTF8.self)
    }

    @Test(.enabled(if: hasCurl, "needs curl (scripts/install-deps.sh --test installs it)"))
    func anUploadIsProcessedByTheDaemonUnderTheIdItWasAnsweredWith() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        let goodBytes = Photos.jpeg(width: 640, height: 480, seed: 900)
        let good = daemon.folder.write("good.jpg", goodBytes)
        let accepted = try curl(["--data-binary", "@\(good)", "\(server.url)/v1/inbox/prod?name=good.jpg"])
        let id = try #require(field("jobId", in: accepted), "\(accepted)")
        #expect(field("status", in: accepted) == "PENDING")

        let bad = daemon.folder.write("bad.jpg", [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 7, count: 200))
        let badID = try #require(field("jobId", in: try curl(["--data-binary", "@\(bad)", "\(server.url)/v1/inbox/beta?name=bad.jpg"])))

        // A link to a secret, dropped straight into the inbox: set aside by the daemon, never served.
        symlink("/etc/passwd", daemon.inbox + "/prod/passwd.jpg")
        try daemon.waitForAll(3, timeout: 60)
        let done = try curl(["\(server.url)/v1/jobs/\(id)"])
        #expect(field("status", in: done) == "COMPLETED", "\(done)")
        #expect(field("jobId", in: done) == id)
        let failed = try curl(["\(server.url)/v1/jobs/\(badID)"])
        #expect(field("status", in: failed) == "FAILED", "\(failed)")
        #expect(failed.contains("\"reason\""))
        // The daemon's own records agree: the id was kept from the upload to the database.
        #expect(try daemon.database().job(id: id)?.status == .done)
        #expect(daemon.files("processed").contains { $0.hasSuffix("\(id)-good.jpg") })
        // Its files, served by the URLs the job names.
        #expect(done.contains("\"imageUrl\":\"/v1/files/\(id)/derivative\""), "\(done)")
        #expect(done.contains("/v1/files/\(id)/rotation-90"))
        let fetched = daemon.folder.path + "/fetched"
        #expect(try curl(["-o", fetched, "-w", "%{http_code} %{content_type}", "\(server.url)/v1/files/\(id)/original"]) == "200 image/jpeg")
        let original = Fixtures.readFile(fetched) == goodBytes
        #expect(original, "the original served is not the one uploaded")
        #expect(try curl(["-o", fetched, "-w", "%{http_code} %{content_type}", "\(server.url)/v1/files/\(id)/derivative"]) == "200 image/jpeg")
        let derivative = try #require(try daemon.database().outputs(jobID: id).first { $0.kind == "derivative" })
        let same = Fixtures.readFile(fetched) == Fixtures.readFile(derivative.path)
        #expect(same, "the derivative served is not the one filed")
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "\(server.url)/v1/files/\(id)/elsewhere"]) == "404")
        let link = try #require(try daemon.database().jobs().first { $0.name == "passwd.jpg" })
        #expect(link.status == .failed)
        #expect(try curl(["-o", fetched, "-w", "%{http_code}", "\(server.url)/v1/files/\(link.id)/original"]) == "403")
        #expect(!(String(decoding: Fixtures.readFile(fetched) ?? [], as: UTF8.self).contains("root:")), "the link was followed")
        // A folder on the way made a link to a look-alike holding a file of the same name: not followed either.
        let rotation = try #require(try daemon.database().outputs(jobID: id).first { $0.kind == "rotation" && $0.angle == 90 })
        let rotationFolder = PathText.folder(of: rotation.path), decoy = daemon.folder.path + "/decoy"
        try DurableFile.makeFolders(decoy)
        try DurableFile.write(Array("decoy".utf8), to: decoy + "/" + String(rotation.path.split(separator: "/").last!))
        #expect(rename(rotationFolder, rotationFolder + ".moved") == 0 && symlink(decoy, rotationFolder) == 0)
        #expect(try curl(["-o", fetched, "-w", "%{http_code}", "\(server.url)/v1/files/\(id)/rotation-90"]) == "403")
        #expect(Fixtures.readFile(fetched).map { String(decoding: $0, as: UTF8.self) } != "decoy", "the folder's link was followed")
        #expect(unlink(rotationFolder) == 0 && rename(rotationFolder + ".moved", rotationFolder) == 0)
        #expect(try curl(["-o", fetched, "-w", "%{http_code}", "\(server.url)/v1/files/\(id)/rotation-90"]) == "200")

        let health = try curl(["-w", "%{http_code}", "-o", "/dev/null", "\(server.url)/healthz"])
        #expect(health == "200")
        // HEAD wherever GET is (uptime checkers ask it): the GET's head, no body, and the
        // connection still good for the next request (curl reuses it across these URLs).
        let heads = try curl(["-I", "\(server.url)/healthz", "\(server.url)/v1/files/\(id)/original", "\(server.url)/v1/jobs/\(badID)"])
        let statuses = heads.split(separator: "\r\n").filter { $0.hasPrefix("HTTP/1.1 ") }
        #expect(statuses == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK"], "\(heads)")
        #expect(heads.lowercased().contains("content-length: \(goodBytes.count)\r\n"), "\(heads)")
        #expect(try curl(["-I", "-o", "/dev/null", "-w", "%{http_code}", "\(server.url)/v1/jobs/06h4xje04fh4px4z"]) == "404")

        // A page on a domain pointed at 127.0.0.1 (DNS rebinding) is its own origin to the browser,
        // but its Host names that domain: refused, and nothing goes in. Another site's page too.
        let port = String(server.url.split(separator: ":").last ?? "")
        let rebound = try curl([
            "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: rebind.example:\(port)", "-H", "Origin: http://rebind.example:\(port)",
            "-H", "Content-Type: text/plain", "--data-binary", "@\(good)", "\(server.url)/v1/inbox/prod?name=rebound.jpg",
        ])
        #expect(rebound == "403")
        let crossSite = try curl([
            "-o", "/dev/null", "-w", "%{http_code}", "-H", "Origin: https://evil.example", "-H", "Content-Type: text/plain",
            "--data-binary", "@\(good)", "\(server.url)/v1/inbox/prod?name=drive-by.jpg",
        ])
        #expect(crossSite == "403")
        #expect(!daemon.files("processed").contains { $0.hasSuffix("rebound.jpg") || $0.hasSuffix("drive-by.jpg") })
        #expect(access(daemon.inbox + "/prod/rebound.jpg", F_OK) != 0 && access(daemon.inbox + "/prod/drive-by.jpg", F_OK) != 0)

        // /metrics: this server's own (its uploads, its requests) and the daemon's, which has no network.
        var metrics = ""
        try daemon.waitUntil("the daemon's metrics show its jobs on /metrics", timeout: 20) {
            metrics = (try? curl(["\(server.url)/metrics"])) ?? ""
            return metrics.contains(#"intake_jobs_total{env="prod",outcome="done"} 1"#)
        }
        for line in [#"intake_serve_uploads_total{kind="body"} 2"#, "intake_daemon_metrics_age_seconds", "# TYPE intake_queue_depth gauge",
                     "http_server_request_duration_bucket{http_route=\"/v1/inbox/{env}\""] {
            #expect(metrics.contains(line), "/metrics lacks \(line):\n\(metrics)")
        }
        // The shipped alerting rules and dashboard name only metrics intake really exports.
        for shipped in ["etc/prometheus/intake-rules.yml", "etc/grafana/intake-dashboard.json"] {
            let text = String(decoding: try #require(Fixtures.readFile(Fixtures.packageRoot + "/" + shipped)), as: UTF8.self)
            let names = Set(text.matches(of: /intake_[a-z_]+/).map { String($0.output) }.map {
                $0.replacing(/_(bucket|sum|count)$/, with: "")
            })
            #expect(names.count >= 8, "\(shipped) names only \(names)")
            for name in names { #expect(metrics.contains("# TYPE \(name) "), "\(shipped) names \(name), which /metrics lacks") }
        }
        #expect(daemon.stop() == 0)
    }

    /// On both stores: the event stream follows the store by its data version, which PostgreSQL
    /// gives differently (and once did not give at all, so that no event ever came).
    @Test(.enabled(if: hasCurl, "needs curl (scripts/install-deps.sh --test installs it)"), arguments: DaemonStore.available)
    func eachOutcomeIsAnEventAndOpenEventStreamsDoNotHoldUpAStop(store: DaemonStore) throws {
        let daemon = try DaemonHarness(store: try store.makeURL())
        try daemon.start()
        let server = try serve(daemon)
        let events = daemon.folder.path + "/events.txt"
        let listener = try ChildProcess.spawn(
            "/usr/bin/curl", ["-s", "-N", "\(server.url)/v1/events"], standardOutput: events, standardError: daemon.folder.path + "/curl.err")
        defer {
            kill(listener, SIGKILL)
            ChildProcess.waitFor(listener)
        }
        try daemon.waitUntil("the listener is connected", timeout: 10) {
            String(decoding: Fixtures.readFile(events) ?? [], as: UTF8.self).contains("listening")
        }
        let photo = daemon.folder.write("e.jpg", Photos.jpeg(width: 320, height: 240, seed: 950))
        let id = try #require(field("jobId", in: try curl(["--data-binary", "@\(photo)", "\(server.url)/v1/inbox/beta?name=e.jpg"])))
        try daemon.waitUntil("the outcome arrives as an event", timeout: 30) {
            let text = String(decoding: Fixtures.readFile(events) ?? [], as: UTF8.self)
            return text.contains("id: \(id)") && text.contains("\"status\":\"COMPLETED\"")
        }
        // SIGTERM with the event stream still open: the stream ends and the server stops.
        kill(server.pid, SIGTERM)
        var stopped = false
        try? daemon.waitUntil("intake serve stops", timeout: 20) {
            stopped = waitpid(server.pid, nil, WNOHANG) == server.pid
            return stopped
        }
        if !stopped {
            kill(server.pid, SIGKILL)
            ChildProcess.waitFor(server.pid)
        }
        #expect(stopped, "intake serve did not stop with an event stream open")
        #expect(daemon.stop() == 0)
    }

    @Test func submitWaitsForTheOutcomesAndItsExitStatusSaysWhetherAnyFailed() throws {
        let daemon = try DaemonHarness(settings: #"""
            [meters]
            folder_pattern = "MTR-\\d+"
            """#)
        try daemon.start()
        let server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        let intake = ChildProcess.built("intake")
        let good = daemon.folder.write("good.jpg", Photos.jpeg(width: 320, height: 240, seed: 960))
        let bad = daemon.folder.write("bad.jpg", [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 9, count: 300))

        // Over HTTP: one completes, one fails, so the exit status is 2; both outcomes printed.
        let remote = try ChildProcess.run(intake, ["submit", good, bad, "--env", "beta", "--url", server.url, "--wait", "--timeout", "60"])
        #expect(remote.status == 2, "\(remote.standardError)")
        #expect(remote.standardOutput.contains("\"status\":\"COMPLETED\"") && remote.standardOutput.contains("\"status\":\"FAILED\""))

        // Straight into the local inbox, read back from the database: all completed, status 0.
        let local = try ChildProcess.run(intake, ["submit", good, "--env", "prod", "--meter", "MTR-3", "--config", daemon.configPath, "--wait"])
        #expect(local.status == 0, "\(local.standardError)")
        let id = try #require(field("jobId", in: local.standardOutput), "\(local.standardOutput)")
        #expect(try daemon.database().job(id: id)?.sourcePath == "prod/MTR-3/good.jpg")

        // A meter intake does not know (a typo) is refused, not filed as a plain folder: status 1.
        let typo = try ChildProcess.run(intake, ["submit", good, "--env", "prod", "--meter", "MTR-3x", "--config", daemon.configPath])
        #expect(typo.status == 1)
        #expect(typo.standardError.contains("no meter \"MTR-3x\""), "\(typo.standardError)")

        // A file intake cannot take is refused before anything is sent on: status 1, the reason said.
        let text = daemon.folder.write("notes.txt", Array("not an image at all, just some words about one".utf8))
        let refused = try ChildProcess.run(intake, ["submit", text, "--env", "beta", "--url", server.url])
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("intake takes \(ImageType.decodableNames)"), "\(refused.standardError)")

        // One file refused among others: said, and the others still go (they were dropped in silence).
        let second = daemon.folder.write("second.jpg", Photos.jpeg(width: 64, height: 48, seed: 961))
        let mixed = try ChildProcess.run(intake, ["submit", good, text, second, "--env", "beta", "--url", server.url])
        #expect(mixed.status == 1)
        #expect(mixed.standardError.contains("notes.txt") && !mixed.standardError.contains("not submitted"), "\(mixed.standardError)")
        #expect(mixed.standardOutput.components(separatedBy: "\"jobId\"").count == 3, "\(mixed.standardOutput)")

        // A server out of reach is said at once (the shared client retried for a minute), and
        // the files after the first are named as not submitted.
        let closed = try ChildProcess.run(intake, ["submit", good, second, "--env", "beta", "--url", "http://127.0.0.1:1"])
        #expect(closed.status == 1)
        #expect(closed.standardError.contains("Connection refused") && closed.standardError.contains("not submitted: \(second)"), "\(closed.standardError)")
        #expect(daemon.stop() == 0)
    }

    /// A server that takes the upload and then never answers: `--wait --timeout 3` gives up after
    /// about 3 s, not after a minute's question (a silent server made a 10 s wait last 62 s).
    @Test(.enabled(if: access("/usr/bin/python3", X_OK) == 0, "needs python3 to play a server that stops answering"))
    func submitWaitsNoLongerThanItsTimeoutWhenTheServerFallsSilent() throws {
        let folder = try TemporaryFolder()
        let script = """
            import socket, threading, time
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen(8)
            print(server.getsockname()[1], flush=True)
            def serve(connection):
                data = b""
                while True:
                    while b"\\r\\n\\r\\n" not in data:
                        chunk = connection.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, data = data.partition(b"\\r\\n\\r\\n")
                    if not head.startswith(b"POST"):
                        time.sleep(300)  # asked how the job stands: never answers
                        return
                    length = int([line.split(b":")[1] for line in head.split(b"\\r\\n") if line.lower().startswith(b"content-length")][0])
                    while len(data) < length:
                        data += connection.recv(65536)
                    data = data[length:]
                    body = b'{"jobId":"06h4xje04fh4px4z","status":"PENDING"}'
                    connection.sendall(b"HTTP/1.1 202 Accepted\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body) + body)
            while True:
                connection, _ = server.accept()
                threading.Thread(target=serve, args=(connection,), daemon=True).start()
            """
        let portFile = folder.path + "/port"
        let server = try ChildProcess.spawn("/usr/bin/python3", ["-c", script], standardOutput: portFile, standardError: folder.path + "/server.err")
        defer {
            kill(server, SIGKILL)
            _ = ChildProcess.waitFor(server)
        }
        let port = try Self.awaitOutput(portFile, saying: "the silent server says its port", timeout: 20) { text in
            let port = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return port.isEmpty ? nil : port
        }
        let photo = folder.write("p.jpg", Photos.jpeg(width: 32, height: 32, seed: 5))
        let started = Date()
        let result = try ChildProcess.run(
            ChildProcess.built("intake"), ["submit", photo, "--env", "beta", "--url", "http://127.0.0.1:\(port)", "--wait", "--timeout", "3"])
        let took = Date().timeIntervalSince(started)
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardOutput.contains("06h4xje04fh4px4z"), "the job taken is not named")
        #expect(took < 30, "a 3 s wait took \(Int(took)) s")
    }

    /// A Python script that connects to the server at `url` as `s` and begins an upload that
    /// promises 100 kB (its header and a JPEG's first bytes), then runs `rest`: the test's.
    static func slowUploadScript(to url: String, then rest: String) -> String {
        let port = String(url.split(separator: ":").last!)
        return """
            import socket, time
            s = socket.create_connection(("127.0.0.1", \(port)))
            s.sendall(b"POST /v1/inbox/prod?name=slow.jpg HTTP/1.1\\r\\nHost: 127.0.0.1:\(port)\\r\\nContent-Length: 100000\\r\\n\\r\\n" + b"\\xff\\xd8\\xff\\xe0" + b"x" * 100)

            """ + rest
    }

    @Test(.enabled(if: access("/usr/bin/python3", X_OK) == 0 && hasCurl, "needs python3 to play a stalled client, and curl"))
    func aStalledUploadHoldsItsPlaceUntilItIsCutOffAndItsPartialFileRemoved() throws {
        let daemon = try DaemonHarness(settings: "[web]\nidle_timeout_seconds = 2\nmax_concurrent_uploads = 1\n")
        let server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        // A client that promises 100 kB, sends a JPEG's first bytes, then says nothing more.
        let script = Self.slowUploadScript(to: server.url, then: "time.sleep(20)\n")
        let client = try ChildProcess.spawn("/usr/bin/python3", ["-c", script],
                                            standardOutput: daemon.folder.path + "/client.out", standardError: daemon.folder.path + "/client.err")
        defer {
            kill(client, SIGKILL)
            ChildProcess.waitFor(client)
        }
        let uploads = daemon.inbox + "/.intake-uploads"
        try daemon.waitUntil("the stalled upload has begun", timeout: 10) { !FileManagerless.list(uploads).isEmpty }

        // The one place is taken: another upload is told to come back, and nothing of it is kept.
        let good = daemon.folder.write("good.jpg", Photos.jpeg(width: 64, height: 64, seed: 5))
        let busy = try curl(["-i", "--data-binary", "@\(good)", "\(server.url)/v1/inbox/prod?name=good.jpg"])
        #expect(busy.hasPrefix("HTTP/1.1 503"), "\(busy)")
        #expect(busy.lowercased().contains("retry-after: 1"), "\(busy)")
        #expect(busy.contains("\"code\":\"busy\""), "\(busy)")

        try daemon.waitUntil("the stalled upload is cut off and removed", timeout: 15) { FileManagerless.list(uploads).isEmpty }
        #expect(FileManagerless.list(daemon.inbox + "/prod").isEmpty, "a partial or refused file reached the inbox")
        // Its place is free again.
        let accepted = try curl(["--data-binary", "@\(good)", "\(server.url)/v1/inbox/prod?name=good.jpg"])
        #expect(field("status", in: accepted) == "PENDING", "\(accepted)")
    }

    /// A failure on the server's side is in its log (the journal, under systemd), not only in the
    /// answer a client may not keep: here the database is not there yet. A client's own mistake
    /// (a 404) is not, at the default level.
    @Test(.enabled(if: hasCurl, "needs curl (scripts/install-deps.sh --test installs it)"))
    func aFailureOnTheServersSideIsLogged() throws {
        let folder = try TemporaryFolder()
        try DurableFile.makeFolders(folder.path + "/state/inbox/prod")
        let (pid, url) = try serve(["--root", folder.path + "/state"], in: folder.path)
        defer {
            kill(pid, SIGTERM)
            _ = ChildProcess.waitFor(pid)
        }
        let errors = folder.path + "/serve.err"
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "\(url)/v1/jobs"]) == "503")
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "\(url)/v1/nothing-here"]) == "404")
        let log = String(decoding: Fixtures.readFile(errors) ?? [], as: UTF8.self)
        let lines = log.split(separator: "\n").filter { $0.contains("database_unavailable") }
        #expect(lines.count == 1 && lines[0].contains("503") && lines[0].contains("/v1/jobs"), "\(log)")
        #expect(!log.contains("/v1/nothing-here"), "\(log)")
    }

    /// Two `Host` fields are refused (RFC 9112): the loopback check would read the first, and a
    /// proxy in front may have read the other.
    @Test(.enabled(if: access("/usr/bin/python3", X_OK) == 0, "needs python3 to send two Host fields"))
    func aRequestWithTwoHostsIsRefused() throws {
        let daemon = try DaemonHarness()
        let server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            _ = ChildProcess.waitFor(server.pid)
        }
        let port = server.url.split(separator: ":").last!
        let script = """
            import socket
            for hosts in ([b"127.0.0.1"], [b"127.0.0.1", b"evil.example"]):
                s = socket.create_connection(("127.0.0.1", \(port)), timeout=5)
                s.sendall(b"GET /v1/environments HTTP/1.1\\r\\n" + b"".join(b"Host: " + h + b"\\r\\n" for h in hosts) + b"Connection: close\\r\\n\\r\\n")
                print(s.recv(200).split(b"\\r\\n")[0].decode())
            """
        let out = daemon.folder.path + "/hosts.out"
        let client = try ChildProcess.spawn("/usr/bin/python3", ["-c", script], standardOutput: out, standardError: out + ".err")
        _ = ChildProcess.waitFor(client)
        let lines = String(decoding: Fixtures.readFile(out) ?? [], as: UTF8.self)
        #expect(lines == "HTTP/1.1 200 OK\nHTTP/1.1 400 Bad Request\n", "\(lines) \(String(decoding: Fixtures.readFile(out + ".err") ?? [], as: UTF8.self))")
    }

    /// curl sends `Expect: 100-continue` before any body over 1 MiB (so do apps on libcurl) and
    /// waits for `100 Continue` (curl a second, a strict client for good): it is answered, except
    /// to a declared length over `max_bytes`, which gets its 413 before any body is sent.
    @Test(.enabled(if: access("/usr/bin/python3", X_OK) == 0 && hasCurl, "needs python3 to play a client that waits for 100, and curl"))
    func aClientThatAsksWhetherToSendItsBodyIsToldToContinue() throws {
        let daemon = try DaemonHarness(settings: "[web]\nmax_bytes = 3000000\nidle_timeout_seconds = 5\n")
        let server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        var photo = Photos.jpeg(width: 64, height: 64, seed: 8)
        photo += [UInt8](repeating: 0, count: 1_500_000)  // past the end of the image: still a JPEG to the sniffer
        // curl -v says what it sent and received on standard error.
        func verbose(_ arguments: [String]) throws -> String {
            let result = try ChildProcess.run("/usr/bin/curl", ["-s", "-v", "--max-time", "30"] + arguments)
            return result.standardError + result.standardOutput
        }
        let big = daemon.folder.write("big.jpg", photo)
        let told = try verbose(["--data-binary", "@\(big)", "\(server.url)/v1/inbox/prod?name=big.jpg"])
        #expect(told.contains("> Expect: 100-continue"), "\(told)")
        #expect(told.contains("< HTTP/1.1 100 Continue") && told.contains("< HTTP/1.1 202 Accepted"), "\(told)")
        #expect(Fixtures.readFile(daemon.inbox + "/prod/big.jpg") == photo || daemon.files("processed").contains { $0.hasSuffix("-big.jpg") })

        let tooBig = daemon.folder.write("toobig.jpg", photo + photo)
        let refused = try verbose(["--data-binary", "@\(tooBig)", "\(server.url)/v1/inbox/prod?name=toobig.jpg"])
        #expect(refused.contains("< HTTP/1.1 413") && !refused.contains("100 Continue"), "\(refused)")

        // A strict client sends nothing until told to: without the 100 it would wait for ever.
        let port = server.url.split(separator: ":").last!
        let script = """
            import socket, sys
            body = open(sys.argv[1], "rb").read()
            s = socket.create_connection(("127.0.0.1", \(port)), timeout=4)
            s.sendall(b"POST /v1/inbox/prod?name=strict.jpg HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nExpect: 100-continue\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body))
            interim = s.recv(100)
            print(interim.split(b"\\r\\n")[0].decode())
            if interim.startswith(b"HTTP/1.1 100"):
                s.sendall(body)
                print(s.recv(100).split(b"\\r\\n")[0].decode())
            """
        let strict = daemon.folder.write("strict.jpg", Photos.jpeg(width: 32, height: 32, seed: 3))
        let out = daemon.folder.path + "/strict.out"
        let client = try ChildProcess.spawn("/usr/bin/python3", ["-c", script, strict], standardOutput: out, standardError: out + ".err")
        _ = ChildProcess.waitFor(client)
        let lines = String(decoding: Fixtures.readFile(out) ?? [], as: UTF8.self)
        #expect(lines == "HTTP/1.1 100 Continue\nHTTP/1.1 202 Accepted\n", "\(lines) \(String(decoding: Fixtures.readFile(out + ".err") ?? [], as: UTF8.self))")
    }

    /// A client that trickles (a few bytes every half second: never idle long enough to be cut
    /// off for silence) would hold its upload's place for good. Past twice the idle timeout, an
    /// upload under `min_upload_bytes_per_second` on average is cut off with 408.
    @Test(.enabled(if: access("/usr/bin/python3", X_OK) == 0 && hasCurl, "needs python3 to play a trickling client, and curl"))
    func aTricklingUploadIsCutOffOnceItFallsBehindTheLeastPace() throws {
        let daemon = try DaemonHarness(
            settings: "[web]\nidle_timeout_seconds = 1\nmax_concurrent_uploads = 1\nmin_upload_bytes_per_second = 1000\n")
        let server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        let script = Self.slowUploadScript(to: server.url, then: """
            s.settimeout(0.5)
            answer = b""
            for _ in range(40):
                try:
                    s.sendall(b"x" * 5)
                except OSError:
                    break
                try:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
                    if b"}}" in answer:
                        break
                except socket.timeout:
                    pass
            print(answer.decode("latin-1"))
            """)
        let started = ContinuousClock.now
        let client = try ChildProcess.run("/usr/bin/python3", ["-c", script])
        #expect(client.standardOutput.hasPrefix("HTTP/1.1 408"), "\(client.standardOutput) \(client.standardError)")
        #expect(client.standardOutput.contains("\"code\":\"too_slow\""), "\(client.standardOutput)")
        #expect(ContinuousClock.now - started < .seconds(15), "cut off by the pace, not by the client giving up")
        let uploads = daemon.inbox + "/.intake-uploads"
        try daemon.waitUntil("the trickled upload is removed", timeout: 10) { FileManagerless.list(uploads).isEmpty }
        #expect(FileManagerless.list(daemon.inbox + "/prod").isEmpty, "a partial file reached the inbox")
        let good = daemon.folder.write("good.jpg", Photos.jpeg(width: 64, height: 64, seed: 6))
        #expect(field("status", in: try curl(["--data-binary", "@\(good)", "\(server.url)/v1/inbox/prod?name=good.jpg"])) == "PENDING")
    }

    /// Clients that ask for a file or the event stream and reset the connection at once: the
    /// response's head then fails to be written and its body is never run. The file each opened
    /// used to stay open for good; the server's descriptors must not grow with such requests.
    @Test(.enabled(if: access("/usr/bin/python3", X_OK) == 0 && hasCurl, "needs python3 to reset connections, and curl"))
    func requestsWhoseClientsResetAtOnceLeaveNoDescriptorOpen() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
            daemon.stop()
        }
        let photo = daemon.folder.write("p.jpg", Photos.jpeg(width: 64, height: 64, seed: 8))
        let job = try #require(field("jobId", in: try curl(["--data-binary", "@\(photo)", "\(server.url)/v1/inbox/prod?name=p.jpg"])))
        try daemon.waitUntil("the job is done", timeout: 30) { try daemon.database().job(id: job)?.status == .done }
        let port = String(server.url.split(separator: ":").last!)
        func descriptors() -> Int { FileManagerless.list("/proc/\(server.pid)/fd").count }
        // Warmed up first: the database, the log, the pools a first request opens.
        _ = try curl(["\(server.url)/v1/files/\(job)/original", "-o", "/dev/null"])
        let before = descriptors()
        let script = """
            import socket, struct, time
            for n in range(300):
                s = socket.create_connection(("127.0.0.1", \(port)))
                path = "/v1/files/\(job)/original" if n % 2 == 0 else "/v1/events"
                s.sendall(("GET %s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" % path).encode())
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            """
        let client = try ChildProcess.run("/usr/bin/python3", ["-c", script])
        #expect(client.status == 0, "\(client.standardError)")
        // The server notices each reset within moments; what is still open after that leaked.
        var after = descriptors()
        for _ in 0..<50 where after > before + 4 {
            usleep(100_000)
            after = descriptors()
        }
        #expect(after <= before + 4, "\(after - before) more descriptors open after 300 reset requests")
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", "\(server.url)/v1/files/\(job)/original"]) == "200")
    }

    /// A tus upload over a link that breaks: the client sends half the file and the connection
    /// drops; `intake serve` is then killed and started again. HEAD says how much arrived, the
    /// rest is sent from there, and the daemon processes the whole file under the upload's id.
    @Test(.enabled(if: access("/usr/bin/python3", X_OK) == 0 && hasCurl, "needs python3 to play a client whose link breaks, and curl"))
    func aResumableUploadGoesOnAfterABrokenConnectionAndARestartOfTheServer() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        var server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        let jpeg = Photos.jpeg(width: 640, height: 480, seed: 901)
        let whole = daemon.folder.write("whole.jpg", jpeg)
        let metadata = "filename \(Data("over a poor link.jpg".utf8).base64EncodedString()),env \(Data("prod".utf8).base64EncodedString())"
        let created = try curl(["-i", "-X", "POST", "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Length: \(jpeg.count)", "-H", "Upload-Metadata: \(metadata)",
                                "\(server.url)/v1/uploads"])
        #expect(created.hasPrefix("HTTP/1.1 201"), "\(created)")
        let id = try #require(field("uploadId", in: created), "\(created)")

        // Half the bytes of a PATCH that promised them all, then the link goes.
        let half = jpeg.count / 2
        let port = String(server.url.split(separator: ":").last!)
        let script = """
            import socket, time
            data = open("\(whole)", "rb").read()
            s = socket.create_connection(("127.0.0.1", \(port)))
            s.sendall(b"PATCH /v1/uploads/\(id) HTTP/1.1\\r\\nHost: 127.0.0.1:\(port)\\r\\nTus-Resumable: 1.0.0\\r\\nUpload-Offset: 0\\r\\n"
                      + b"Content-Type: application/offset+octet-stream\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(data) + data[:\(half)])
            time.sleep(1)
            s.close()
            """
        let client = try ChildProcess.run("/usr/bin/python3", ["-c", script])
        #expect(client.status == 0, "\(client.standardError)")
        func offset(_ url: String) throws -> Int? {
            let head = try curl(["-I", "-H", "Tus-Resumable: 1.0.0", "\(url)/v1/uploads/\(id)"]).lowercased()
            return head.split(separator: "\r\n").first { $0.hasPrefix("upload-offset: ") }.flatMap { Int($0.dropFirst("upload-offset: ".count)) }
        }
        var received = 0
        try daemon.waitUntil("the bytes that arrived are counted", timeout: 10) {
            received = (try? offset(server.url)) ?? nil ?? 0
            return received == half
        }
        #expect(FileManagerless.list(daemon.inbox + "/prod").isEmpty, "a partial upload reached the inbox")
        // Its job id answers already: pending, with how much has come.
        let arriving = try curl(["\(server.url)/v1/jobs/\(id)"])
        #expect(field("status", in: arriving) == "PENDING", "\(arriving)")
        #expect(arriving.contains("\"received\":{\"bytes\":\(half),\"length\":\(jpeg.count)}"), "\(arriving)")

        // The server dies; a new one goes on from what the first kept.
        kill(server.pid, SIGKILL)
        ChildProcess.waitFor(server.pid)
        server = try serve(daemon)
        #expect(try offset(server.url) == received)
        let rest = daemon.folder.write("rest", Array(jpeg[received...]))
        let finished = try curl(["-i", "-X", "PATCH", "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: \(received)",
                                 "-H", "Content-Type: application/offset+octet-stream", "--data-binary", "@\(rest)", "\(server.url)/v1/uploads/\(id)"])
        #expect(finished.hasPrefix("HTTP/1.1 204"), "\(finished)")
        try daemon.waitForAll(1, timeout: 60)
        let job = try curl(["\(server.url)/v1/jobs/\(id)"])
        #expect(field("status", in: job) == "COMPLETED", "\(job)")
        let fetched = daemon.folder.path + "/fetched"
        #expect(try curl(["-o", fetched, "-w", "%{http_code}", "\(server.url)/v1/files/\(id)/original"]) == "200")
        let same = Fixtures.readFile(fetched) == jpeg
        #expect(same, "the file processed is not the one uploaded")
        #expect(daemon.stop() == 0)
    }

    /// Two images uploaded first (as the old presign step allowed), then made one job, and two
    /// more sent as one form: the daemon processes each image, and each job answers COMPLETED with
    /// both its images' detections.
    @Test(.enabled(if: hasCurl, "needs curl (scripts/install-deps.sh --test installs it)"))
    func uploadsMadeFirstAreProcessedAsOneJobOfSeveralImages() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        var uploads: [String] = []
        for (index, name) in ["left.jpg", "right.jpg"].enumerated() {
            let bytes = Photos.jpeg(width: 320, height: 240, seed: 930 + index)
            let file = daemon.folder.write(name, bytes)
            let created = try curl(["-X", "POST", "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Length: \(bytes.count)",
                                    "-H", "Upload-Metadata: filename \(Data(name.utf8).base64EncodedString())", "\(server.url)/v1/uploads"])
            let id = try #require(field("uploadId", in: created), "\(created)")
            let sent = try curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH", "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0",
                                 "-H", "Content-Type: application/offset+octet-stream", "--data-binary", "@\(file)", "\(server.url)/v1/uploads/\(id)"])
            #expect(sent == "204")
            uploads.append(id)
        }
        let accepted = try curl(["-H", "Content-Type: application/json", "--data", "{\"uploads\": [\"\(uploads[0])\", \"\(uploads[1])\"], \"env\": \"beta\"}",
                                 "\(server.url)/v1/jobs"])
        let job = try #require(field("jobId", in: accepted), "\(accepted)")
        try daemon.waitForAll(2, timeout: 60)
        let answer = try curl(["\(server.url)/v1/jobs/\(job)"])
        let view = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])
        #expect(view["status"] as? String == "COMPLETED", "\(answer)")
        #expect(view["imageCount"] as? Int == 2)
        let detections = try #require(view["detections"] as? [[String: Any]])
        #expect(detections.map { $0["imageUrl"] as? String } == uploads.map { "/v1/files/\($0)/derivative" }, "\(answer)")
        #expect(try daemon.database().job(id: uploads[1])?.status == .done)

        // The same as one form of two files, as curl -F (or a browser) sends it.
        let files = (0..<2).map { daemon.folder.write("form\($0).jpg", Photos.jpeg(width: 200, height: 150, seed: 940 + $0)) }
        let form = try curl(["-F", "images=@\(files[0])", "-F", "images=@\(files[1])", "-F", "site=north", "\(server.url)/v1/inbox/prod"])
        let formAnswer = try #require(try JSONSerialization.jsonObject(with: Data(form.utf8)) as? [String: Any], "\(form)")
        let formJob = try #require(formAnswer["jobId"] as? String, "\(form)")
        try daemon.waitForAll(4, timeout: 60)
        let formView = try #require(try JSONSerialization.jsonObject(with: Data(try curl(["\(server.url)/v1/jobs/\(formJob)"]).utf8)) as? [String: Any])
        #expect(formView["status"] as? String == "COMPLETED", "\(formView)")
        #expect(formView["imageCount"] as? Int == 2)
        #expect((formView["metadata"] as? [String: String])?["site"] == "north")
        #expect(daemon.stop() == 0)
    }

    @Test func anAddressButLoopbackIsNotServedWithoutATokenToAccept() throws {
        let daemon = try DaemonHarness()
        let intake = ChildProcess.built("intake")
        let result = try ChildProcess.run(intake, ["serve", "--config", daemon.configPath, "--listen", "127.0.0.2:0"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("intake token add"), "\(result.standardError)")

        // A token for an environment there is not (a typo) would be printed and let nothing through.
        let typo = try ChildProcess.run(intake, ["token", "add", "ci", "--env", "prdo", "--config", daemon.configPath])
        #expect(typo.status != 0 && typo.standardError.contains("prdo") && typo.standardOutput.isEmpty, "\(typo.standardError)")
        // The file keeps the mode an administrator gave it (0640, for intake serve's group), and a
        // file the server cannot read is said as such, not as a file without tokens.
        let tokens = daemon.folder.path + "/tokens"
        #expect(try ChildProcess.run(intake, ["token", "add", "ci", "--env", "beta", "--config", daemon.configPath]).status == 0)
        #expect(chmod(tokens, 0o640) == 0)
        #expect(try ChildProcess.run(intake, ["token", "add", "ui", "--read", "--config", daemon.configPath]).status == 0)
        var status = stat()
        #expect(stat(tokens, &status) == 0 && status.st_mode & 0o777 == 0o640)
        unlink(tokens)
        mkdir(tokens, 0o755)  // unreadable as a file, whoever runs the test
        let unreadable = try ChildProcess.run(intake, ["serve", "--config", daemon.configPath, "--listen", "127.0.0.2:0"])
        #expect(unreadable.status != 0 && unreadable.standardError.contains("cannot read the tokens file"), "\(unreadable.standardError)")
    }

    @Test(.enabled(if: hasCurl, "needs curl (scripts/install-deps.sh --test installs it)"))
    func onAnotherAddressEveryRequestNeedsATokenWithTheRightToDoIt() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let intake = ChildProcess.built("intake")
        let add = { (arguments: [String]) throws -> String in
            let result = try ChildProcess.run(intake, ["token", "add"] + arguments + ["--config", daemon.configPath])
            #expect(result.status == 0, "\(result.standardError)")
            return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let ci = try add(["ci", "--env", "beta"])
        let reader = try add(["dashboard", "--read"])
        #expect(ci.hasPrefix("intake_") && ci != reader)
        let listed = try ChildProcess.run(intake, ["token", "list", "--config", daemon.configPath]).standardOutput
        #expect(listed.contains("ci") && listed.contains("dashboard") && !listed.contains(ci), "a token was printed by list")

        // 127.0.0.2 is loopback to the kernel but not to intake serve, which asks for tokens on it.
        let (pid, url) = try serve(daemon, host: "127.0.0.2")
        defer {
            kill(pid, SIGTERM)
            ChildProcess.waitFor(pid)
        }
        let photo = daemon.folder.write("t.jpg", Photos.jpeg(width: 160, height: 120, seed: 970))
        func status(_ arguments: [String]) throws -> String { try curl(["-o", "/dev/null", "-w", "%{http_code}"] + arguments) }
        #expect(try status(["--data-binary", "@\(photo)", "\(url)/v1/inbox/beta?name=t.jpg"]) == "401")
        #expect(try status(["-H", "Authorization: Bearer intake_wrong", "--data-binary", "@\(photo)", "\(url)/v1/inbox/beta?name=t.jpg"]) == "401")
        #expect(try status(["-H", "Authorization: Bearer \(ci)", "--data-binary", "@\(photo)", "\(url)/v1/inbox/prod?name=t.jpg"]) == "403")
        #expect(try status(["-H", "Authorization: Bearer \(reader)", "--data-binary", "@\(photo)", "\(url)/v1/inbox/beta?name=t.jpg"]) == "403")
        let accepted = try curl(["-H", "Authorization: Bearer \(ci)", "--data-binary", "@\(photo)", "\(url)/v1/inbox/beta?name=t.jpg"])
        let id = try #require(field("jobId", in: accepted), "\(accepted)")
        #expect(try status(["-H", "Authorization: Bearer \(ci)", "\(url)/v1/jobs/\(id)"]) == "403", "an upload-only token read")
        #expect(try status(["-H", "Authorization: Bearer \(reader)", "\(url)/v1/jobs/\(id)"]) == "200")
        #expect(try status(["-H", "Authorization: Bearer \(ci)", "\(url)/metrics"]) == "403", "an upload-only token read the metrics")
        #expect(try status(["-H", "Authorization: Bearer \(reader)", "\(url)/metrics"]) == "200")
        #expect(try status(["\(url)/healthz"]) == "200")
        // The page needs no token, and holds no environment's name: they come with a token, any token.
        let page = try curl(["\(url)/"])
        #expect(page.contains("data-environments=\"\"") && !page.contains("prod"), "the page named the environments without a token")
        #expect(try status(["\(url)/v1/environments"]) == "401")
        #expect(try curl(["-H", "Authorization: Bearer \(ci)", "\(url)/v1/environments"]) == #"{"environments":["prod","beta"]}"#)

        // A resumable upload takes the right to upload where its metadata says, and so does every
        // request that appends to it.
        func create(_ token: String, env: String?, path: String = "/v1/uploads") throws -> String {
            let destination = env.map { ",env \(Data($0.utf8).base64EncodedString())" } ?? ""
            return try curl(["-H", "Authorization: Bearer \(token)", "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Length: 100",
                             "-H", "Upload-Metadata: filename \(Data("r.jpg".utf8).base64EncodedString())\(destination)",
                             "-o", "/dev/null", "-w", "%{http_code} %header{location}", "-X", "POST", "\(url)\(path)"])
        }
        // One made first, to be given its destination by a job: any token that may upload somewhere.
        #expect(try create(ci, env: nil).hasPrefix("201"))
        #expect(try create(reader, env: nil).hasPrefix("403"))
        #expect(try create(ci, env: "prod").hasPrefix("403"))
        #expect(try create(reader, env: "beta").hasPrefix("403"), "a read-only token began an upload")
        let upload = try create(ci, env: "beta")
        #expect(upload.hasPrefix("201 /v1/uploads/"), "\(upload)")
        let location = String(upload.dropFirst(4))
        #expect(try status(["-I", "-H", "Authorization: Bearer \(ci)", "-H", "Tus-Resumable: 1.0.0", "\(url)\(location)"]) == "200")
        #expect(try status(["-I", "-H", "Authorization: Bearer \(reader)", "-H", "Tus-Resumable: 1.0.0", "\(url)\(location)"]) == "403")
        #expect(try status(["-I", "-H", "Tus-Resumable: 1.0.0", "\(url)\(location)"]) == "401")
        // The router reads `//v1/…` and a trailing `/` as the plain path: so must the checks.
        #expect(try create(reader, env: "prod", path: "/v1/uploads/").hasPrefix("403"), "a read-only token began an upload at /v1/uploads/")
        #expect(try status(["-I", "-H", "Authorization: Bearer \(reader)", "-H", "Tus-Resumable: 1.0.0", "\(url)\(location)/"]) == "403")
        #expect(try status(["-H", "Authorization: Bearer \(reader)", "--data-binary", "@\(photo)", "\(url)//v1/inbox/prod?name=t.jpg"]) == "403")
        // A job of several images takes the right to upload to its environment.
        let job = "{\"uploads\": [\"06h0000000000z\"], \"env\": \"prod\"}"
        #expect(try status(["-H", "Authorization: Bearer \(ci)", "-H", "Content-Type: application/json", "--data", job, "\(url)/v1/jobs"]) == "403")
        #expect(try status(["-H", "Authorization: Bearer \(reader)", "-H", "Content-Type: application/json", "--data", job, "\(url)/v1/jobs/"]) == "403")
        #expect(try status(["-H", "Authorization: Bearer \(ci)", "-H", "Content-Type: application/json", "--data",
                            job.replacing("prod", with: "beta"), "\(url)/v1/jobs"]) == "404", "the body did not reach the route whole")

        // intake submit with a token, and a token removed is refused from the next request on.
        let submitted = try ChildProcess.run(intake, ["submit", photo, "--env", "beta", "--url", url, "--token", ci])
        #expect(submitted.status == 0, "\(submitted.standardError)")
        #expect(try ChildProcess.run(intake, ["token", "remove", "ci", "--config", daemon.configPath]).status == 0)
        #expect(try status(["-H", "Authorization: Bearer \(ci)", "--data-binary", "@\(photo)", "\(url)/v1/inbox/beta?name=t2.jpg"]) == "401")
        try daemon.waitForAll(2, timeout: 60)
        #expect(daemon.stop() == 0)
    }

    @Test(.enabled(if: hasCurl && PostgresCluster.isAvailable, "needs curl and PostgreSQL's server binaries"))
    func onASharedPostgreSQLStoreAnUploadIsAnsweredAndFollowedToItsEnd() throws {
        let daemon = try DaemonHarness(store: try PostgresCluster.shared!.makeDatabase())
        try daemon.start()
        let server = try serve(daemon)
        defer {
            kill(server.pid, SIGTERM)
            ChildProcess.waitFor(server.pid)
        }
        let upload = daemon.folder.write("pg.jpg", Photos.jpeg(seed: 8100))
        let accepted = try curl(["--data-binary", "@\(upload)", "\(server.url)/v1/inbox/prod?name=pg.jpg"])
        let id = try #require(field("jobId", in: accepted), "\(accepted)")
        try daemon.waitForAll(1)
        let done = try curl(["\(server.url)/v1/jobs/\(id)"])
        #expect(field("status", in: done) == "COMPLETED", "\(done)")
        let listed = try curl(["\(server.url)/v1/jobs?env=prod"])
        #expect(listed.contains(id), "\(listed)")
        #expect(try daemon.database().job(id: id)?.host == StateRoot.machineHost)
        #expect(daemon.stop() == 0)
    }
}

