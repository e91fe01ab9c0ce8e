import ArgumentParser
import Foundation
import IntakeReports
import IntakeStore
import IntakeCore

/// `intake report …`: what the daemon did, without writing SQL.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Summaries, jobs, failures, meter verdicts, labels and stage latencies.",
        subcommands: [Summary.self, Jobs.self, Failed.self, Meters.self, Labels.self, Stages.self, Storage.self],
        defaultSubcommand: Summary.self
    )

    struct Summary: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts by environment and status, throughput, top failure reasons, meter verdicts.")
        @OptionGroup var source: SourceOptions
        @OptionGroup var format: FormatOption
        @Option(help: "Write a self-contained HTML page for review to this file instead.")
        var html: String?

        func run() throws {
            let opened = try source.open()
            if let html {
                let overlays = MeterOverlayMaker(configuration: source.config)
                let page = report { try HTMLReport(database: opened.database, root: opened.root, storageHost: opened.host ?? "", meterOverlay: overlays.jpeg).render() }
                guard FileManager.default.createFile(atPath: html, contents: Data(page.utf8)) else { fail("cannot write \(html)") }
                output("wrote \(html)\n")
                return
            }
            output(ResultTable.rendered(report { try Reports(database: opened.database, storageHost: opened.host ?? "").summary() }, as: format.format))
        }
    }

    struct Storage: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bytes under each folder and the database, growth per day, and the days until the disk is full.")
        @OptionGroup var source: SourceOptions
        @OptionGroup var format: FormatOption

        func run() throws {
            let opened = try source.open()
            var status = statvfs()
            let free = statvfs(opened.root, &status) == 0 ? Int64(status.f_bavail) * Int64(status.f_frsize) : nil
            output(report { try Reports(database: opened.database, storageHost: opened.host ?? "").storage(freeBytes: free) }.rendered(as: format.format))
        }
    }

    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs, newest first.")
        @OptionGroup var source: SourceOptions
        @OptionGroup var format: FormatOption
        @Option(help: "Only this environment.") var env: String?
        @Option(help: "Only this status: queued, processing, done, failed.") var status: String?
        @Option(help: "Only jobs created since: 90m, 24h, 7d, 2026-11-20 or 2026-11-20T08:00 (UTC).") var since: String?
        @Option(help: "At most this many.") var limit = 50
        @Option(help: "Only the jobs of this host (several intaked sharing one PostgreSQL).") var host: String?

        func validate() throws { try checkLimit(limit) }

        func run() throws {
            let opened = try source.open()
            var filter = Reports.JobFilter(environment: env, status: status, limit: limit, host: host)
            if let since {
                guard let bound = SinceParser.parse(since, now: Timestamp.nowMilliseconds()) else {
                    fail("--since \(since): give 90m, 24h, 7d, a date (2026-11-20) or a time (2026-11-20T08:00)")
                }
                filter.since = bound
            }
            if let status, !["queued", "processing", "done", "failed"].contains(status) {
                fail("--status \(status): one of queued, processing, done, failed")
            }
            output(report { try Reports(database: opened.database).jobs(filter) }.rendered(as: format.format))
        }
    }

    struct Failed: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead-lettered jobs with their stage and reason.")
        @OptionGroup var source: SourceOptions
        @OptionGroup var format: FormatOption
        @Option(help: "Only this environment.") var env: String?
        @Option(help: "At most this many.") var limit = 100

        func validate() throws { try checkLimit(limit) }

        func run() throws {
            let opened = try source.open()
            output(report { try Reports(database: opened.database).failed(environment: env, limit: limit) }.rendered(as: format.format))
        }
    }

    struct Meters: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Meter readings and their verdicts against the manual readings.")
        @OptionGroup var source: SourceOptions
        @OptionGroup var format: FormatOption
        @Option(help: "Only this meter.") var meter: String?
        @Option(help: "Only this verdict: match, mismatch, unreadable, no_reference, no_profile, or unnamed (a photo labelled meter that named no meter).") var verdict: String?
        @Option(help: "At most this many.") var limit = 100

        func validate() throws { try checkLimit(limit) }

        func run() throws {
            let opened = try source.open()
            output(report { try Reports(database: opened.database).meters(meter: meter, verdict: verdict, limit: limit) }
                .rendered(as: format.format))
        }
    }

    struct Labels: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Labels found, by name and source, with their confidences.")
        @OptionGroup var source: SourceOptions
        @OptionGroup var format: FormatOption

        func run() throws {
            let opened = try source.open()
            output(report { try Reports(database: opened.database).labels() }.rendered(as: format.format))
        }
    }

    struct Stages: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "p50, p95 and p99 milliseconds of each pipeline stage.")
        @OptionGroup var source: SourceOptions
        @OptionGroup var format: FormatOption

        func run() throws {
            let opened = try source.open()
            output(report { try Reports(database: opened.database).stages() }.rendered(as: format.format))
        }
    }
}

