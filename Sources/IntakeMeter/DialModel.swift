public import IntakeCodecs

/// Reads one analog dial crop with the learned dial model, checked against the needle's geometry.
///
/// The learned model (`dials.weights`, trained by `intake-train dials` on dials the trainer
/// renders itself: faces, numberings, red and black needles, half-disc sectors, glare, stickers,
/// tint, blur) gives the value. Its confidence is the model's own probability within ±0.2 of that
/// value, raised when the geometric reader (`DialReader`) finds a clean needle that agrees, and
/// lowered when it finds a clean needle that does not: two readers that fail differently rarely
/// agree on a wrong value.
///
/// Immutable after loading: any number of threads may call `read` at once.
public final class DialModel: Sendable {
    /// The learned model (kind `.dials`).
    public let model: DigitModel

    /// The window of the model's own confidence: the tolerance the dial readings are judged by.
    public static let window = 0.2
    /// Readings below this confidence are unreadable (the assembler's `minimumConfidence`).
    public static let confidenceThreshold = MeterAssembler.minimumConfidence
    /// The geometric reading counts as a clean needle from this confidence on.
    static let geometricTrust = 0.5
    /// Within this the two readers agree; beyond `disagreement` they contradict each other.
    static let agreement = 0.2, disagreement = 0.4

    /// Loads `dials.weights`; throws, saying why, when it is missing, corrupt or not a dial model.
    public init(weightsAt path: String) throws(DigitModelError) {
        model = try DigitModel(weightsAt: path, kind: .dials)
    }

    /// A dial model from one in memory (the trainer and the tests).
    package init(model: DigitModel) {
        precondition(model.kind == .dials)
        self.model = model
    }

    /// The needle position in `crop` (roughly square, one dial, 12 o'clock up) and its confidence.
    public func read(_ crop: RGBImage) -> DialReading {
        Self.combine(learned: model.read(crop, window: Self.window), geometric: DialReader.read(crop))
    }

    /// The learned value, with its confidence adjusted by what the geometry says.
    package static func combine(learned: DigitReading, geometric: DialReading?) -> DialReading {
        var confidence = learned.confidence
        if let geometric, geometric.confidence >= geometricTrust {
            let distance = DigitReading.circularDistance(learned.value, geometric.value)
            if distance <= agreement {
                confidence = 1 - (1 - confidence) * (1 - geometric.confidence)
            } else if distance > disagreement {
                confidence *= 0.5
            }
        }
        return DialReading(value: learned.value, confidence: min(1, max(0, confidence)))
    }
}
