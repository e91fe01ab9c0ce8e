import Foundation
import IntakeStore
import IntakeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `[alerts]` and `[retention]` in a real intaked, with real scripts as the alert command.
@Suite(.serialized) struct DaemonAlertsRetentionTests {
    /// A script that saves its standard input as one file per run in `folder`, and its pid.
    private static func recorder(in scratch: TemporaryFolder, hangSeconds: Int = 0) -> (script: String, messages: String) {
        let messages = scratch.path + "/alerts"
        mkdir(messages, 0o755)
        let script = scratch.write("alert.sh", Array("""
            #!/bin/sh
            echo $$ >> "$1/pids"
            cat > "$1/.partial-$$"
            mv "$1/.partial-$$" "$1/message-$$.json"
            \(hangSeconds > 0 ? "exec sleep \(hangSeconds)" : "exit 0")

            """.utf8))
        chmod(script, 0o755)
        return (script, messages)
    }

    private static func messages(in folder: String) -> [[String: Any]] {
        FileManagerless.list(folder).filter { $0.hasPrefix("message-") }.compactMap { name in
            Fixtures.readFile(folder + "/" + name).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        }
    }

    @Test func aBurstOfFiftyBadFilesIsOneOrAFewMessagesThatNameTheJobs() throws {
        let scratch = try TemporaryFolder()
        let (script, folder) = Self.recorder(in: scratch)
        let daemon = try DaemonHarness(settings: """
            [alerts]
            command = ["\(script)", "\(folder)"]
            gather_seconds = 1
            min_interval_seconds = 2
            link = "http://intake.test:8080"
            """)
        try daemon.start()
        for n in 0..<50 { daemon.drop("prod/bad-\(n).jpg", Array("not an image \(n)".utf8)) }
        try daemon.waitForAll(50)
        try daemon.waitUntil("every dead letter is told", timeout: 30) {
            Self.messages(in: folder).reduce(0) { $0 + (($1["count"] as? Int) ?? 0) } == 50
        }
        let messages = Self.messages(in: folder)
        #expect((1...5).contains(messages.count), "\(messages.count) messages for a burst of 50")
        let failedIDs = Set(try daemon.database().jobs(status: .failed).map(\.id))
        for message in messages {
            #expect(message["event"] as? String == "dead_letter")
            let job = try #require(message["job"] as? String)
            #expect(failedIDs.contains(job))
            #expect((message["file"] as? String)?.hasPrefix("prod/bad-") == true)
            #expect(message["stage"] as? String == "sniff")
            #expect((message["reason"] as? String)?.isEmpty == false)
            #expect(message["link"] as? String == "http://intake.test:8080/v1/jobs/\(job)")
            #expect(message["environment"] as? String == "prod")
            let others = try #require(message["others"] as? [[String: Any]])
            #expect(others.count + 1 + ((message["omitted"] as? Int) ?? -1) == message["count"] as? Int)
        }
        #expect(daemon.stop() == 0)
        #expect(try String(contentsOfFile: daemon.root + "/metrics.prom", encoding: .utf8).contains("intake_alerts_sent_total \(messages.count)"))
    }

    @Test func aHangingAlertCommandIsKilledAtItsTimeoutWhileTheDaemonWorksOn() throws {
        let scratch = try TemporaryFolder()
        let (script, folder) = Self.recorder(in: scratch, hangSeconds: 600)
        let daemon = try DaemonHarness(settings: """
            [alerts]
            command = ["\(script)", "\(folder)"]
            gather_seconds = 0.1
            timeout_seconds = 8
            """)
        try daemon.start()
        daemon.drop("prod/bad.jpg", Array("not an image".utf8))
        try daemon.waitUntil("the alert command runs", timeout: 30) { !Self.messages(in: folder).isEmpty }
        // While it hangs, the daemon takes and finishes work as ever.
        for n in 0..<30 { daemon.drop("prod/good-\(n).jpg", Photos.jpeg(seed: 500 + n)) }
        try daemon.waitForAll(31, timeout: 60)
        #expect(!daemon.log.contains("took longer than"), "the jobs waited for the hanging alert command")
        try daemon.waitUntil("the hanging command is killed", timeout: 30) { daemon.log.contains("took longer than 8.0 s and was killed") }
        let pid = try #require(Int32(String(decoding: Fixtures.readFile(folder + "/pids") ?? [], as: UTF8.self).split(separator: "\n").first ?? ""))
        try daemon.waitUntil("the command's process is gone", timeout: 5) { kill(pid, 0) != 0 }
        #expect(daemon.stop() == 0)
    }

    @Test func intakedPrunesExpiredJobsByItselfAndCountsThem() throws {
        let daemon = try DaemonHarness(settings: """
            [retention]
            beta = "2s"
            interval_seconds = 0.5
            """)
        try daemon.start()
        for n in 0..<3 { daemon.drop("beta/short-\(n).jpg", Photos.jpeg(seed: 700 + n)) }
        for n in 0..<2 { daemon.drop("prod/long-\(n).jpg", Photos.jpeg(seed: 800 + n)) }
        try daemon.waitForAll(5)
        // Rows first, files a moment after (the batch's order): wait for both.
        try daemon.waitUntil("the beta jobs are pruned", timeout: 30) {
            try daemon.database().jobs().map(\.environment) == ["prod", "prod"] && daemon.files("processed/beta").isEmpty
        }
        #expect(daemon.files("processed/beta").isEmpty)
        #expect(daemon.files("augmented/beta").isEmpty)
        #expect(daemon.files("processed/prod").count == 4)  // two originals, two derivatives
        for row in try daemon.database().jobs() { #expect(access(row.finalPath ?? "", F_OK) == 0) }
        try daemon.waitUntil("the metrics count them", timeout: 10) {
            let metrics = (try? String(contentsOfFile: daemon.root + "/metrics.prom", encoding: .utf8)) ?? ""
            return metrics.contains(#"intake_pruned_jobs_total{env="beta",outcome="done"} 3"#)
        }
        #expect(daemon.log.contains("pruned expired jobs"))
        #expect(daemon.stop() == 0)
    }
}
