/// A value that goes up and down — queue depth, oldest wait — as handed out by
/// ``MetricsRegistry/gauge(_:help:)``. Copies share the same series; safe from any thread.
public struct Gauge: Sendable {
    let family: ScalarFamily

    /// Sets the series named by `labels` to `value`.
    public func set(_ value: Double, labels: [(String, String)] = []) {
        family.set(value, labels: labels)
    }

    /// Adds `amount` (1 by default) to the series named by `labels`.
    public func increment(by amount: Double = 1, labels: [(String, String)] = []) {
        family.add(amount, labels: labels)
    }

    /// Subtracts `amount` (1 by default) from the series named by `labels`.
    public func decrement(by amount: Double = 1, labels: [(String, String)] = []) {
        family.add(-amount, labels: labels)
    }

    /// The current value of one series, or nil before it was first set.
    func value(labels: [(String, String)] = []) -> Double? {
        family.value(labels: labels)
    }
}
