import Foundation
import Glibc
import IntakeConfig
import IntakeCore
import IntakeMeter
import IntakePipeline
import IntakeTestSupport
import Logging
import Testing

@testable import IntakeDaemon

/// Which happenings become alerts, and when: low disk and a stale queue are told when they
/// begin, not at every tick while they last; the command gets one JSON object.
@Suite("Alerts: what is told, and when")
struct AlertWatchTests {
    @Test func lowDiskAndAStaleQueueAreToldOnceWhenTheyBeginAndAgainAfterTheyEnded() throws {
        let scratch = try TemporaryFolder()
        let script = scratch.write("record.sh", Array("#!/bin/sh\ncat > \"$1/message-$$.json\"\n".utf8))
        chmod(script, 0o755)
        let settings = IntakeConfiguration.Alerts(
            command: [script, scratch.path], gatherSeconds: 0.05, minimumIntervalSeconds: 0.05, queueAgeSeconds: 60,
            diskFreeBytes: 1_000_000)
        let alerter = Alerter(settings: settings, logger: Logger(label: "test"))
        let watch = AlertWatch(alerter: alerter, settings: settings)
        alerter.start()

        for free in [5_000_000, 900_000, 800_000, 1_050_000, 700_000] as [UInt64] {  // low, still low, barely over, low
            watch.observe(freeBytes: free)
            usleep(150_000)
        }
        watch.observe(freeBytes: 2_000_000)
        usleep(150_000)
        watch.observe(freeBytes: 500_000)  // over by more than a tenth before: a new episode
        // Over at 61; hovering about the threshold (45, 75) is the same episode; caught up (20), then over again.
        for wait in [10.0, 61, 90, 45, 75, 20, 75] {
            watch.observe(oldestWait: wait)
            usleep(150_000)
        }
        alerter.stop()

        let messages = FileManagerless.list(scratch.path).filter { $0.hasPrefix("message-") }.compactMap { name in
            Fixtures.readFile(scratch.path + "/" + name).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        }
        let events = messages.flatMap { message in
            [message] + ((message["others"] as? [[String: Any]]) ?? [])
        }.compactMap { $0["event"] as? String }
        #expect(events.filter { $0 == "disk_low" }.count == 2, "\(events)")
        #expect(events.filter { $0 == "queue_stale" }.count == 2, "\(events)")
        let disk = try #require(messages.first { $0["event"] as? String == "disk_low" })
        #expect((disk["values"] as? [String: Double])?["threshold_bytes"] == 1_000_000)
        #expect((disk["message"] as? String)?.contains("MiB free") == true)
        #expect(alerter.counts.sent == messages.count && alerter.counts.failed == 0)
    }

    @Test func aMeterMismatchIsToldAtOnceAndAnUnreadableMeterAfterItsStreak() throws {
        let scratch = try TemporaryFolder()
        let script = scratch.write("record.sh", Array("#!/bin/sh\ncat > \"$1/message-$$.json\"\n".utf8))
        chmod(script, 0o755)
        let settings = IntakeConfiguration.Alerts(
            command: [script, scratch.path], gatherSeconds: 0.05, minimumIntervalSeconds: 0.05, unreadableStreak: 3)
        let alerter = Alerter(settings: settings, logger: Logger(label: "test"))
        let watch = AlertWatch(alerter: alerter, settings: settings)
        alerter.start()
        func photo(_ meter: String, _ verdict: MeterVerdictStatus, reading: Double? = nil) -> FinishedJob {
            let id = JobID.make()
            let job = QueuedJob(id: id, environment: "prod", name: "m.jpg", sourcePath: "prod/\(meter)/m.jpg", meter: meter,
                                spoolPath: "/x", createdAt: 0)
            var report = MeterReport(meter: meter, read: nil, capturedAt: 0, claimed: nil, manual: [], history: [])
            report.verdict = verdict
            report.reading = reading
            report.reason = "\(verdict)"
            var finished = FinishedJob(job: job, error: nil, facts: ImageFacts(bytes: 1), timings: [], labels: [], outputs: nil,
                                       errorReport: nil, destination: "/y", startedAt: 0, finishedAt: 0)
            finished.meter = report
            return finished
        }
        // MTR-1: two unreadable, one read (the streak ends), then three: one alert. MTR-2: a mismatch.
        for verdict in [.unreadable, .unreadable, .match, .unreadable, .unreadable, .unreadable, .unreadable] as [MeterVerdictStatus] {
            watch.observe(photo("MTR-1", verdict))
        }
        watch.observe(photo("MTR-2", .mismatch, reading: 123.5))
        alerter.stop()
        let messages = FileManagerless.list(scratch.path).filter { $0.hasPrefix("message-") }.compactMap { name in
            Fixtures.readFile(scratch.path + "/" + name).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        }
        let unreadable = messages.filter { $0["event"] as? String == "meter_unreadable" }
        #expect(unreadable.count == 1 && unreadable.first?["count"] as? Int == 1)
        #expect(unreadable.first?["meter"] as? String == "MTR-1")
        let mismatch = try #require(messages.first { $0["event"] as? String == "meter_mismatch" })
        #expect((mismatch["values"] as? [String: Double])?["reading"] == 123.5)
        #expect(mismatch["file"] as? String == "prod/MTR-2/m.jpg")
    }

    @Test func aCommandThatCannotStartOrFailsIsCountedAndLoggedNeverThrown() throws {
        let settings = IntakeConfiguration.Alerts(command: ["/nonexistent/notify"], gatherSeconds: 0.01, diskFreeBytes: 10)
        let alerter = Alerter(settings: settings, logger: Logger(label: "test"))
        alerter.start()
        AlertWatch(alerter: alerter, settings: settings).observe(freeBytes: 1)
        alerter.stop()
        #expect(alerter.counts.failed == 1 && alerter.counts.sent == 0)
    }

    @Test func aCommandThatPrintsMuchHasStillSentItsAlert() throws {
        // A notifier that echoes its whole request, or a curl run verbosely: 100 KiB on standard
        // output, then it finishes its work. It used to be killed at 4 KiB, and the alert lost.
        let scratch = try TemporaryFolder()
        let script = scratch.write(
            "chatty.sh", Array("#!/bin/sh\nyes xxxxxxx | head -c 102400\ncat > \"$1/message.json\"\n".utf8))
        chmod(script, 0o755)
        let settings = IntakeConfiguration.Alerts(command: [script, scratch.path], gatherSeconds: 0.01, diskFreeBytes: 10)
        let alerter = Alerter(settings: settings, logger: Logger(label: "test"))
        alerter.start()
        AlertWatch(alerter: alerter, settings: settings).observe(freeBytes: 1)
        alerter.stop()
        #expect(alerter.counts.sent == 1 && alerter.counts.failed == 0)
        #expect(Fixtures.readFile(scratch.path + "/message.json")?.isEmpty == false)
    }
}
