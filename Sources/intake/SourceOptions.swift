public import ArgumentParser
import Foundation
public import IntakeReports
import IntakeCore

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

/// Run as root on a state root another user owns (an installed one is user intake's), a command
/// that writes there first becomes that user: what it makes is then the daemon's to move and
/// write. Made by root, a retry's `spool/requeue/prod/` left the file where intaked could not take
/// it, with nothing said anywhere; a readings import's database journal would lock intaked out.
func actAsOwner(of folder: String) {
    guard geteuid() == 0 else { return }
    var status = stat()
    guard stat(folder, &status) == 0, status.st_uid != 0 else { return }
    var group = status.st_gid
    guard setgroups(1, &group) == 0, setgid(status.st_gid) == 0, setuid(status.st_uid) == 0 else {
        fail("cannot act as \(folder)'s owner (uid \(status.st_uid)), as a command writing there must: \(ErrnoText.current)")
    }
}
