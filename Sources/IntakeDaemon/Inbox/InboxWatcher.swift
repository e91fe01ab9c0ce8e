internal import CLinux
import IntakePipeline
import Logging
import Synchronization
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// A file in an inbox that may be ready to claim.
struct Candidate: Sendable {
    /// Absolute path, as bytes.
    let path: BytePath
    /// Components below the inbox root: environment, any subfolders, then the file's name.
    let components: [[UInt8]]
    /// Whether inotify said it is complete: closed after writing, or moved in. A file found by a
    /// scan or seen only being created (a link, a FIFO, a file still open) has to prove it.
    let reportedComplete: Bool
}

/// What the watcher did, for metrics.
struct WatcherCounters: Sendable {
    var overflows = 0
    var rescans = 0
    var watches = 0
    var degraded = false
}

/// Watches the inbox trees with inotify, as DESIGN.md says: IN_CLOSE_WRITE and IN_MOVED_TO for
/// files, IN_CREATE for new folders (watched at once, then scanned, to close the race),
/// IN_Q_OVERFLOW → full rescan. A scan at start and a periodic reconciliation scan are the
/// backstop for missed events and network filesystems; if the kernel's watch limit is hit it
/// says so and scans every second instead. With `[watch] mode = "poll"` (a network folder, where
/// inotify never hears of another machine's writes) it sets no watch and scans every
/// `poll_milliseconds`. Runs on its own thread: `read` blocks.
final class InboxWatcher: Sendable {
    /// Answers whether the candidate was taken; false means "not now" (queue full, still being written).
    typealias CandidateHandler = @Sendable (Candidate) -> Bool

    // inotify's masks, spelled out: some of the C macros are compound and do not import.
    private static let closeWrite: UInt32 = 0x0000_0008, movedFrom: UInt32 = 0x0000_0040, movedTo: UInt32 = 0x0000_0080
    private static let create: UInt32 = 0x0000_0100
    private static let deleteSelf: UInt32 = 0x0000_0400, moveSelf: UInt32 = 0x0000_0800
    private static let overflow: UInt32 = 0x0000_4000, ignored: UInt32 = 0x0000_8000, isDirectory: UInt32 = 0x4000_0000
    private static let onlyDirectory: UInt32 = 0x0100_0000, dontFollow: UInt32 = 0x0200_0000, excludeUnlinked: UInt32 = 0x0400_0000
    private static let watchMask = closeWrite | movedFrom | movedTo | create | deleteSelf | moveSelf | onlyDirectory | dontFollow | excludeUnlinked

    private struct State: ~Copyable {
        var folders: [Int32: [[UInt8]]] = [:]  // watch descriptor → components below the inbox root
        var watched: Set<[[UInt8]]> = []
        /// The folder each watch was set on (its device and inode are what count): a folder made
        /// again after an overflow lost its events, or a filesystem mounted on it, is another
        /// folder under the same name, which the old watch never hears from.
        var identities: [[[UInt8]]: FileVersion] = [:]
        /// Folders seen moving away (IN_MOVED_FROM), by the move's cookie, until their IN_MOVED_TO
        /// (moved within the inbox) or their own IN_MOVE_SELF (moved out of it) settles where they went.
        var movingAway: [UInt32: [[UInt8]]] = [:]
        /// Watches whose folder moved within the inbox: their IN_MOVE_SELF, which follows, is no loss.
        var movedWithin: Set<Int32> = []
        var counters = WatcherCounters()
        var scanRequested = false
        var stopping = false
        /// The files left in the inbox that were named in the log (see `SaidOnce`).
        var leftInInbox: SaidOnce
        /// Whether the kernel's watch limit refused a watch during the current scan.
        var watchLimitHit = false
        /// Candidates the claim answered "not now", offered again soon (see `retryDelay`).
        var retries: [BytePath: (candidate: Candidate, due: Double, left: Int)] = [:]
        var scanInterval: Double
        /// Environments whose folder was found missing or not a folder, so that it is said once.
        var unavailableEnvironments: Set<String> = []

        init(scanInterval: Double, namedLimit: Int) {
            self.scanInterval = scanInterval
            leftInInbox = SaidOnce(limit: namedLimit)
        }
    }

