#if canImport(Glibc)
import Glibc
#endif

/// The state root's layout, as DESIGN.md's folder contract names it: every folder and file the
/// daemon, the commands and the tests find under it is named here and nowhere else.
public struct StateRoot: Sendable {
    public let path: String
    /// Where each job's outputs go.
    public let outputs: OutputLayout
    /// The store, when it is not the SQLite file in the state root: `[store] url`, a
    /// `postgresql://` database shared by several hosts.
    public let store: String?
    /// The host this daemon records its jobs under (`[daemon] host`, else the machine's name).
    public let host: String

    /// Several hosts share this root's inbox (a network folder polled by each, claims by row in a
    /// PostgreSQL store): each keeps what is its own alone — spool, lock, metrics — under
    /// `hosts/<host>/`, and shares inbox/, processed/, augmented/ and failed/.
    public let sharedInbox: Bool

    /// How long the daemon waits for a PostgreSQL store to answer a statement before it gives the
    /// connection up as lost and opens another: `[store] claim_lease_seconds`, since a host that
    /// has not heard from the store for a lease has lost its claims to the others anyway. Nil
    /// waits as long as the server takes (the commands' reports).
    public let storeAnswerSeconds: Double?

    public init(path: String, store: String? = nil, host: String? = nil, sharedInbox: Bool = false, storeAnswerSeconds: Double? = nil) {
        self.path = path
        self.store = store
        self.storeAnswerSeconds = storeAnswerSeconds
        self.host = host ?? Self.machineHost
        self.sharedInbox = sharedInbox
        outputs = OutputLayout(root: path)
    }

    /// Where this host's own folders and files are: the root itself, or `hosts/<host>/` in a shared one.
    private var own: String { sharedInbox ? hostFolder(host) : path }

    /// A host's own folder in a shared root.
    public func hostFolder(_ host: String) -> String { path + "/hosts/" + host }

    /// Where `host` keeps its claimed files in a shared root: the same subpaths as every host's.
    public func spoolActive(ofHost host: String) -> String { hostFolder(host) + "/spool/active" }

    /// Where `host` keeps the sidecars of its claimed files in a shared root.
    public func spoolSidecars(ofHost host: String) -> String { hostFolder(host) + "/spool/sidecars" }

    /// The host whose rows are this root's jobs, when the store is shared: there each host
    /// recovers, prunes and retries only its own jobs, whose files are in its folders. Nil with
    /// the root's own SQLite file, where every row is this root's whatever the machine is called now.
    public var jobsHost: String? { store == nil ? nil : host }

    /// The machine's host name, as `hostname` prints it.
    public static var machineHost: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var inbox: String { path + "/inbox" }
    /// This host's spool: everything claimed and not yet filed.
    public var spool: String { own + "/spool" }
    public var spoolActive: String { own + "/spool/active" }
    /// Where outputs are written before their rename into place: one folder to empty at start.
    public var spoolTemporary: String { own + "/spool/tmp" }
    /// Where the sidecars of the jobs in spool/active wait, named by job id.
    public var spoolSidecars: String { own + "/spool/sidecars" }
    /// Where `intake retry` hands failed originals back to the daemon.
    public var spoolRequeue: String { own + "/spool/requeue" }
    /// Where a batch of pruning keeps its journal.
    public var spoolPrune: String { own + "/spool/prune" }
    /// Held while a batch of pruning runs, and while `intake retry` sends a dead letter back.
    public var pruneLock: String { own + "/spool/prune.lock" }
    public var processed: String { path + "/processed" }
    public var augmented: String { path + "/augmented" }
    public var failed: String { path + "/failed" }
    /// Where jobs are recorded: the SQLite file in the state root, or `[store] url`.
    public var database: String { store ?? path + "/intake.db" }
    public var metrics: String { own + "/metrics.prom" }
    /// Held by the running daemon: one per state root (per host, in a shared root).
    public var lock: String { own + "/intaked.lock" }

    /// The trees the outputs are filed in. Each may be a filesystem of its own (a bigger disk
    /// mounted on processed/, say), which renames cannot cross.
    public var outputTrees: [String] { [processed, augmented, failed] }

    /// Where to write the temporary file of `destination`, a file in one of the output trees, so
    /// that its rename into place stays within one filesystem: spool/tmp when the destination's
    /// folder is on the spool's filesystem (one folder to empty at start); the tree's own
    /// temporary folder (`treeTemporary`, emptied at start too) when the tree is a filesystem of
    /// its own; nil, meaning beside the destination, when a filesystem is mounted further down.
    /// Asked per file, not remembered: a tree can be mounted or unmounted while the daemon runs,
    /// and a few stats cost nothing beside a write.
    public func temporaryFolder(for destination: String) -> String? {
        guard let tree = outputTrees.first(where: { destination.hasPrefix($0 + "/") }),
              let spoolDevice = Self.device(of: spoolTemporary) else { return spoolTemporary }
        // The destination's folder may not exist yet (a new day's): its nearest existing one decides.
        var folder = PathText.folder(of: destination)
        var folderDevice = Self.device(of: folder)
        while folderDevice == nil, folder.utf8.count > tree.utf8.count {
            folder = PathText.folder(of: folder)
            folderDevice = Self.device(of: folder)
        }
        guard let folderDevice, folderDevice != spoolDevice else { return spoolTemporary }
        return folderDevice == Self.device(of: tree) ? treeTemporary(tree) : nil
    }

    /// The temporary folder inside an output tree, used when the tree is on another filesystem
    /// than the spool; per host in a shared root, so that one host's start-up never empties
    /// another's files in the making.
    public func treeTemporary(_ tree: String) -> String {
        sharedInbox ? tree + "/.intake-tmp/" + host : tree + "/.intake-tmp"
    }

    /// The filesystem (device) holding `path`, nil when it cannot be seen.
    private static func device(of path: String) -> UInt64? { FileVersion(path)?.device }

    /// The folders the daemon creates at start.
    public func folders(environments: [String]) -> [String] {
        environments.map { "\(inbox)/\($0)" } + [spoolActive, spoolTemporary, spoolSidecars, spoolRequeue, spoolPrune, processed, augmented, failed]
    }
}
