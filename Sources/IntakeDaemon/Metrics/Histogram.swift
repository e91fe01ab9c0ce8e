/// A distribution in fixed buckets — stage latencies, image sizes — as handed out by
/// ``MetricsRegistry/histogram(_:help:buckets:)``. Copies share the same series; safe from any thread.
public struct Histogram: Sendable {
    let family: HistogramFamily

    /// Records one observation in the series named by `labels` (which must not use `le`).
    public func observe(_ value: Double, labels: [(String, String)] = []) {
        family.observe(value, labels: labels)
    }

    /// The finite bucket bounds, increasing; `+Inf` is implicit.
    public var buckets: [Double] { family.bounds }
}
