#if canImport(Glibc)
import Glibc
#endif

/// Times each stage of one job in milliseconds of wall time, in the order they ran.
public struct StageClock: Sendable {
    public private(set) var milliseconds: [(stage: Stage, ms: Double)] = []

    public init() {}

    /// Runs `work`, recording its duration under `stage` even when it throws.
    public mutating func measure<T, E: Error>(_ stage: Stage, _ work: () throws(E) -> T) throws(E) -> T {
        let start = Self.now()
        defer { milliseconds.append((stage, (Self.now() - start) * 1000)) }
        return try work()
    }

    public var total: Double { milliseconds.reduce(0) { $0 + $1.ms } }

    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
