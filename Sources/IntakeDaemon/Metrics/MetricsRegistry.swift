import Synchronization

/// The daemon's metrics — counters, gauges and histograms with labels — and their rendering in
/// the Prometheus text format (0.0.4) for the textfile collector or the loopback listener.
///
/// Register each metric once at start-up and keep the handle: updates then take only that
/// metric's lock, never the registry's, so workers on several threads do not contend on it.
public final class MetricsRegistry: Sendable {
    private enum Family: Sendable {
        case scalar(ScalarFamily)
        case histogram(HistogramFamily)
    }

    private let families = Mutex<[String: Family]>([:])

    /// Creates an empty registry.
    public init() {}

    /// The counter called `name`, registered on first use. Asking again for the same name
    /// returns the same counter (the first `help` stays); asking for it as another type stops the
    /// program, since metric names are constants in code.
    public func counter(_ name: String, help: String) -> Counter {
        Counter(family: scalar(name, help: help, kind: .counter))
    }

    /// The gauge called `name`, registered on first use; see ``counter(_:help:)``.
    public func gauge(_ name: String, help: String) -> Gauge {
        Gauge(family: scalar(name, help: help, kind: .gauge))
    }

    /// The histogram called `name` with upper bounds `buckets` (increasing; `+Inf` is added),
    /// registered on first use; asking again returns it with its original buckets.
    public func histogram(_ name: String, help: String, buckets: [Double]) -> Histogram {
        precondition(PrometheusText.isValidMetricName(name), "invalid metric name \"\(name)\"")
        return families.withLock { families in
            switch families[name] {
            case .histogram(let family):
                return Histogram(family: family)
            case .scalar(let family):
                preconditionFailure("metric \(name) is already registered as a \(family.kind.rawValue)")
            case nil:
                let family = HistogramFamily(name: name, help: help, buckets: buckets)
                families[name] = .histogram(family)
                return Histogram(family: family)
            }
        }
    }

    /// Every metric in the text exposition format 0.0.4: families sorted by name, each with
    /// `# HELP` and `# TYPE`, series sorted by label set. Each family is a consistent snapshot;
    /// families are read one after another, so updates may land between them.
    public func render() -> String {
        let snapshot = families.withLock { $0 }
        var text = ""
        for name in snapshot.keys.sorted() {
            switch snapshot[name]! {
            case .scalar(let family): family.render(into: &text)
            case .histogram(let family): family.render(into: &text)
            }
        }
        return text
    }

    private func scalar(_ name: String, help: String, kind: ScalarFamily.Kind) -> ScalarFamily {
        precondition(PrometheusText.isValidMetricName(name), "invalid metric name \"\(name)\"")
        return families.withLock { families in
            switch families[name] {
            case .scalar(let family):
                precondition(family.kind == kind, "metric \(name) is already registered as a \(family.kind.rawValue)")
                return family
            case .histogram:
                preconditionFailure("metric \(name) is already registered as a histogram")
            case nil:
                let family = ScalarFamily(name: name, help: help, kind: kind)
                families[name] = .scalar(family)
                return family
            }
        }
    }
}
