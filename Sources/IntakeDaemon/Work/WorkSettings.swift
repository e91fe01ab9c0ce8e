import IntakeClassify
import IntakeConfig
import IntakePipeline
import Synchronization

/// The settings workers read for each job; a reload replaces them and workers notice.
struct WorkSettings: Sendable, Equatable {
    var processing: ProcessingOptions
    var maxAttempts: Int
    var initialBackoff: Double
    var maxBackoff: Double
    /// The configured external classifier, if any.
    var externalClassifier: ExternalClassifier? { ExternalClassifier(classify) }
    private var classify: IntakeConfiguration.Classify

    init(_ configuration: IntakeConfiguration) {
        classify = configuration.classify
        processing = ProcessingOptions(configuration)
        maxAttempts = configuration.retry.maxAttempts
        initialBackoff = configuration.retry.initialBackoffSeconds
        maxBackoff = configuration.retry.maxBackoffSeconds
    }

    /// Exponential backoff before attempt `attempt + 1`, with ±20% jitter so that jobs failed by
    /// one outage do not all come back at the same instant.
    func backoff(after attempt: Int) -> Double {
        let base = min(maxBackoff, initialBackoff * Double(1 << min(30, max(0, attempt - 1))))
        return base * Double.random(in: 0.8...1.2)
    }
}

/// Settings shared by the workers, with a version that changes on reload.
final class SharedSettings: Sendable {
    private let state: Mutex<(version: Int, settings: WorkSettings)>

    init(_ settings: WorkSettings) { state = Mutex((0, settings)) }

    var current: (version: Int, settings: WorkSettings) { state.withLock { $0 } }

    func replace(with settings: WorkSettings) {
        state.withLock { state in
            if state.settings != settings { state = (state.version + 1, settings) }
        }
    }
}