    private let inboxRoot: BytePath
    /// Seconds between scans when polling instead of watching; nil with inotify.
    private let pollSeconds: Double?
    /// Where in each folder's listing a scan starts, so that hosts polling one shared inbox do
    /// not all try the same files in the same order (each try at a file another host has just
    /// claimed is a wasted round trip to the store).
    private let scanStart: UInt64
    private let environments: [String]
    private let rules: InboxRules
    private let logger: Logger
    private let handler: CandidateHandler
    private let inotify: Int32
    private let wakeRead: Int32, wakeWrite: Int32
    /// The mount table, which polls as changed when a filesystem is mounted or unmounted
    /// anywhere: inotify says nothing of a mount on a watched folder, whose watch then stays on
    /// the folder beneath. A change sets watches afresh at the next scan; -1 when unreadable.
    private let mountTable: Int32
    private let state: Mutex<State>

    /// `settleSeconds` is how long the claim waits for a file no close reported to stay unchanged
    /// (`[watch] settle_milliseconds`): the retries of a file answered "not now" last longer.
    /// `namedLimit`: the most files left in the inbox that are named in the log one by one.
    init(inboxRoot: String, environments: [String], rules: InboxRules, scanInterval: Double, pollSeconds: Double? = nil,
         scanStart: UInt64 = 0, settleSeconds: Double = 2, namedLimit: Int = 100_000, logger: Logger,
         handler: @escaping CandidateHandler) throws(DaemonError) {
        self.inboxRoot = BytePath(inboxRoot)
        retryTimes = Self.retryTimes(settleSeconds: settleSeconds)
        self.pollSeconds = pollSeconds
        self.scanStart = scanStart
        self.environments = environments
        self.rules = rules
        self.logger = logger
        self.handler = handler
        state = Mutex(State(scanInterval: scanInterval, namedLimit: namedLimit))
        inotify = inotify_init1(Int32(IN_CLOEXEC))
        guard inotify >= 0 else { throw DaemonError("cannot start inotify: \(ErrnoText.current)") }
        var fds: [Int32] = [0, 0]
        guard intake_pipe(&fds) == 0 else { throw DaemonError("cannot create a pipe: \(ErrnoText.current)") }
        (wakeRead, wakeWrite) = (fds[0], fds[1])
        mountTable = pollSeconds == nil ? open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC) : -1
    }

    deinit {
        if mountTable >= 0 { close(mountTable) }
        close(inotify)
        close(wakeRead)
        close(wakeWrite)
    }

    var counters: WatcherCounters { state.withLock { $0.counters } }

    /// Asks for a full scan soon, from any thread (a slot freed in a full queue, a reload).
    func requestScan() {
        state.withLock { $0.scanRequested = true }
        wake()
    }

    func setScanInterval(_ seconds: Double) {
        state.withLock { $0.scanInterval = seconds }
        wake()
    }

    func stop() {
        state.withLock { $0.stopping = true }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// The thread's body: watch, scan, then react to events until stopped.
    func run() {
        scanAll()
        var lastScan = monotonicSeconds()
        var mountsChanged = false
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let (stopping, interval, requested) = state.withLock {
                ($0.stopping, pollSeconds ?? ($0.counters.degraded ? 1.0 : $0.scanInterval), $0.scanRequested)
            }
            if stopping { return }
            // A mount changed: a scan, at most one a second (a burst of mounts elsewhere,
            // containers starting, is not a scan each).
            let untilScan = (mountsChanged ? min(interval, Self.mountScanDelay) : interval) - (monotonicSeconds() - lastScan)
            let untilRetry = state.withLock { $0.retries.values.map(\.due).min() }.map { $0 - monotonicSeconds() }
            if requested || untilScan <= 0 {
                state.withLock { $0.scanRequested = false }
                mountsChanged = false
                scanAll()
                lastScan = monotonicSeconds()
                continue
            }
            var fds = [
                pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                pollfd(fd: mountTable, events: Int16(POLLPRI), revents: 0),
            ]
            let ready = poll(&fds, nfds_t(fds.count), Int32(max(0, min(untilScan, untilRetry ?? 3600, 3600)) * 1000) + 1)
            if ready < 0 && errno != EINTR {
                logger.error("poll on inotify failed", metadata: ["error": "\(ErrnoText.current)"])
                usleep(100_000)
            }
            if fds[1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &drain, drain.count) > 0 {}
            }
            if fds[0].revents != 0 {
                let count = read(inotify, &buffer, buffer.count)
                if count > 0 { handleEvents(buffer, count: count) }
            }
            if fds[2].revents & Int16(POLLPRI) != 0 { mountsChanged = true }
            offerDueRetries()
        }
    }

    // MARK: events

    private func handleEvents(_ buffer: [UInt8], count: Int) {
        let headerSize = MemoryLayout<intake_inotify_event>.size
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset + headerSize <= count {
                let event = raw.loadUnaligned(fromByteOffset: offset, as: intake_inotify_event.self)
                let nameBytes = raw[(offset + headerSize)..<min(count, offset + headerSize + Int(event.len))]
                let name = Array(nameBytes.prefix { $0 != 0 })
                offset += headerSize + Int(event.len)
                handle(event, name: name)
            }
        }
    }

    private func handle(_ event: intake_inotify_event, name: [UInt8]) {
        if event.mask & Self.overflow != 0 {
            // Events were lost, among them perhaps a folder's deletion and making again: the
            // rescan compares each watched folder with the one its watch was set on (`needsWatch`)
            // and watches a new one afresh. (Removing every watch instead would queue an event
            // per watch, which on a big tree overflows the queue again, round after round.)
            let overflows = state.withLock { state in
                state.counters.overflows += 1
                state.scanRequested = true
                return state.counters.overflows
            }
            logger.warning("inotify queue overflowed; rescanning the inboxes", metadata: ["overflows": "\(overflows)"])
            return
        }
        if event.mask & Self.moveSelf != 0, state.withLock({ $0.movedWithin.remove(event.wd) }) != nil {
            return  // moved within the inbox: its watch, and those below it, go on under the new name
        }
        if event.mask & (Self.ignored | Self.deleteSelf | Self.moveSelf) != 0 {
            // The folder is gone or moved out of the inbox: neither its watch nor those of the
            // folders below it name a place in the inbox any more. Forgotten, and the watches below
            // it removed (they would follow the folder wherever it went), so that folders made
            // again under the same names are watched afresh.
            let (folder, below) = state.withLock { state -> ([[UInt8]]?, [Int32]) in
                guard let folder = state.folders.removeValue(forKey: event.wd) else { return (nil, []) }
                return (folder, Self.forget(folder, in: &state))
            }
            if event.mask & Self.moveSelf != 0 { inotify_rm_watch(inotify, event.wd) }
            for wd in below { inotify_rm_watch(inotify, wd) }
            // An environment's folder or the inbox itself: the next scan says so and makes it again.
            if let folder, folder.count <= 1 { requestScan() }
            return
        }
        guard let folder = state.withLock({ $0.folders[event.wd] }), !name.isEmpty else { return }
        let components = folder + [name]
        if folder.isEmpty {
            // The inbox root: only an environment's folder coming back matters here.
            if event.mask & Self.isDirectory != 0, environments.contains(String(decoding: name, as: UTF8.self)) { requestScan() }
            return
        }
        if event.mask & Self.isDirectory != 0 {
            if event.mask & Self.movedFrom != 0 {
                // Moved away or renamed: where to is said next, by an IN_MOVED_TO with the same
                // cookie (renamed within the inbox), or by the folder's IN_MOVE_SELF alone (moved out).
                state.withLock { $0.movingAway[event.cookie] = components }
            } else if event.mask & (Self.create | Self.movedTo) != 0 {
                if event.mask & Self.movedTo != 0 { renameWatched(cookie: event.cookie, to: components) }
                // Watch first, then scan: a file dropped in between is caught by one or the other.
                watchTree(components)
                scan(components)
            }
        } else if event.mask & (Self.closeWrite | Self.movedTo) != 0 {
            offer(components, reportedComplete: true)
        } else if event.mask & Self.create != 0 {
            // Links and special files never see IN_CLOSE_WRITE; a file being written is refused
            // by the claim's writer check and comes back with its close.
            offer(components, reportedComplete: false)
        }
    }

    /// A folder renamed within the inbox keeps its watches, which follow it: the names they stand
    /// for change, below it too, and its IN_MOVE_SELF is expected. Nothing when the cookie names
    /// no folder that moved away (a folder moved in from outside, which is watched afresh).
    private func renameWatched(cookie: UInt32, to components: [[UInt8]]) {
        state.withLock { state in
            guard let old = state.movingAway.removeValue(forKey: cookie) else { return }
            for (wd, path) in state.folders where path.starts(with: old) {
                let renamed = components + path.dropFirst(old.count)
                state.folders[wd] = renamed
                state.identities[renamed] = state.identities.removeValue(forKey: path)
                if path.count == old.count { state.movedWithin.insert(wd) }
            }
            state.watched = Set(state.watched.map { $0.starts(with: old) ? components + $0.dropFirst(old.count) : $0 })
        }
    }

    // MARK: watches and scans

    private func path(_ components: [[UInt8]]) -> BytePath {
        components.reduce(inboxRoot) { $0.appending($1) }
    }

    /// Seconds from a change of the mount table to the scan that sets watches afresh.
    static let mountScanDelay = 1.0

    /// Forgets the watch of `folder` (already out of `folders`) and those of the folders below
    /// it; returns the watch descriptors below, for the caller to remove.
    private static func forget(_ folder: [[UInt8]], in state: inout State) -> [Int32] {
        state.watched.remove(folder)
        state.identities[folder] = nil
        let inner = state.folders.filter { $0.value.count > folder.count && $0.value.starts(with: folder) }.map(\.key)
        for wd in inner {
            if let path = state.folders.removeValue(forKey: wd) {
                state.watched.remove(path)
                state.identities[path] = nil
            }
        }
        state.movingAway = state.movingAway.filter { $0.value != folder }
        state.counters.watches = state.folders.count
        return inner
    }

    /// The identity of the folder at `components`: an environment's folder through a link an
    /// administrator made, below it the entry itself.
    private func identity(_ components: [[UInt8]]) -> FileVersion? {
        let folder = path(components)
        return (components.count == 1 ? folder.status() : folder.linkStatus()).map(FileVersion.init)
    }

    /// Whether the folder at `components` needs a watch: none yet, or its watch is on another
    /// folder that had the name (made again while events were lost, or mounted over). Such a
    /// stale watch, and those below it, are removed here.
    private func needsWatch(_ components: [[UInt8]]) -> Bool {
        let current = identity(components)
        let stale: [Int32]? = state.withLock { state in
            guard state.watched.contains(components) else { return [] }
            guard let known = state.identities[components], let current, !known.isSameFile(as: current) else { return nil }
            let own = state.folders.first { $0.value == components }?.key
            if let own { state.folders[own] = nil }
            return Self.forget(components, in: &state) + (own.map { [$0] } ?? [])
        }
        guard let stale else { return false }
        for wd in stale { inotify_rm_watch(inotify, wd) }
        return true
    }

    /// Watches the folder at `components` and every folder below it.
    private func watchTree(_ components: [[UInt8]]) {
        guard pollSeconds == nil, isShallowEnough(components) else { return }
        let folder = path(components)
        if needsWatch(components) {
            // An environment's own folder may be a link an administrator made (to a network share,
            // say); below it, links are what people dropped and are never followed.
            let mask = components.count == 1 ? Self.watchMask & ~Self.dontFollow : Self.watchMask
            let wd = folder.withCString { inotify_add_watch(inotify, $0, mask) }
            if wd < 0 {
                let code = errno
                if code == ENOSPC {
                    let alreadyDegraded = state.withLock { state in
                        defer {
                            state.counters.degraded = true
                            state.watchLimitHit = true
                        }
                        return state.counters.degraded
                    }
                    if !alreadyDegraded {
                        logger.error(
                            "inotify watch limit reached (fs.inotify.max_user_watches); scanning the inboxes every second instead",
                            metadata: ["folder": "\(folder)"])
                    }
                } else if code != ENOENT && code != ENOTDIR {
                    logger.warning("cannot watch folder", metadata: ["folder": "\(folder)", "error": "\(ErrnoText.describe(code))"])
                }
            } else {
                let identity = identity(components)
                state.withLock { state in
                    state.folders[wd] = components
                    state.watched.insert(components)
                    state.identities[components] = identity
                    state.counters.watches = state.folders.count
                }
            }
        }
        for name in folder.entries() where rules.reasonToIgnore(name) == nil {
            if folder.appending(name).linkStatus()?.isDirectory == true { watchTree(components + [name]) }
        }
    }

    /// Scans every environment's folder, first making sure the inbox and each environment's
    /// folder exist and are watched: a folder deleted under the running daemon is made again
    /// (and said once); one replaced by a file is said once and left to the administrator.
    private func scanAll() {
        let degradedBefore = state.withLock { state in
            state.counters.rescans += 1
            state.watchLimitHit = false
            state.leftInInbox.scanStarted()
            return state.counters.degraded
        }
        watchInboxRoot()
        for environment in environments where environmentFolderIsReady(environment) {
            let components = [Array(environment.utf8)]
            if pollSeconds == nil, needsWatch(components) { watchTree(components) }
            scan(components)
        }
        sayWhatIsInNoEnvironment()
        state.withLock { $0.leftInInbox.scanEnded() }
        // Every watch set this time (folders were removed, or the limit raised): events again.
        if degradedBefore, pollSeconds == nil, state.withLock({ state in
            guard !state.watchLimitHit else { return false }
            state.counters.degraded = false
            return true
        }) {
            logger.notice("every inbox folder is watched again; scanning every second is over")
        }
    }

    /// Files and folders in the inbox itself that are no environment's (`inbox/x.jpg`,
    /// `inbox/Prod/`): never taken, each said once, so that a mistyped folder is noticed.
    private func sayWhatIsInNoEnvironment() {
        for name in inboxRoot.entries() where name.first != UInt8(ascii: ".") && !environments.contains(String(decoding: name, as: UTF8.self)) {
            let path = inboxRoot.appending(name)
            guard isFirstSaying(path) else { continue }
            logger.warning("left in the inbox: not in an environment's folder", metadata: [
                "file": "\(path)", "environments": "\(environments.joined(separator: ", "))",
            ])
        }
    }

    private func watchInboxRoot() {
        guard pollSeconds == nil, !state.withLock({ $0.watched.contains([]) }) else { return }
        try? DurableFile.makeFolders(inboxRoot.description, stage: .claim)
        let wd = inboxRoot.withCString { inotify_add_watch(inotify, $0, Self.create | Self.movedTo | Self.onlyDirectory | Self.deleteSelf | Self.moveSelf) }
        guard wd >= 0 else { return }
        state.withLock { state in
            state.folders[wd] = []
            state.watched.insert([])
        }
    }

    /// Whether the environment's folder is there to scan; makes it when missing.
    private func environmentFolderIsReady(_ environment: String) -> Bool {
        let folder = inboxRoot.appending(Array(environment.utf8))
        var problem: String?
        if let status = folder.status() {
            if !status.isDirectory { problem = "is not a folder: files for \(environment) cannot arrive until it is one again" }
        } else if folder.linkStatus()?.isSymbolicLink == true {
            // Nothing can be made there: the link stays, and its target is for its administrator.
            problem = "is a link to a folder that is missing (a share not mounted?): files for \(environment) cannot arrive until it is back"
        } else {
            do {
                try DurableFile.makeFolders(folder.description, stage: .claim)
                logger.warning("inbox folder was missing; made it again", metadata: ["folder": "\(folder)"])
            } catch {
                problem = "is missing and cannot be made (\(error.reason))"
            }
        }
        guard let problem else {
            if state.withLock({ $0.unavailableEnvironments.remove(environment) }) != nil {
                logger.notice("inbox folder is back", metadata: ["folder": "\(folder)"])
            }
            return true
        }
        if state.withLock({ $0.unavailableEnvironments.insert(environment).inserted }) {
            logger.error("inbox folder \(problem)", metadata: ["folder": "\(folder)"])
        }
        return false
    }

    /// Offers every file below `components` as a candidate, watching any folder not yet watched.
    private func scan(_ components: [[UInt8]]) {
        guard isShallowEnough(components) else { return }
        let folder = path(components)
        var failure: Int32 = 0
        let entries = folder.entries(failure: &failure)
        // A folder intaked may not read (a producer's `chmod 700`) holds files it cannot see: said
        // once, as other files left in the inbox are, instead of nothing at all.
        if failure != 0 && failure != ENOENT && failure != ENOTDIR && isFirstSaying(folder) {
            logger.warning("cannot read a folder in the inbox; its files are left there until intaked may read it", metadata: [
                "folder": "\(folder)", "error": "\(ErrnoText.describe(failure))",
            ])
        }
        let start = entries.isEmpty ? 0 : Int(scanStart % UInt64(entries.count))
        for name in entries[start...] + entries[..<start] {
            let child = components + [name]
            if rules.reasonToIgnore(name) == nil, folder.appending(name).linkStatus()?.isDirectory == true {
                if pollSeconds == nil, needsWatch(child) { watchTree(child) }
                scan(child)
            } else {
                offer(child, reportedComplete: false)
            }
        }
    }

    /// The most folders a file may be below its environment's, counting that one: the same limit
    /// for the scans and for folders made while the daemon runs (those counted from themselves,
    /// so that a tree made at run time was taken and, after a restart, not).
    static let deepestFolder = 16

    /// Whether the folder at `components` is within `deepestFolder`; one past it is said once,
    /// as its files stay in the inbox.
    private func isShallowEnough(_ components: [[UInt8]]) -> Bool {
        guard components.count > Self.deepestFolder else { return true }
        let path = path(components)
        if isFirstSaying(path) {
            logger.warning("folder nested too deep in the inbox; its files are left there", metadata: [
                "folder": "\(path)", "deepest": "\(Self.deepestFolder) folders below the inbox",
            ])
        }
        return false
    }

    /// Whether `path`, a file or folder left in the inbox, is to be named in the log now: once
    /// while it stays, and past `SaidOnce.limit` such files not at all, which is said once.
    private func isFirstSaying(_ path: BytePath) -> Bool {
        let answer = state.withLock { $0.leftInInbox.first(path) }
        if answer == .overLimit(first: true) {
            logger.warning("more files are left in the inbox than are named one by one; the rest are not named", metadata: [
                "named": "\(state.withLock { $0.leftInInbox.limit })",
            ])
        }
        return answer == .say
    }

    private func offer(_ components: [[UInt8]], reportedComplete: Bool) {
        let candidate = Candidate(path: path(components), components: components, reportedComplete: reportedComplete)
        if let reason = rules.reasonToIgnore(components.last!) {
            if isFirstSaying(candidate.path) { logger.info("left in the inbox", metadata: ["file": "\(candidate.path)", "why": "\(reason)"]) }
            return
        }
        if handler(candidate) {
            state.withLock { _ = $0.retries.removeValue(forKey: candidate.path) }
        } else {
            // Offered again as found by a scan: a close seen once says nothing of a rewrite since.
            retrySoon(Candidate(path: candidate.path, components: candidate.components, reportedComplete: false))
        }
    }

    /// How long a candidate the claim answered "not now" waits before it is offered again, and how
    /// many times. "Not now" is often over within seconds with no event to say so: a sidecar
    /// another user wrote settles (no lease tells the daemon its writer is done), a full queue
    /// frees a slot. Without this such a file waited for the periodic scan, a minute by default.
    static let retryDelay = 0.5
    static let retriesKept = 10_000
    /// How many times: for six seconds, or a second longer than a file takes to settle.
    let retryTimes: Int

    static func retryTimes(settleSeconds: Double) -> Int {
        let window = max(6, settleSeconds.isFinite ? settleSeconds + 1 : 6)
        return Int((window / retryDelay).rounded(.up))
    }

    private func retrySoon(_ candidate: Candidate) {
        state.withLock { state in
            let left = (state.retries[candidate.path]?.left ?? retryTimes + 1) - 1
            guard left > 0, state.retries.count < Self.retriesKept || state.retries[candidate.path] != nil else {
                state.retries[candidate.path] = nil
                return
            }
            state.retries[candidate.path] = (candidate, monotonicSeconds() + Self.retryDelay, left)
        }
    }

    /// Offers again the candidates whose wait is over (one gone meanwhile the claim takes as done).
    private func offerDueRetries() {
        let now = monotonicSeconds()
        let due = state.withLock { state in state.retries.values.filter { $0.due <= now }.map(\.candidate) }
        for candidate in due {
            if handler(candidate) { state.withLock { _ = $0.retries.removeValue(forKey: candidate.path) } } else { retrySoon(candidate) }
        }
    }
}