/// Runs a report, turning its error into a message and exit status 1.
func report<T>(_ make: () throws -> T) -> T {
    do { return try make() } catch let error as ReportError { fail(error.description) } catch { fail("\(error)") }
}

/// `intake job ID`: one job as JSON, in the shape the cloud API answered with.
struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "One job as JSON: jobId, status, detections… and intake's own fields.")
    @OptionGroup var source: SourceOptions
    @Argument(help: "The job id (16 characters; 14 for jobs made by earlier versions).") var id: String

    func run() throws {
        let opened = try source.open()
        guard let document = report({ try JobDocument(id: id, database: opened.database) }) else { fail("no job \(id)") }
        output(document.json())
    }
}

/// `intake retry`: dead-lettered files back through the pipeline.
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Send failed jobs back for another pass.",
        discussion: """
            Each original moves from failed/ back into the spool under its job id; intaked records the retry in the job's history.
            Exits 0 when every job named was sent back (or, with --all-failed, none had failed), 2 when any was not, 1 on an error.
            """)
    @OptionGroup var source: SourceOptions
    @Argument(help: "Job ids.") var jobs: [String] = []
    @Flag(help: "Every failed job (of --env, if given).") var allFailed = false
    @Option(help: "With --all-failed: only this environment.") var env: String?

    func validate() throws {
        if jobs.isEmpty && !allFailed { throw ValidationError("name job ids, or give --all-failed") }
        if !jobs.isEmpty && allFailed { throw ValidationError("job ids or --all-failed, not both") }
        if env != nil && !allFailed { throw ValidationError("--env goes with --all-failed") }
    }

    func run() throws {
        let opened = try source.open()
        actAsOwner(of: opened.stateRoot.path)
        let retry = Retry(source: opened)
        let rows = report { try retry.jobs(named: jobs, allFailed: allFailed, environment: env) }
        var sent = 0
        for row in rows {
            let outcome = retry.send(row)
            if let refusal = outcome.refusal {
                FileHandle.standardError.write(Data("intake: not retrying \(outcome.job) (\(outcome.file)): \(refusal)\n".utf8))
            } else {
                output("retrying \(outcome.job)  \(outcome.file)\n")
                sent += 1
            }
        }
        guard sent > 0 else {
            if rows.isEmpty { output("no failed jobs\n") }
            throw ExitCode(rows.isEmpty ? 0 : 2)
        }
        if retry.nudgeDaemon() {
            output("\(sent) job(s) sent back; intaked is taking them now\n")
        } else {
            output("\(sent) job(s) sent back; intaked will take them within seconds, or when it next starts\n")
        }
        // Some were refused (said above, each with its reason): a script must not take it for done.
        if sent < rows.count { throw ExitCode(2) }
    }
}

/// `--limit` of a report: SQLite took -1 for no limit and PostgreSQL refused it; at least one row, on both.
func checkLimit(_ limit: Int) throws {
    if limit < 1 { throw ValidationError("--limit must be 1 or more") }
}
