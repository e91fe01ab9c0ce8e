import ArgumentParser
import IntakeConfig
import IntakeWeb
import Logging

/// `intake serve`: the upload and job API over HTTP, beside the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the upload and job API: uploads go into the inbox, answers come from the database.",
        discussion: """
            POST /v1/inbox/ENV[/METER]?name=FILE takes one image as the body and answers 202 with its \
            job id; GET /v1/jobs/ID says how the job stands; GET /healthz says whether the database \
            is readable and the inbox writable. It never processes images and never writes the \
            database: run intaked on the same state root.
            """)

    @Option(help: "Configuration file (its [web] section, environments and state root).")
    var config: String?

    @Option(help: "State root, instead of the configuration's.")
    var root: String?

    @Option(help: "Address to listen on, host:port ([web] listen by default; port 0 lets the system choose).")
    var listen: String?

    func run() async throws {
        let configuration = loadConfiguration(config)
        var address = configuration.web.listen
        if let listen {
            // Port 0 (the kernel picks one; tests and benchmarks) is read as any other port is.
            if listen.hasSuffix(":0"), let parsed = IntakeConfiguration.ListenAddress(parsing: listen.dropLast() + "1") {
                address = .init(host: parsed.host, port: 0)
            } else if let parsed = IntakeConfiguration.ListenAddress(parsing: listen) {
                address = parsed
            } else {
                fail("--listen \(listen) is not host:port")
            }
        }
        var logger = Logger(label: "intake-serve")
        logger.logLevel = .info
        let server: WebServer
        do {
            server = try WebServer(configuration: configuration, rootPath: root ?? configuration.daemon.root, listen: address, logger: logger)
        } catch {
            fail(error.description)
        }
        try await server.run()
    }
}
