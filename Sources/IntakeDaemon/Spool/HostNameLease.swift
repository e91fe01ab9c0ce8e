import IntakeCore
import IntakePipeline
import IntakeStore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// On a store shared by several hosts, the host name this intaked records under, held for it
/// alone. Two machines set up alike (a cloned virtual machine keeps its host name) would
/// otherwise both record jobs as one host, and each one's start-up recovery would take the
/// other's unfinished jobs for lost claims and delete them.
///
/// The name is held under a lease on the store's clock, renewed every third of
/// `[store] claim_lease_seconds` and given up at a clean stop. The holder is this boot of this
/// machine and this state root: a daemon started again after a crash takes its name back at
/// once, while another machine, or this one after a reboot, waits for the lease to run out
/// (at most one lease). Unused with a root's own SQLite file, which its lock file already keeps
/// to one daemon.
final class HostNameLease: Sendable {
    let host: String
    let holder: String
    let leaseSeconds: Double
    private let databasePath: String
    private let logger: Logger
    private let stopSignal = StopSignal()
    nonisolated(unsafe) private var connection: Database?  // used by one thread at a time: start, then the keeper's

    init(root: StateRoot, leaseSeconds: Double, logger: Logger) {
        host = root.host
        holder = "\(Self.bootID()) \(root.path)"
        self.leaseSeconds = leaseSeconds
        databasePath = root.database
        self.logger = logger
    }

    /// Takes the name, waiting up to a lease and a little for one that is not renewed (a crash,
    /// or this machine's run before a reboot); throws when another intaked keeps renewing it.
    func take() throws(DaemonError) {
        let deadline = monotonicSeconds() + leaseSeconds + 2
        var said = false
        while true {
            let held: (holder: String, leaseUntil: Int64)?
            do throws(StoreError) {
                let database = try open()
                let now = try database.clockMilliseconds()
                held = try database.takeHostName(host, holder: holder, now: now, leaseUntil: now + Int64(leaseSeconds * 1000))
            } catch {
                connection = nil
                throw DaemonError("cannot take the host name \(host) on the store: \(error)")
            }
            guard let held else { return }
            guard monotonicSeconds() < deadline else {
                throw DaemonError(
                    "another intaked records as host \(host) on this store (\(held.holder)) and keeps its lease; "
                        + "give each host its own name ([daemon] host) or stop the other")
            }
            if !said {
                logger.warning(
                    "the host name is held by another intaked, or by this machine's run before a restart; waiting for its lease to run out",
                    metadata: ["host": "\(host)", "holder": "\(held.holder)"])
                said = true
            }
            usleep(500_000)
        }
    }

    /// Renews the lease every third of it until `stop()`; `lost` is called, once, if another
    /// intaked took the name meanwhile (this one could not reach the store for a whole lease).
    func keep(lost: @Sendable () -> Void) {
        while stopSignal.pause(seconds: leaseSeconds / 3) {
            do throws(StoreError) {
                let database = try open()
                let now = try database.clockMilliseconds()
                guard try database.renewHostName(host, holder: holder, leaseUntil: now + Int64(leaseSeconds * 1000)) else {
                    logger.critical(
                        "another intaked took the host name while this one could not reach the store; stopping, as both would record as one host",
                        metadata: ["host": "\(host)"])
                    lost()
                    return
                }
            } catch {
                // Said by the committer and the claims too; tried again next round.
                connection = nil
            }
        }
    }

    /// Ends `keep`.
    func stop() { stopSignal.stop() }

    /// After `keep` has returned: gives the name up, so that another may take it at once.
    func release() {
        try? open().releaseHostName(host, holder: holder)
        connection = nil
    }

    private func open() throws(StoreError) -> Database {
        if let connection { return connection }
        let database = try Database(path: databasePath, answerTimeout: leaseSeconds)
        connection = database
        return database
    }

    /// This boot of this machine: the same across restarts of the daemon, new at each boot, and
    /// different on a clone of the machine.
    private static func bootID() -> String {
        let text = (try? WholeFile.read("/proc/sys/kernel/random/boot_id")).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let id = text.filter { !$0.isWhitespace }
        if !id.isEmpty { return id }
        // The shipped unit's ProcSubset=pid hides /proc/sys: the moment of boot, from the clocks,
        // serves as well (it moves only when the wall clock is set, and then a restart waits out
        // one lease, as it would with nothing to go by).
        var now = timespec(), sinceBoot = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        clock_gettime(CLOCK_BOOTTIME, &sinceBoot)
        let bootedAt = (Double(now.tv_sec) - Double(sinceBoot.tv_sec)) + Double(now.tv_nsec - sinceBoot.tv_nsec) / 1e9
        return "booted-\(Int64(bootedAt.rounded()))"
    }
}
