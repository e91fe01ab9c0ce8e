import Foundation

#if canImport(Glibc)
public import Glibc
#endif

/// A real headless Chromium driven through the DevTools protocol over a pipe
/// (`--remote-debugging-pipe`: commands on its fd 3, answers on its fd 4, each JSON message ended
/// by a NUL), so that a test can do what a person does on a page: pick files, click, read what
/// is shown, take a screenshot. No WebDriver and no WebSocket client needed.
public final class Chromium {
    public static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { access($0, X_OK) == 0 }

    public let pid: pid_t
    private let commands: Int32, answers: Int32
    private var nextID = 0
    private var pending: [UInt8] = []
    private var session = ""
    private let profile: TemporaryFolder

    public init(width: Int = 1200, height: Int = 900) throws {
        guard let path = Self.path else { throw ChildProcessError(message: "no Chromium (scripts/install-deps.sh --test installs it)") }
        profile = try TemporaryFolder()
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw ChildProcessError(message: "pipe: \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, profile.path + "/stdout", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, profile.path + "/stderr", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        let arguments = [path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                         "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=\(profile.path)/profile",
                         "--window-size=\(width),\(height)", "about:blank"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        close(toBrowser[0])
        close(fromBrowser[1])
        guard spawned == 0 else { throw ChildProcessError(message: "cannot start Chromium: \(String(cString: strerror(spawned)))") }
        self.pid = pid
        commands = toBrowser[1]
        answers = fromBrowser[0]
        let target = try send("Target.createTarget", ["url": "about:blank"], toBrowser: true)
        let targetID = try Self.string(target["targetId"])
        session = try Self.string(try send("Target.attachToTarget", ["targetId": targetID, "flatten": true], toBrowser: true)["sessionId"])
        // The page's viewport exactly this size (a window's includes what headless leaves for its frame).
        try send("Emulation.setDeviceMetricsOverride", ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false])
    }

    deinit {
        close(commands)
        close(answers)
        kill(pid, SIGKILL)
        ChildProcess.waitFor(pid)
    }

    /// Sends one command to the page (or to the browser) and returns its result.
    @discardableResult
    public func send(_ method: String, _ parameters: [String: Any] = [:], toBrowser: Bool = false, timeout: Double = 30) throws -> [String: Any] {
        nextID += 1
        var message: [String: Any] = ["id": nextID, "method": method, "params": parameters]
        if !toBrowser { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ChildProcessError(message: "Chromium stopped reading its commands") }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let answer = try readMessage(until: deadline)
            guard answer["id"] as? Int == nextID else { continue }  // an event, or an answer to nobody
            if let error = answer["error"] as? [String: Any] {
                throw ChildProcessError(message: "\(method): \(error["message"] ?? error)")
            }
            return answer["result"] as? [String: Any] ?? [:]
        }
    }

    /// The value of a JavaScript expression evaluated in the page (awaited when it is a promise).
    public func evaluate(_ expression: String) throws -> Any? {
        let result = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] as? [String: Any] {
            throw ChildProcessError(message: "\(expression): \((exception["exception"] as? [String: Any])?["description"] ?? exception)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Waits until `expression` is true in the page.
    public func waitUntil(_ what: String, timeout: Double = 30, _ expression: String) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try evaluate(expression) as? Bool == true { return }
            usleep(100_000)
        }
        // Once more after the deadline, as DaemonHarness.waitUntil does: a test process held up
        // past it (two cores, a loaded CI machine) would otherwise fail without having looked.
        if try evaluate(expression) as? Bool == true { return }
        throw ChildProcessError(message: "timed out waiting until \(what)")
    }

    public func navigate(_ url: String) throws {
        try send("Page.enable")
        try send("Page.navigate", ["url": url])
        try waitUntil("the page has loaded", "document.readyState === 'complete'")
    }

    /// Puts `files` on the page's `<input type=file>` named by `selector`, as a person picking
    /// them would: the page gets its change event.
    public func setFiles(_ selector: String, _ files: [String]) throws {
        let document = try send("DOM.getDocument")
        let root = try Self.int((document["root"] as? [String: Any])?["nodeId"])
        let node = try Self.int(try send("DOM.querySelector", ["nodeId": root, "selector": selector])["nodeId"])
        try send("DOM.setFileInputFiles", ["nodeId": node, "files": files])
    }

    /// A PNG of what the page shows.
    public func screenshot() throws -> [UInt8] {
        let data = try Self.string(try send("Page.captureScreenshot", ["format": "png"])["data"])
        guard let decoded = Data(base64Encoded: data) else { throw ChildProcessError(message: "the screenshot is not base64") }
        return [UInt8](decoded)
    }

    private func readMessage(until deadline: Date) throws -> [String: Any] {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let message = Array(pending[..<end])
                pending.removeSubrange(...end)
                return try JSONSerialization.jsonObject(with: Data(message)) as? [String: Any] ?? [:]
            }
            let wait = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            var poller = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, wait) > 0 else {
                let log = String(decoding: Fixtures.readFile(profile.path + "/stderr") ?? [], as: UTF8.self)
                throw ChildProcessError(message: "Chromium did not answer in time; it said: \(log.suffix(2000))")
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(answers, &buffer, buffer.count)
            guard n > 0 else { throw ChildProcessError(message: "Chromium closed its pipe") }
            pending.append(contentsOf: buffer[..<n])
        }
    }

    private static func string(_ value: Any?) throws -> String {
        guard let text = value as? String else { throw ChildProcessError(message: "Chromium answered without \(String(describing: value))") }
        return text
    }

    private static func int(_ value: Any?) throws -> Int {
        guard let number = value as? Int else { throw ChildProcessError(message: "Chromium answered without a node id") }
        return number
    }
}
