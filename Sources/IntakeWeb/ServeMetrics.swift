import Metrics
import Prometheus
import IntakeCore

#if canImport(Glibc)
import Glibc
#endif

/// `intake serve`'s metrics, in a swift-prometheus registry: the uploads it took, and the HTTP
/// requests Hummingbird's `MetricsMiddleware` reports through swift-metrics once `bootstrap()`
/// has made this registry the process's. `GET /metrics` answers them with the daemon's own,
/// read from the `metrics.prom` intaked writes: intaked has no network of its own.
final class ServeMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private static var uploads: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "intake_serve_uploads_total", unitName: "", helpText: "Images taken into the inbox, by how they came (body, form, resumable).")
    }
    private static var bytes: MetricNameDescriptor {
        MetricNameDescriptor(metricName: "intake_serve_upload_bytes_total", unitName: "", helpText: "Bytes of the images taken into the inbox.")
    }

    /// Makes this registry the one swift-metrics reports to: once per process (`intake serve`).
    func bootstrap() { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)) }

    func tookUpload(_ kind: String, bytes count: Int) {
        registry.makeCounter(descriptor: Self.uploads, labels: [("kind", kind)]).increment()
        registry.makeCounter(descriptor: Self.bytes, labels: [("kind", kind)]).increment(by: Int64(count))
    }

    /// This server's metrics, then the daemon's as it last wrote them (nothing of them when it
    /// has not written any: `intake_daemon_metrics_age_seconds` is then absent too).
    func text(daemonMetricsAt path: String) -> String {
        var text = registry.emitToString()
        if let daemon = try? WholeFile.read(path) {
            var status = stat()
            if stat(path, &status) == 0 {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                let age = max(0, Double(now.tv_sec - status.st_mtim.tv_sec))
                text += "# HELP intake_daemon_metrics_age_seconds How long ago intaked last wrote metrics.prom: stale when intaked is down.\n"
                text += "# TYPE intake_daemon_metrics_age_seconds gauge\nintake_daemon_metrics_age_seconds \(age)\n"
            }
            text += String(decoding: daemon, as: UTF8.self)
        }
        return text
    }
}
