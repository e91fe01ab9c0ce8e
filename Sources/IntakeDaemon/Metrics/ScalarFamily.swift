import Synchronization

/// The series of one counter or gauge: one Double per label set, behind the family's own lock so
/// that updates to different metrics never wait for each other or for the registry.
final class ScalarFamily: Sendable {
    /// Whether the family renders as `counter` or `gauge`.
    enum Kind: String, Sendable {
        case counter, gauge
    }

    let name: String
    let help: String
    let kind: Kind
    private let series = Mutex<[MetricLabelSet: Double]>([:])

    init(name: String, help: String, kind: Kind) {
        self.name = name
        self.help = help
        self.kind = kind
    }

    /// Adds `amount` to the series named by `labels`, creating it at 0 first.
    func add(_ amount: Double, labels: [(String, String)]) {
        let key = MetricLabelSet(labels)
        series.withLock { series in
            if let current = series[key] {
                series[key] = current + amount
            } else {
                key.validate(metric: name)
                series[key] = amount
            }
        }
    }

    /// Sets the series named by `labels` to `value`.
    func set(_ value: Double, labels: [(String, String)]) {
        let key = MetricLabelSet(labels)
        series.withLock { series in
            if series.updateValue(value, forKey: key) == nil { key.validate(metric: name) }
        }
    }

    /// The current value of one series, or nil when it has never been touched.
    func value(labels: [(String, String)]) -> Double? {
        let key = MetricLabelSet(labels)
        return series.withLock { $0[key] }
    }

    /// Appends `# HELP`, `# TYPE` and one line per series, sorted by label set.
    func render(into text: inout String) {
        let snapshot = series.withLock { $0 }
        text += "# HELP \(name) \(PrometheusText.escapeHelp(help))\n"
        text += "# TYPE \(name) \(kind.rawValue)\n"
        for key in snapshot.keys.sorted() {
            text += name
            key.render(into: &text)
            text += " "
            text += PrometheusText.number(snapshot[key]!)
            text += "\n"
        }
    }
}
