import ArgumentParser
import IntakeConfig
import IntakeWeb
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `intake submit`: files in, outcomes out — the check a CI job makes after its uploads.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit images to intake and, with --wait, wait for their outcomes.",
        discussion: """
            With --url the files are uploaded to an intake serve; without it they are dropped into \
            the local inbox as intake serve would (the configuration's state root, or --root). \
            Prints the jobs as a JSON array. Exit status: 0 when every job completed (or, without \
            --wait, was accepted), 2 when any failed, 1 when a file was refused or waiting timed out.
            """)

    @Argument(help: "The images to submit.")
    var files: [String]

    @Option(help: "Environment (inbox) to submit to.")
    var env: String

    @Option(help: "Meter the images are of (its inbox subfolder).")
    var meter: String?

    @Option(help: "Base URL of an intake serve, e.g. http://127.0.0.1:8080; without it, the local inbox.")
    var url: String?

    @Option(help: "Bearer token for --url (default: $INTAKE_TOKEN), needed on any address but loopback.")
    var token: String?

    @Flag(help: "Wait until every job is done or failed, and print the outcomes.")
    var wait = false

    @Option(help: "Longest wait, in seconds (up to a week).")
    var timeout: Double = 300

    @Option(help: "Configuration file (environments, state root, limits).")
    var config: String?

    @Option(help: "State root, instead of the configuration's (without --url).")
    var root: String?

    /// Checked before anything is submitted: a timeout past `Int64`'s milliseconds used to stop
    /// the command after the files were in, without the job ids a caller needs to follow them.
    func validate() throws {
        guard timeout.isFinite, (0...Self.longestTimeout).contains(timeout) else {
            throw ValidationError("--timeout must be a number of seconds from 0 to \(Int(Self.longestTimeout)) (a week)")
        }
    }

    static let longestTimeout = 7 * 86_400.0

    func run() async throws {
        let submitter: Submitter
        if let url {
            let token = self.token ?? ProcessInfo.processInfo.environment["INTAKE_TOKEN"]
            submitter = Submitter(.remote(url.hasSuffix("/") ? String(url.dropLast()) : url, token: token))
        } else {
            let configuration = loadConfiguration(config)
            let stateRoot = root ?? configuration.daemon.root
            // A typo in --root would make a state root of its own, and drop the files where no
            // daemon looks: the folder must be there (intaked, or its install, makes it).
            var status = stat()
            guard stat(stateRoot, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
                fail("no state root at \(stateRoot): name intaked's with --root DIR (or --config), or start intaked there first")
            }
            submitter = Submitter(.local(root: stateRoot, configuration: configuration))
        }
        var ids: [String] = []
        // Every file is tried: one refused (a name waiting, not an image) says so and the others
        // go on; what would refuse every file (the server out of reach) stops the rest, naming them.
        var refused = 0
        for (index, file) in files.enumerated() {
            do {
                ids.append(try await submitter.submit(file, environment: env, meter: meter))
            } catch {
                refused += 1
                warn(error.description)
                guard !error.stopsAll else {
                    let rest = files[(index + 1)...]
                    if !rest.isEmpty { warn("not submitted: \(rest.joined(separator: ", "))") }
                    refused += rest.count
                    break
                }
            }
        }
        do {
            guard refused == 0 || !ids.isEmpty else { throw ExitCode(1) }
            guard wait else {
                output("[" + ids.map { #"{"jobId":"\#($0)","status":"PENDING"}"# }.joined(separator: ",") + "]\n")
                if refused > 0 { throw ExitCode(1) }
                return
            }
            let states = try await submitter.wait(for: ids, timeout: timeout)
            output("[" + states.map(\.json).joined(separator: ",\n") + "]\n")
            if refused > 0 { throw ExitCode(1) }
            if states.contains(where: { $0.status == "FAILED" }) { throw ExitCode(2) }
        } catch let error as SubmitError {
            if !ids.isEmpty { output("[" + ids.map { #"{"jobId":"\#($0)"}"# }.joined(separator: ",") + "]\n") }
            fail(error.description)
        }
    }
}
