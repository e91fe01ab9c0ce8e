import Hummingbird

/// The pace an upload must keep: on average at least `minimumBytesPerSecond` once `graceSeconds`
/// have passed, or it is cut off (408) and what it sent removed (a resumable upload keeps it, for
/// the client to go on from). The idle timeout alone cuts off only a client that sends nothing;
/// a trickle of a byte every few seconds would hold an upload slot for good, and
/// `max_concurrent_uploads` such trickles would refuse every other upload.
struct UploadPace: Sendable {
    let minimumBytesPerSecond: Int
    let graceSeconds: Double

    /// Twice the idle timeout of grace: a connection slow to start (a phone waking its radio)
    /// is not judged on its first seconds.
    init(minimumBytesPerSecond: Int, idleTimeoutSeconds: Double) {
        self.minimumBytesPerSecond = minimumBytesPerSecond
        graceSeconds = 2 * idleTimeoutSeconds
    }

    /// The watch over one upload (or one request of a resumable upload), from now.
    func start() -> Watch { Watch(pace: self, start: .now) }

    struct Watch {
        let pace: UploadPace
        let start: ContinuousClock.Instant

        /// Throws once `bytes` received so far are behind the pace.
        func check(received bytes: Int) throws(APIError) {
            guard pace.minimumBytesPerSecond > 0 else { return }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            guard seconds > pace.graceSeconds, Double(bytes) < seconds * Double(pace.minimumBytesPerSecond) else { return }
            throw APIError(
                .requestTimeout, "too_slow",
                "the upload sent \(bytes) bytes in \(Int(seconds)) s, under the least of \(pace.minimumBytesPerSecond) bytes a second "
                    + "([web] min_upload_bytes_per_second)")
        }
    }
}
