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

    /// Token checks are not built yet: until they are, only a loopback address is served.
    public init(configuration: IntakeConfiguration, rootPath: String, listen: IntakeConfiguration.ListenAddress, logger: Logger)
        throws(WebServerError)
    {
        guard ["127.0.0.1", "::1", "localhost"].contains(listen.host) || listen.host.hasPrefix("127.") else {
            throw WebServerError(
                "intake serve answers only on a loopback address for now (\(listen) is not one): bearer tokens, which any other address needs, are not built yet")
        }
        self.configuration = configuration
        root = StateRoot(path: rootPath)
        self.listen = listen
        self.logger = logger
    }

    public func run() async throws {
        let events = JobEvents(root: root, idleTimeoutSeconds: configuration.web.idleTimeoutSeconds)
        let router = IntakeAPI.router(root: root, configuration: configuration, events: events)

        let logger = self.logger
        let idle = configuration.web.idleTimeoutSeconds
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(idle * 1000)))),
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
