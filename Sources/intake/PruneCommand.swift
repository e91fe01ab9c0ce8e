import ArgumentParser
import IntakeConfig
import IntakeCore
import IntakePipeline
import IntakeRetention
import IntakeStore

#if canImport(Glibc)
import Glibc
#endif

/// `intake prune`: applies `[retention]` now, or (`--dry-run`) shows what it would remove.
/// intaked applies the same rules by itself a batch at a time; the two take turns on one lock.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove (or archive) the finished jobs [retention] has expired, or show them with --dry-run.",
        discussion: """
            The rules are the configuration's [retention]; with none, nothing expires. Jobs queued, running or \
            sent back by intake retry are never touched. intaked applies the same rules by itself.
            """)

    @Option(help: "Configuration file: its [retention] rules and state root.")
    var config: String?

    @Option(help: "State root, instead of the configuration's.")
    var root: String?

    @Flag(help: "Count what would go, per environment, and change nothing.")
    var dryRun = false

    func run() throws {
        let configuration = loadConfiguration(config)
        let stateRoot = configuration.stateRoot(path: AbsolutePath.resolving(root ?? configuration.daemon.root))
        guard Database.exists(at: stateRoot.database) else {
            fail("no database at \(stateRoot.database): has intaked run on this state root? Name one with --root DIR.")
        }
        guard configuration.retention.isActive else {
            output("[retention] sets no rule: every job is kept.\n")
            return
        }
        actAsOwner(of: stateRoot.path)
        let pruner = Pruner(root: stateRoot, retention: configuration.retention, environments: configuration.environments.map(\.name))
        let database: Database
        do { database = try Database(path: stateRoot.database) } catch { fail("cannot open \(stateRoot.database): \(error)") }
        let now = Timestamp.nowMilliseconds()
        do {
            if dryRun {
                output(Self.describe(try pruner.preview(database, now: now), verb: "would remove"))
                return
            }
            var pruned: [PrunedJob] = []
            while case let batch = try pruner.pruneBatch(database, now: now), !batch.isEmpty { pruned += batch }
            output(Self.describe(PruneTally.per(environmentOf: pruned), verb: pruner.archiveFolder.map { "archived to \($0)" } ?? "removed"))
            for job in pruned { for file in job.leftBehind { output("left behind, cannot be deleted: \(file)\n") } }
        } catch {
            fail("\(error)")
        }
    }

    static func describe(_ tallies: [PruneTally], verb: String) -> String {
        guard !tallies.isEmpty else { return "nothing has expired\n" }
        var text = "environment  done  failed  bytes\n"
        for tally in tallies {
            text += "\(tally.environment)  \(tally.done)  \(tally.failed)  \(tally.bytes) (\(ByteCount(Int(tally.bytes))))\n"
        }
        let jobs = tallies.reduce(0) { $0 + $1.done + $1.failed }
        let bytes = tallies.reduce(Int64(0)) { $0 + $1.bytes }
        return text + "\(verb): \(jobs) jobs, \(ByteCount(Int(bytes)))\n"
    }
}
