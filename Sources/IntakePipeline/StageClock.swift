#if canImport(Glibc)
import Glibc
#endif

/// Times each stage of one job in milliseconds of wall time, in the order they first ran. A
/// stage measured in several pieces (the derivative is fitted, then encoded) is one entry with
/// their sum, so that the database, the metrics and `intake process` all count each stage once.
public struct StageClock: Sendable {
    public private(set) var milliseconds: [(stage: Stage, ms: Double)] = []

    public init() {}

    /// Runs `work`, adding its duration to `stage`'s even when it throws.
    public mutating func measure<T, E: Error>(_ stage: Stage, _ work: () throws(E) -> T) throws(E) -> T {
        let start = Self.now()
        defer { add((Self.now() - start) * 1000, to: stage) }
        return try work()
    }

    private mutating func add(_ ms: Double, to stage: Stage) {
        if let index = milliseconds.firstIndex(where: { $0.stage == stage }) {
            milliseconds[index].ms += ms
        } else {
            milliseconds.append((stage, ms))
        }
    }

    public var total: Double { milliseconds.reduce(0) { $0 + $1.ms } }

    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
