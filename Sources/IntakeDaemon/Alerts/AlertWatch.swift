import IntakeConfig
import IntakeCore
import IntakeMeter
import IntakePipeline
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Decides which of the daemon's happenings are alerts: every dead letter and meter mismatch;
/// a meter unreadable `unreadableStreak` times in a row (once, until it reads again); low disk
/// and a stale queue when they begin (once, until they end).
final class AlertWatch: Sendable {
    private struct State {
        var unreadableStreaks: [String: Int] = [:]
        var diskLow = false
        var queueStale = false
    }

    private let alerter: Alerter
    private let settings: IntakeConfiguration.Alerts
    private let host: String
    private let state = Mutex(State())

    init(alerter: Alerter, settings: IntakeConfiguration.Alerts, host: String = StateRoot.machineHost) {
        self.alerter = alerter
        self.settings = settings
        self.host = host
    }

    /// A job made final.
    func observe(_ job: FinishedJob) {
        guard alerter.isEnabled else { return }
        if let error = job.error {
            raise(.deadLetter, about: job, "\(job.job.sourcePath) failed at \(error.stage.rawValue): \(error.reason)") {
                $0.stage = error.stage.rawValue
                $0.reason = error.reason
            }
        }
        guard let meter = job.meter else { return }
        switch meter.verdict {
        case .mismatch:
            raise(.meterMismatch, about: job, "meter \(meter.meter) read \(meter.reading.map { "\($0)" } ?? "?"): \(meter.reason)") {
                $0.meter = meter.meter
                $0.reason = meter.reason
                $0.values = meterValues(meter)
            }
        case .unreadable:
            let streak = state.withLock { state in
                state.unreadableStreaks[meter.meter, default: 0] += 1
                return state.unreadableStreaks[meter.meter]!
            }
            if streak == settings.unreadableStreak {
                raise(.meterUnreadable, about: job, "meter \(meter.meter) could not be read \(streak) times in a row: \(meter.reason)") {
                    $0.meter = meter.meter
                    $0.reason = meter.reason
                    $0.values = ["streak": Double(streak)]
                }
            }
        default:
            state.withLock { _ = $0.unreadableStreaks.removeValue(forKey: meter.meter) }
        }
    }

    /// Free space on the state root, each tick.
    func observe(freeBytes: UInt64) {
        guard alerter.isEnabled, settings.diskFreeBytes > 0, freeBytes != .max else { return }
        let low = freeBytes < UInt64(settings.diskFreeBytes)
        // A little above the threshold before it counts as over, so that hovering does not repeat it.
        let recovered = freeBytes > UInt64(settings.diskFreeBytes) + UInt64(settings.diskFreeBytes / 10)
        let begins = state.withLock { state -> Bool in
            if low && !state.diskLow {
                state.diskLow = true
                return true
            }
            if recovered { state.diskLow = false }
            return false
        }
        guard begins else { return }
        alerter.raise(event(.diskLow, "the state root has \(freeBytes / 1_048_576) MiB free, under \(settings.diskFreeBytes / 1_048_576) MiB") {
            $0.values = ["free_bytes": Double(freeBytes), "threshold_bytes": Double(settings.diskFreeBytes)]
        })
    }

    /// How long the queue's oldest job has waited, each tick. Raised when the wait goes over the
    /// threshold, and again only once the queue has caught up (the wait under half the threshold,
    /// or nothing queued): a backlog hovering about the threshold is one alert, not one a tick.
    func observe(oldestWait: Double) {
        guard alerter.isEnabled else { return }
        let begins = state.withLock { state -> Bool in
            if oldestWait > settings.queueAgeSeconds {
                defer { state.queueStale = true }
                return !state.queueStale
            }
            if oldestWait < settings.queueAgeSeconds / 2 { state.queueStale = false }
            return false
        }
        guard begins else { return }
        alerter.raise(event(.queueStale, "the oldest queued job has waited \(Int(oldestWait)) s, over \(Int(settings.queueAgeSeconds)) s") {
            $0.values = ["oldest_wait_seconds": oldestWait, "threshold_seconds": settings.queueAgeSeconds]
        })
    }

    private func raise(_ kind: AlertEvent.Kind, about job: FinishedJob, _ message: String, _ fill: (inout AlertEvent) -> Void) {
        alerter.raise(event(kind, message) { event in
            event.job = job.job.id.rawValue
            event.environment = job.job.environment
            event.file = job.job.sourcePath
            if !settings.linkBase.isEmpty { event.link = "\(settings.linkBase)/v1/jobs/\(job.job.id.rawValue)" }
            fill(&event)
        })
    }

    private func event(_ kind: AlertEvent.Kind, _ message: String, _ fill: (inout AlertEvent) -> Void) -> AlertEvent {
        var event = AlertEvent(event: kind, at: Timestamp.string(fromMilliseconds: Timestamp.nowMilliseconds()), host: host, message: message)
        fill(&event)
        return event
    }

    private func meterValues(_ meter: MeterReport) -> [String: Double] {
        var values: [String: Double] = [:]
        values["reading"] = meter.reading
        values["manual_value"] = meter.manualValue
        values["delta"] = meter.delta
        values["confidence"] = meter.confidence
        return values
    }

}
