import IntakePipeline
import IntakeCore

/// A claimed file waiting for a worker: everything needed to process and commit it.
struct QueuedJob: Sendable {
    let id: JobID
    let environment: String
    /// The name as kept (SafeName form), without the job prefix.
    let name: String
    /// Inbox path relative to the inbox root, e.g. "prod/MTR-1/x.jpg" (SafeName form).
    let sourcePath: String
    let meter: String?
    /// Where the original waits, under spool/active.
    let spoolPath: String
    /// Unix milliseconds of the claim: also names the processed/ date folder.
    let createdAt: UInt64
    /// The attempt this run will be (1 for a first try).
    var attempt: Int = 1
    /// Attempts a crash or stop cut short; many in a row mean the file itself kills the daemon.
    var interruptions: Int = 0
    /// What the job's JSON sidecar claims, read once when the job was queued; nil without one.
    var sidecar: Result<SidecarClaim, SidecarProblem>? = nil
    /// Unix milliseconds of the first time the state root refused this job's writes (full,
    /// read-only); nil unless it is waiting for them. Its own pauses grow from it.
    var blockedSince: UInt64? = nil
    /// The generation of this host's claim on the file, in a shared inbox (see `ClaimBook`);
    /// nil in a root's own inbox, where the rename alone is the claim.
    var claimGeneration: Int? = nil
    /// For a sidecar claimed alone: the image it belongs to, claimed before it without it (it
    /// came first, as rsync and shell globs send files), when this process saw that; else nil.
    var imageThatCameFirst: (name: String, job: JobID)? = nil
}

/// The in-process priority queue. Order: class weight lifted by aging, then first tries before
/// retries, then arrival. Because aging raises every waiting job at the same rate, the order of
/// two jobs never changes while they wait, so a static key in a binary heap is exact:
/// `weight × agingSeconds − enqueuedAt`, larger first.
///
/// Memory is bounded by `capacity`: the inbox folders are the durable backlog, and claims stop
/// while the queue is full. Retries wait in a separate list until their backoff has passed.
final class JobQueue: @unchecked Sendable {
    // Unchecked: all state lives under `condition`'s lock.
    private struct Entry {
        let job: QueuedJob
        let key: Double
        let sequence: UInt64
        let enqueuedAt: Double

        func precedes(_ other: Entry) -> Bool { key != other.key ? key > other.key : sequence < other.sequence }
    }

    private let condition = Condition()
    private var heap: [Entry] = []
    private var delayed: [(due: Double, job: QueuedJob)] = []
    private var sequence: UInt64 = 0
    private var closed = false
    /// Set when a claim was turned away for want of room; cleared once room is made again.
    private var turnedAway = false
    private var onRoomAgain: (@Sendable () -> Void)?
    private var weights: [String: Int]
    private var agingSeconds: Double
    let capacity: Int

    init(weights: [String: Int], agingSeconds: Double, capacity: Int) {
        self.weights = weights
        self.agingSeconds = agingSeconds
        self.capacity = capacity
    }

    /// New weights and aging apply to jobs enqueued from now on.
    func reconfigure(weights: [String: Int], agingSeconds: Double) {
        condition.locked {
            self.weights = weights
            self.agingSeconds = agingSeconds
        }
    }

    /// Whether a claim may add one more job now. A "no" is remembered: once the queue has drained
    /// to half its capacity, `onRoomAgain` is called so the inbox is scanned for what waited.
    var hasRoom: Bool {
        condition.locked {
            let room = heap.count + delayed.count < capacity
            if !room { turnedAway = true }
            return room
        }
    }

    /// What to do when room is made after claims were turned away (the watcher's rescan).
    func whenRoomAgain(_ action: @escaping @Sendable () -> Void) {
        condition.locked { onRoomAgain = action }
    }

    /// Adds a job ready to run now.
    func push(_ job: QueuedJob) {
        condition.locked {
            insert(job, at: monotonicSeconds())
            condition.signal()
        }
    }

    /// Adds a retry that may not run before `delay` seconds have passed.
    func schedule(_ job: QueuedJob, after delay: Double) {
        condition.locked {
            delayed.append((monotonicSeconds() + delay, job))
            condition.signal()
        }
    }

    /// The next job, waiting as long as needed; nil once the queue is closed.
    func take() -> QueuedJob? {
        let (job, roomAgain): (QueuedJob?, (@Sendable () -> Void)?) = condition.locked {
            while true {
                if closed { return (nil, nil) }
                let now = monotonicSeconds()
                promoteDueRetries(now: now)
                if let entry = popFirst() {
                    guard turnedAway && heap.count + delayed.count <= capacity / 2 else { return (entry.job, nil) }
                    turnedAway = false
                    return (entry.job, onRoomAgain)
                }
                let nextDue = delayed.map(\.due).min()
                condition.wait(seconds: nextDue.map { $0 - now })
            }
        }
        roomAgain?()  // outside the lock: it wakes another thread
        return job
    }

    /// Wakes every waiting worker with nil: jobs still queued stay in the spool for the next start.
    func close() {
        condition.locked {
            closed = true
            condition.broadcast()
        }
    }

    /// Jobs waiting, by environment, and how long the oldest has waited (seconds).
    func snapshot() -> (depth: [String: Int], oldestWait: Double) {
        condition.locked {
            var depth: [String: Int] = [:]
            for entry in heap { depth[entry.job.environment, default: 0] += 1 }
            for (_, job) in delayed { depth[job.environment, default: 0] += 1 }
            let oldest = heap.map(\.enqueuedAt).min().map { monotonicSeconds() - $0 } ?? 0
            return (depth, oldest)
        }
    }

    var count: Int { condition.locked { heap.count + delayed.count } }

    // MARK: heap

    private func insert(_ job: QueuedJob, at now: Double) {
        let weight = Double(weights[job.environment] ?? 1)
        // A retry starts one aging step behind a first try that arrives at the same moment.
        let retryPenalty = job.attempt > 1 ? agingSeconds : 0
        sequence += 1
        heap.append(Entry(job: job, key: weight * agingSeconds - now - retryPenalty, sequence: sequence, enqueuedAt: now))
        siftUp(heap.count - 1)
    }

    private func promoteDueRetries(now: Double) {
        guard !delayed.isEmpty else { return }
        let due = delayed.filter { $0.due <= now }
        guard !due.isEmpty else { return }
        delayed.removeAll { $0.due <= now }
        for (_, job) in due { insert(job, at: now) }
    }

    private func popFirst() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
        return first
    }

    private func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < heap.count && heap[left].precedes(heap[best]) { best = left }
            if right < heap.count && heap[right].precedes(heap[best]) { best = right }
            if best == parent { return }
            heap.swapAt(parent, best)
            parent = best
        }
    }
}
