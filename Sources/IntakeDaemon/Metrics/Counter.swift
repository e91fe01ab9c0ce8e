/// A value that only goes up — jobs done, files overflowed — as handed out by
/// ``MetricsRegistry/counter(_:help:)``. Copies share the same series; safe from any thread.
public struct Counter: Sendable {
    let family: ScalarFamily

    /// Adds `amount` (1 by default) to the series named by `labels`. Label order does not matter.
    /// A negative or NaN amount would break the counter's meaning, so it is ignored.
    /// `increment(by: 0, labels:)` makes a series visible at 0 before its first event.
    public func increment(by amount: Double = 1, labels: [(String, String)] = []) {
        guard amount >= 0 else { return }
        family.add(amount, labels: labels)
    }

    /// The current value of one series, or nil before its first increment.
    func value(labels: [(String, String)] = []) -> Double? {
        family.value(labels: labels)
    }
}
