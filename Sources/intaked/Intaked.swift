import ArgumentParser
import IntakeConfig
import IntakeCore
import IntakeDaemon
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// intaked: the daemon, in the foreground. systemd runs it as a Type=notify service.
@main
struct Intaked: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intaked",
        abstract: "Watch inbox/prod and inbox/beta and take every file through the intake pipeline.",
        discussion: "SIGTERM or SIGINT: finish the jobs in hand and stop. SIGHUP: reload the configuration."
    )

    static func main() {
        CommandLineBytes.refuseAnyNotUTF8(program: "intaked")
        main(nil)
    }

    @Option(help: "Configuration file (default: etc/intake.toml if present, else /etc/intake/intake.toml, else built-in defaults).")
    var config: String?

    @Option(help: "State root, overriding the configuration's daemon.root.")
    var root: String?

    func run() throws {
        // Before any thread exists, so that every thread inherits the mask and sigwait gets them.
        Daemon.blockSignals()
        let environment = ProcessEnvironment.current
        let journald = SystemdNotifier.journalPriorityPrefix(environment: environment)
        LoggingSystem.bootstrap { LogfmtHandler(label: $0, journald: journald) }
        let logger = Logger(label: "intaked")

        let configuration: IntakeConfiguration
        do {
            configuration = try ConfigurationFile.load(explicitPath: config)
        } catch {
            logger.critical("configuration error", metadata: ["error": "\(error)"])
            throw ExitCode(78)  // EX_CONFIG: systemd's Restart=on-failure will not loop on it forever
        }
        LogfmtHandler.sharedLevel.withLock { $0 = Logger.Level(configuration.daemon.logLevel) }
        do {
            try Daemon(configuration: configuration, configurationPath: config, rootOverride: root, logger: logger, environment: environment).run()
        } catch {
            logger.critical("intaked cannot run", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

/// The process environment as a dictionary.
enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") { result[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
            index += 1
        }
        return result
    }
}
