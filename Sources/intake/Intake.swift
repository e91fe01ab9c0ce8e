import ArgumentParser
import IntakeCore

/// `intake`: the companion command of the intake daemon.
@main
struct Intake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the intake image pipeline on files and report on what the daemon did.",
        discussion: """
            Reports read the daemon's database read-only, so they are safe while intaked runs. \
            Find it with --root DIR (a state root) or --db PATH; by default the state root \
            the configuration names (./var in a checkout).
            """,
        subcommands: [ProcessCommand.self, ReportCommand.self, JobCommand.self, RetryCommand.self, PruneCommand.self, ReadingsCommand.self, MeterCommand.self, ServeCommand.self, SubmitCommand.self, TokenCommand.self]
    )

    static func main() async {
        CommandLineBytes.refuseAnyNotUTF8(program: "intake")
        await main(nil)
    }
}
