import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The free-space floor of the state root's filesystem (`[daemon] min_free_bytes`). Below it the
/// daemon stops claiming: new files stay in the inbox, where they cost nothing, instead of being
/// taken into a spool whose outputs cannot be written. Jobs already claimed go on (and wait if
/// their writes fail). The pause is logged once, shown in `systemctl status` and in the
/// `intake_claiming_paused` metric, and ends by itself when space returns.
final class SpaceFloor: Sendable {
    private struct State {
        var paused = false
        var freeBytes: UInt64 = .max
        var checkedAt = -Double.infinity
    }

    private let path: String
    private let floor: UInt64
    private let logger: Logger
    private let notifier: SystemdNotifier
    private let onResume = Mutex<@Sendable () -> Void>({})
    private let state = Mutex(State())
    /// How long a measurement is trusted: claims come by the thousand, statvfs need not.
    static let measurementLifetime = 0.25

    init(path: String, minimumFreeBytes: UInt64, logger: Logger, notifier: SystemdNotifier) {
        self.path = path
        floor = minimumFreeBytes
        self.logger = logger
        self.notifier = notifier
    }

    /// `action` runs when claiming may start again (to rescan the inboxes at once).
    func whenResumed(_ action: @escaping @Sendable () -> Void) {
        onResume.withLock { $0 = action }
    }

    /// Whether there is room to claim more files; measures at most every `measurementLifetime`.
    func allowsClaiming() -> Bool {
        if monotonicSeconds() - state.withLock({ $0.checkedAt }) >= Self.measurementLifetime { check() }
        return !state.withLock { $0.paused }
    }

    var isPaused: Bool { state.withLock { $0.paused } }
    var freeBytes: UInt64 { state.withLock { $0.freeBytes } }

    /// Measures now, and pauses or resumes. Resuming needs a margin over the floor (a tenth of
    /// it, at least 1 MiB), so that a disk hovering at the floor does not flap.
    func check() {
        guard floor > 0 else { return }
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { return }  // the root gone: the folders' own errors say so
        let free = UInt64(status.f_bavail) * UInt64(status.f_frsize)
        let resumeAt = floor + max(floor / 10, 1 << 20)
        let change: Bool? = state.withLock { state in
            state.freeBytes = free
            state.checkedAt = monotonicSeconds()
            if !state.paused && free < floor {
                state.paused = true
                return true
            }
            if state.paused && free >= resumeAt {
                state.paused = false
                return false
            }
            return nil
        }
        switch change {
        case true?:
            logger.error(
                "free space below min_free_bytes: claiming paused; new files stay in the inbox until space returns",
                metadata: ["root": "\(path)", "free_bytes": "\(free)", "min_free_bytes": "\(floor)"])
            notifier.status("paused: \(free / 1_048_576) MiB free on the state root, below min_free_bytes; files wait in the inbox")
        case false?:
            logger.notice("free space is back: claiming resumed", metadata: ["free_bytes": "\(free)"])
            notifier.status("claiming resumed: \(free / 1_048_576) MiB free")
            onResume.withLock { $0 }()
        case nil:
            break
        }
    }
}
