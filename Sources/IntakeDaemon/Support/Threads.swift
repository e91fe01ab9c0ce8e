internal import CLinux
import IntakePipeline
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable: what a blocking queue needs and `Mutex` lacks.
final class Condition: @unchecked Sendable {
    // Unchecked: every access to the pthread objects happens under the mutex itself.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Timed waits on the monotonic clock: a wall-clock jump must not stall or spin a worker.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a signal, at most `seconds` when given. Call with the lock held (inside `locked`).
    func wait(seconds: Double? = nil) {
        guard let seconds else {
            pthread_cond_wait(condition, mutex)
            return
        }
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = Double(deadline.tv_sec) + Double(deadline.tv_nsec) / 1e9 + max(0, seconds)
        deadline.tv_sec = Int(total)
        deadline.tv_nsec = Int((total - Double(Int(total))) * 1e9)
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }
}

/// What a thread that works every so often waits on between rounds: `stop()` ends the wait at
/// once, and every wait after it.
final class StopSignal: Sendable {
    private let condition = Condition()
    nonisolated(unsafe) private var stopped = false  // guarded by `condition`

    /// Waits `seconds`, or until `stop()`; false once stopped.
    func pause(seconds: Double) -> Bool {
        condition.locked {
            let deadline = monotonicSeconds() + seconds
            while !stopped && monotonicSeconds() < deadline { condition.wait(seconds: deadline - monotonicSeconds()) }
            return !stopped
        }
    }

    func stop() {
        condition.locked {
            stopped = true
            condition.broadcast()
        }
    }
}

/// A system thread for blocking work (inotify reads, decoding, fsync), named for `top -H`.
struct SystemThread: Sendable {
    private final class Body: @unchecked Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    private let handle: pthread_t

    /// Starts `body` on a new thread called `name` (15 bytes at most are kept).
    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body({
            intake_name_thread(String(name.prefix(15)))
            body()
        })).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        precondition(status == 0, "cannot start thread \(name): \(ErrnoText.describe(status))")
        handle = thread
    }

    func join() { pthread_join(handle, nil) }
}

/// Monotonic seconds, for waits and latencies.
func monotonicSeconds() -> Double { StageClock.now() }
