public import IntakeCodecs

/// Reads one analog dial crop with the learned dial model, checked against the needle's geometry.
///
/// The learned model (`dials.weights`, trained by `intake-train dials` on dials the trainer
/// renders itself: faces, numberings, red and black needles, half-disc sectors, glare, stickers,
/// tint, blur) finds the needle whatever the dial looks like; the geometric reader (`DialReader`)
/// measures a needle it recognises more finely. So:
///
/// - the value is the geometric reader's when it found a needle-like shape at all (confidence
///   above 0), lands within 0.5 of the learned value, or the learned model itself is unsure (under
///   0.25 of its probability within ±0.2), else the learned value (half-disc sectors, covers,
///   ghosts: shapes the geometry refuses);
/// - the confidence is 0.5 + half the learned model's probability within ±0.2 when both readers
///   agree within 0.3 and the geometry trusts its fit (≥ 0.3): two readers that fail differently
///   rarely agree on a wrong value. Otherwise it is that probability less 0.4: the learned model
///   alone is trusted only when 90% of its probability lies within ±0.2 of its value.
///
/// These choices were made on the tuning half of the needle crops (`NeedleHalf`); the report half
/// only measures them.
///
/// Immutable after loading: any number of threads may call `read` at once.
public final class DialModel: Sendable {
    /// The learned model (kind `.dials`).
    public let model: DigitModel

    /// The window of the model's own confidence: the tolerance the dial readings are judged by.
    public static let window = 0.2
    /// Readings below this confidence are unreadable (the assembler's `minimumConfidence`).
    public static let confidenceThreshold = MeterAssembler.minimumConfidence
    /// The geometric fit counts as a check from this confidence on.
    static let geometricTrust = 0.3
    /// Within this the two readers agree (dial units).
    static let agreement = 0.3
    /// Within this the learned model accepts the geometric value even from a fit the geometry doubts.
    static let closeEnough = 0.5
    /// Under this confidence the learned model's value is no better than a guess: on the tuning
    /// half, where the geometry doubted its own fit and the two disagreed, the geometry was right
    /// on 11 of 21 such crops and the learned model on 1. Only the best guess changes; the
    /// confidence stays under the threshold, so such a dial is still unreadable.
    static let learnedDoubt = 0.25
    /// What the learned model's own confidence loses when nothing checks it.
    static let uncheckedPenalty = 0.4

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
        // A dim or colour-cast crop is evened out first (see `CropBalance`); others are untouched.
        let crop = CropBalance.balanced(crop)
        let input = UnsafeMutablePointer<Float>.allocate(capacity: model.network.input.count)
        defer { input.deallocate() }
        model.prepare(crop, into: input)
        return Self.combine(learned: learned(preprocessed: input), geometric: DialReader.read(crop))
    }

    /// The learned model's reading of a prepared input and of its mirror image, averaged: a dial
    /// mirrored left to right reads 10 − v, so the mirror's class k counts for class 100 − k. The
    /// two views err differently, and their average is steadier than either.
    package func learned(preprocessed input: UnsafePointer<Float>) -> DigitReading {
        let shape = model.network.input
        let mirrored = UnsafeMutablePointer<Float>.allocate(capacity: shape.count)
        defer { mirrored.deallocate() }
        for y in 0..<shape.height {
            for x in 0..<shape.width {
                let from = (y * shape.width + x) * shape.channels, to = (y * shape.width + shape.width - 1 - x) * shape.channels
                for c in 0..<shape.channels { mirrored[to + c] = input[from + c] }
            }
        }
        var probabilities = model.probabilities(preprocessed: input)
        let mirror = model.probabilities(preprocessed: mirrored)
        let classes = probabilities.count
        for k in 0..<classes { probabilities[k] = 0.5 * (probabilities[k] + mirror[(classes - k) % classes]) }
        return probabilities.withUnsafeBufferPointer { DigitDecoding.reading(from: $0, window: Self.window) }
    }

    /// The reading from the learned and the geometric readings (see the type's description).
    package static func combine(learned: DigitReading, geometric: DialReading?) -> DialReading {
        guard let geometric else {
            return DialReading(value: learned.value, confidence: max(0, learned.confidence - uncheckedPenalty))
        }
        let distance = DigitReading.circularDistance(learned.value, geometric.value)
        let value = geometric.confidence > 0 || distance <= closeEnough || learned.confidence < learnedDoubt
            ? geometric.value : learned.value
        let checked = geometric.confidence >= geometricTrust && distance <= agreement
        let confidence = checked ? 0.5 + 0.5 * learned.confidence : learned.confidence - uncheckedPenalty
        return DialReading(value: value, confidence: min(1, max(0, confidence)))
    }
}
