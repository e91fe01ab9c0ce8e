import ArgumentParser

/// `intake`: the companion command of the intake daemon.
@main
struct Intake: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the intake image pipeline on files and report on what the daemon did.",
        subcommands: [ProcessCommand.self]
    )
}
