public import IntakeConfig
public import Logging
import Hummingbird
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// `intake serve`: the API on Hummingbird, stopped gracefully by SIGTERM or SIGINT.
public struct WebServer: Sendable {
    let configuration: IntakeConfiguration
    let root: StateRoot
    let listen: IntakeConfiguration.ListenAddress
    let logger: Logger
    let tokens: TokenCheck?

    /// The addresses served without tokens: this host's own, as every local tool names it. Other
    /// 127.x addresses count as elsewhere, so that a test can play a remote client on one machine.
    static func isLoopback(_ host: String) -> Bool { host == "localhost" || host == "::1" || host == "127.0.0.1" }

    /// On a loopback address no token is asked for; on any other every request needs one, and
    /// the server does not start without a token to accept.
    public init(configuration: IntakeConfiguration, rootPath: String, listen: IntakeConfiguration.ListenAddress, logger: Logger)
        throws(WebServerError)
    {
        if Self.isLoopback(listen.host) {
            tokens = nil
        } else {
            let check = TokenCheck(path: configuration.web.tokensFile)
            // Said as it is: a file the server may not read looked like a file without tokens.
            do { _ = try TokenFile.read(configuration.web.tokensFile) } catch {
                throw WebServerError("cannot read the tokens file \(configuration.web.tokensFile): \(error)")
            }
            guard check.count > 0 else {
                throw WebServerError(
                    "\(listen) is not a loopback address, so every request needs a bearer token, and \(configuration.web.tokensFile) has none: add one with intake token add NAME --env ENV")
            }
            tokens = check
        }
        self.configuration = configuration
        // Absolute, as intaked makes it: the database records absolute paths, and /v1/files
        // serves only those under this root (`./var` in a checkout would match none).
        root = configuration.stateRoot(path: AbsolutePath.resolving(rootPath))
        self.listen = listen
        self.logger = logger
    }

    public func run() async throws {
        let events = JobEvents(root: root, idleTimeoutSeconds: configuration.web.idleTimeoutSeconds)
        let metrics = ServeMetrics()
        metrics.bootstrap()
        let router = IntakeAPI.router(root: root, configuration: configuration, events: events, tokens: tokens, metrics: metrics)

        let logger = self.logger
        let idle = configuration.web.idleTimeoutSeconds
        let app = Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [LargerReads(maximum: LargerReads.uploadReads), ContinueAnswer(maxBytes: configuration.web.maxBytes)],
                idleTimeout: .milliseconds(Int64(idle * 1000)))),
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "intake"),
            services: [events],
            onServerRunning: { channel in
                // Said on standard output too, with the port the kernel chose for port 0: scripts wait for it.
                let port = channel.localAddress?.port ?? 0
                let line = Array("intake serve: listening on http://\(listen.host):\(port)\n".utf8)
                _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                logger.info("listening", metadata: ["address": "\(listen.host):\(port)", "root": "\(root.path)"])
            },
            logger: logger)
        try await app.runService()
    }
}

/// Why `intake serve` cannot start.
public struct WebServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
