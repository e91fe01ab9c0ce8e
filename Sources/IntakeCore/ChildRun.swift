internal import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// One run of a program with its output captured through pipes and a deadline: started with
/// `posix_spawn` in a process group of its own, read with `poll` until both pipes close, reaped,
/// and on a timeout killed — the whole group, with SIGKILL — and reaped all the same.
public struct ChildRun: Sendable {
    /// How the run ended.
    public enum Ending: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)
        /// The deadline passed; the group was killed.
        case timedOut
        /// Standard output passed its limit; the group was killed.
        case outputTooLarge
    }

    public var ending: Ending
    /// Standard output, up to the limit.
    public var standardOutput: [UInt8]
    /// The last bytes of standard error, up to the limit.
    public var standardErrorTail: [UInt8]

    /// The most `standardInput` may hold: what a pipe takes without a reader, so that writing it
    /// before the program starts can never block.
    public static let largestInput = 60 << 10

    /// What to do with standard output past its limit.
    public enum OutputOverflow: Sendable {
        /// Kill the program: its output is its answer, and one that large is not an answer.
        case kill
        /// Keep reading and drop the rest: the output is only for the log (an alert script that
        /// prints much has still done its work).
        case discard
    }

    /// Runs `program` (looked up on `PATH` when it has no slash) with `arguments` and
    /// `standardInput` (at most ``largestInput`` bytes; empty: /dev/null), in this process's
    /// environment with `environment` added; a failure is the reason it could not be started.
    public static func run(
        program: String, arguments: [String], environment: [String: String] = [:], standardInput: [UInt8] = [], timeoutSeconds: Double,
        outputLimit: Int, errorLimit: Int, overOutputLimit: OutputOverflow = .kill
    ) -> Result<ChildRun, SpawnFailure> {
        let deadline = Deadline(seconds: timeoutSeconds)
        guard let output = CapturePipe(), let errors = CapturePipe() else {
            return .failure(SpawnFailure(reason: "no pipe could be made: \(ErrnoText.current)"))
        }
        var input: CapturePipe?
        if !standardInput.isEmpty {
            guard standardInput.count <= largestInput else {
                return .failure(SpawnFailure(reason: "standard input of \(standardInput.count) bytes is over \(largestInput)"))
            }
            guard let pipe = CapturePipe(), pipe.fill(with: standardInput) else {
                return .failure(SpawnFailure(reason: "no pipe could be made for standard input: \(ErrnoText.current)"))
            }
            input = pipe
        }
        defer { input?.closeBoth() }
        // Closed here, at the end, and not whenever the optimiser sees their last use.
        defer {
            output.closeBoth()
            errors.closeBoth()
        }
        let pid: pid_t
        switch spawn(program: program, arguments: arguments, environment: environment, input: input?.readEnd, output: output.writeEnd, errors: errors.writeEnd) {
        case .success(let started): pid = started
        case .failure(let reason): return .failure(reason)
        }
        // Only the child writes now: with the parent's copies closed, end of file means it is done.
        output.closeWriteEnd()
        errors.closeWriteEnd()

        var run = ChildRun(ending: .exited(0), standardOutput: [], standardErrorTail: [])
        var stopEarly: Ending? = nil
        var readers = [pollfd(fd: output.readEnd, events: Int16(POLLIN), revents: 0), pollfd(fd: errors.readEnd, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        // The program's own exit, seen while reading: something it started in the background may
        // hold the pipes open long after it answered and exited 0. Its output is then read for
        // `leftoverGraceSeconds` more, and the run ends as the program did, not timed out.
        var exited = false
        var leftoversDeadline: Deadline?
        reading: while readers.contains(where: { $0.fd >= 0 }) {
            if let leftoversDeadline, leftoversDeadline.remainingMilliseconds == 0 { break }
            let wait = deadline.remainingMilliseconds
            guard wait > 0 else {
                if !exited { stopEarly = .timedOut }
                break
            }
            // Woken every `exitCheckMilliseconds` until the program has exited, to notice that.
            let pollWait = min(wait, leftoversDeadline?.remainingMilliseconds ?? Self.exitCheckMilliseconds)
            let ready = poll(&readers, nfds_t(readers.count), Int32(min(pollWait, Int(Int32.max))))
            if ready < 0 && errno != EINTR { break }
            for index in readers.indices where readers[index].fd >= 0 && readers[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(readers[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if index == 0 {
                        let room = outputLimit - run.standardOutput.count
                        run.standardOutput += buffer[0..<min(count, room)]
                        if count > room && overOutputLimit == .kill {
                            stopEarly = .outputTooLarge
                            break reading
                        }
                    } else {
                        run.standardErrorTail += buffer[0..<count]
                        if run.standardErrorTail.count > errorLimit {
                            run.standardErrorTail.removeFirst(run.standardErrorTail.count - errorLimit)
                        }
                    }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    readers[index].fd = -1  // end of file: poll skips negative descriptors
                }
            }
            if !exited, intake_has_exited(pid) == 1 {
                exited = true
                leftoversDeadline = Deadline(seconds: Self.leftoverGraceSeconds)
            }
        }
        if exited && stopEarly == nil {
            // What it left goes while its zombie still holds the group's id; then it is reaped.
            kill(-pid, SIGKILL)
            run.ending = ending(of: reap(pid))
            return .success(run)
        }
        if stopEarly == nil {
            // The pipes closed; the program may still be running (it closed them, or passed them on).
            switch waitForExit(pid, until: deadline) {
            case .some(let status): run.ending = ending(of: status)
            case .none: stopEarly = .timedOut
            }
        }
        if let stopEarly {
            kill(-pid, SIGKILL)
            run.ending = stopEarly
            _ = reap(pid)
        } else {
            // Anything it left behind in its group goes with it; after a reap the group id can only
            // name those leftovers, since no new process group can take it while they live.
            kill(-pid, SIGKILL)
        }
        return .success(run)
    }

    /// How often the read loop looks whether the program has exited.
    static let exitCheckMilliseconds = 50
    /// How long what the program left running may keep writing to its pipes once it has exited.
    static let leftoverGraceSeconds = 0.1

    /// Starts the program with standard input from `input` (else /dev/null) and the two pipes as
    /// standard output and error, in a new process group, with no signal blocked and the usual
    /// signals at their defaults (the daemon's own handling must not leak into it).
    private static func spawn(program: String, arguments: [String], environment: [String: String], input: Int32?, output: Int32,
                              errors: Int32) -> Result<pid_t, SpawnFailure> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let input {
            posix_spawn_file_actions_adddup2(&actions, input, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, errors, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // This process's own, unless there is something to add: then a copy with those added
        // (and any of the same names left out).
        var environmentEntries: [UnsafeMutablePointer<CChar>?] = []
        if !environment.isEmpty {
            var index = 0
            while let entry = environ[index] {
                let name = String(cString: entry).prefix { $0 != "=" }
                if environment[String(name)] == nil { environmentEntries.append(strdup(entry)) }
                index += 1
            }
            environmentEntries += environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        }
        defer { environmentEntries.forEach { free($0) } }
        var pid: pid_t = 0
        func start() -> Int32 {
            guard !environment.isEmpty else { return posix_spawnp(&pid, program, &actions, &attributes, argv, environ) }
            return environmentEntries.withUnsafeBufferPointer { posix_spawnp(&pid, program, &actions, &attributes, argv, $0.baseAddress) }
        }
        var status = start()
        // "Text file busy": the program is open for writing somewhere, most often for the instant
        // another thread's child holds a copy of that descriptor between its fork and its exec, or
        // while someone replaces the program. Tried again for up to about a fifth of a second.
        var pause: UInt32 = 5_000
        while status == ETXTBSY && pause <= 80_000 {
            usleep(pause)
            pause *= 2
            status = start()
        }
        guard status == 0 else { return .failure(SpawnFailure(reason: "\(program): \(ErrnoText.describe(status))")) }
        return .success(pid)
    }

    /// The wait status once `pid` has exited, or nil if the deadline comes first. Polled, with
    /// pauses growing from 1 to 10 ms: a program that closed its output is nearly always exiting.
    private static func waitForExit(_ pid: pid_t, until deadline: Deadline) -> Int32? {
        var pause: UInt32 = 1000
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return status }
            if result < 0 && errno != EINTR { return 0 }  // not our child to wait for any more
            if deadline.remainingMilliseconds <= 0 { return nil }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
    }

    /// Waits for `pid` to go, after SIGKILL; its wait status.
    private static func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// What a wait status says: an exit status or the signal that ended the process.
    private static func ending(of status: Int32) -> Ending {
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal)
    }
}

/// A point in time on the monotonic clock, which does not jump when the wall clock is set.
struct Deadline {
    private let end: Double

    init(seconds: Double) {
        end = Self.now() + max(0, seconds)
    }

    /// Milliseconds left, rounded up so that a poll never wakes just short of the deadline.
    var remainingMilliseconds: Int {
        let left = (end - Self.now()) * 1000
        return left <= 0 ? 0 : Int(min(left.rounded(.up), 1e9))
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Why a program could not be started.
public struct SpawnFailure: Error, Sendable {
    public var reason: String
}

/// A pipe whose ends are closed on exec from the moment they exist (made by `pipe2` in CLinux),
/// so that no program another thread starts meanwhile inherits them — its copy would keep the
/// pipe open — and kept above the standard descriptors, so that `dup2` onto 1 or 2 never meets
/// itself. The read end does not block; the write end, which becomes the child's output, does.
final class CapturePipe {
    private(set) var readEnd: Int32 = -1
    private(set) var writeEnd: Int32 = -1

    init?() {
        var ends: [Int32] = [-1, -1]
        guard intake_pipe(&ends) == 0 else { return nil }
        readEnd = Self.aboveStandard(ends[0])
        writeEnd = Self.aboveStandard(ends[1])
        guard readEnd >= 0, writeEnd >= 0 else {
            closeBoth()
            return nil
        }
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) & ~O_NONBLOCK)
    }

    deinit { closeBoth() }

    /// Writes `bytes` and closes the write end, leaving a pipe that reads as `bytes` then end of
    /// file; the read end made blocking, as a program's input expects. The pipe is first asked to
    /// hold them all, and the write does not block: a pipe the kernel kept small (a user over its
    /// pipe limits gets one page) fails with EAGAIN instead of hanging with no reader.
    func fill(with bytes: [UInt8]) -> Bool {
        if bytes.count > 4096 { _ = intake_set_pipe_size(writeEnd, Int32(bytes.count)) }
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        let failure = bytes.withUnsafeBytes { WholeFile.writeAll($0, to: writeEnd) }
        closeWriteEnd()
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) & ~O_NONBLOCK)
        return failure == nil
    }

    func closeWriteEnd() {
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
    }

    func closeBoth() {
        closeWriteEnd()
        if readEnd >= 0 { close(readEnd) }
        readEnd = -1
    }

    /// `descriptor`, moved to 3 or above when it is 0, 1 or 2 (a daemon may run with those closed).
    private static func aboveStandard(_ descriptor: Int32) -> Int32 {
        guard descriptor >= 0, descriptor < 3 else { return descriptor }
        let moved = fcntl(descriptor, F_DUPFD_CLOEXEC, 3)
        close(descriptor)
        return moved
    }
}
