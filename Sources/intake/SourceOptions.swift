public import ArgumentParser
import Foundation
public import IntakeReports

/// Where the daemon's state is, and how to print: shared by every reading command.
struct SourceOptions: ParsableArguments {
    @Option(help: "State root (holds intake.db).")
    var root: String?

    @Option(help: "Database file, instead of --root.")
    var db: String?

    @Option(help: "Configuration whose state root to use when neither --root nor --db is given.")
    var config: String?

    func open() throws -> ReportSource {
        do {
            return try ReportSource(root: root, databasePath: db, configPath: config)
        } catch {
            fail(error.description)
        }
    }
}

struct FormatOption: ParsableArguments {
    @Option(help: "table, json (an array of objects) or csv (with a header row).")
    var format: OutputFormat = .table
}

extension OutputFormat: ExpressibleByArgument {}

/// Prints `message` on standard error and exits 1.
func fail(_ message: String) -> Never {
    warn(message)
    Foundation.exit(1)
}

/// Prints `message` on standard error, and goes on.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("intake: \(message)\n".utf8))
}

func output(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
