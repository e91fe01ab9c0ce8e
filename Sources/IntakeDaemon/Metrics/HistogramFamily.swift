import Synchronization

/// The series of one histogram: per label set, a count per bucket, the sum and the count.
final class HistogramFamily: Sendable {
    /// One series' observations. Counts are kept per bucket and made cumulative when rendered,
    /// so an observation touches one counter instead of every bucket above it.
    struct Series: Sendable {
        var bucketCounts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0

        mutating func record(_ value: Double, bucket: Int) {
            count += 1
            sum += value
            if bucket < bucketCounts.count { bucketCounts[bucket] += 1 }
        }
    }

    let name: String
    let help: String
    /// Finite upper bounds, strictly increasing; `+Inf` is implicit.
    let bounds: [Double]
    private let series = Mutex<[MetricLabelSet: Series]>([:])

    /// `buckets` may include `+Inf` or not; it must otherwise be strictly increasing, without NaN.
    init(name: String, help: String, buckets: [Double]) {
        let finite = buckets.filter { $0 != .infinity }
        precondition(!finite.contains { $0.isNaN || $0 == -.infinity }, "histogram \(name): bad bucket bound")
        precondition(zip(finite, finite.dropFirst()).allSatisfy { $0 < $1 }, "histogram \(name): buckets must increase")
        self.name = name
        self.help = help
        self.bounds = finite
    }

    /// Counts `value` in the first bucket whose bound is at least `value` (`le` is inclusive);
    /// NaN and values above the last bound land only in `+Inf`.
    func observe(_ value: Double, labels: [(String, String)]) {
        let index = bucketIndex(for: value)
        let key = MetricLabelSet(labels)
        series.withLock { series in
            if series[key] == nil { key.validate(metric: name, reserving: "le") }
            // Mutated in place through the subscript, so the bucket array is not copied.
            series[key, default: Series(bucketCounts: Array(repeating: 0, count: bounds.count))]
                .record(value, bucket: index)
        }
    }

    /// One series' state, or nil when it has never been observed.
    func snapshot(labels: [(String, String)]) -> Series? {
        let key = MetricLabelSet(labels)
        return series.withLock { $0[key] }
    }

    /// Appends `# HELP`, `# TYPE`, and for each series (sorted by label set) its cumulative
    /// `_bucket` lines ending with `le="+Inf"`, then `_sum` and `_count`.
    func render(into text: inout String) {
        let snapshot = series.withLock { $0 }
        text += "# HELP \(name) \(PrometheusText.escapeHelp(help))\n"
        text += "# TYPE \(name) histogram\n"
        for key in snapshot.keys.sorted() {
            let series = snapshot[key]!
            var cumulative: UInt64 = 0
            for (bound, count) in zip(bounds, series.bucketCounts) {
                cumulative += count
                line(&text, "_bucket", key, le: PrometheusText.number(bound), value: String(cumulative))
            }
            line(&text, "_bucket", key, le: "+Inf", value: String(series.count))
            line(&text, "_sum", key, le: nil, value: PrometheusText.number(series.sum))
            line(&text, "_count", key, le: nil, value: String(series.count))
        }
    }

    private func line(_ text: inout String, _ suffix: String, _ key: MetricLabelSet, le: String?, value: String) {
        text += name
        text += suffix
        key.render(into: &text, extra: le.map { MetricLabelSet.Pair(name: "le", value: $0) })
        text += " "
        text += value
        text += "\n"
    }

    /// Binary search for the first bound ≥ `value`; `bounds.count` means only `+Inf`.
    private func bucketIndex(for value: Double) -> Int {
        if value.isNaN { return bounds.count }
        var low = 0
        var high = bounds.count
        while low < high {
            let middle = (low + high) / 2
            if bounds[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
