/// One series' labels, sorted by name, so that the same labels given in any order are one series
/// and series render in a stable order.
struct MetricLabelSet: Hashable, Comparable, Sendable {
    /// One `name="value"` pair.
    struct Pair: Hashable, Sendable {
        var name: String
        var value: String
    }

    /// The pairs, sorted by name.
    let pairs: [Pair]

    /// The empty label set, for metrics without labels.
    static let empty = MetricLabelSet(pairs: [])

    private init(pairs: [Pair]) {
        self.pairs = pairs
    }

    /// Sorts `labels` by name. Names are checked only when a series is first created
    /// (``validate(reserving:)``), so the per-call cost stays a sort of a handful of pairs.
    init(_ labels: [(String, String)]) {
        if labels.isEmpty {
            self = .empty
            return
        }
        var pairs = labels.map { Pair(name: $0.0, value: $0.1) }
        if pairs.count > 1 { pairs.sort { $0.name < $1.name } }
        self.pairs = pairs
    }

    /// Stops the program on a label name that Prometheus would reject, a repeated name, or a
    /// reserved one (`le` for histograms): label names are constants in code, so this is a bug
    /// that the first test run shows, not something data can cause.
    func validate(metric: String, reserving reserved: String? = nil) {
        var previous: String?
        for pair in pairs {
            precondition(
                PrometheusText.isValidLabelName(pair.name),
                "metric \(metric): invalid label name \"\(pair.name)\""
            )
            precondition(pair.name != reserved, "metric \(metric): label name \"\(pair.name)\" is reserved")
            precondition(pair.name != previous, "metric \(metric): label \"\(pair.name)\" given twice")
            previous = pair.name
        }
    }

    /// Orders label sets pair by pair (name, then value); a prefix sorts first.
    static func < (lhs: MetricLabelSet, rhs: MetricLabelSet) -> Bool {
        for (left, right) in zip(lhs.pairs, rhs.pairs) {
            if left.name != right.name { return left.name < right.name }
            if left.value != right.value { return left.value < right.value }
        }
        return lhs.pairs.count < rhs.pairs.count
    }

    /// Appends `{a="x",b="y"}` (with `extra` last, as histograms put `le`), or nothing when empty.
    func render(into text: inout String, extra: Pair? = nil) {
        if pairs.isEmpty && extra == nil { return }
        text += "{"
        var first = true
        for pair in pairs + (extra.map { [$0] } ?? []) {
            if !first { text += "," }
            first = false
            text += pair.name
            text += "=\""
            text += PrometheusText.escapeLabelValue(pair.value)
            text += "\""
        }
        text += "}"
    }
}
